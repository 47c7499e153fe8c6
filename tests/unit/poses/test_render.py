"""Pose rendering: PoseGen's exact renderer, the OpenPose look, PoseAnything's mono lines, output fitting.

All checks are analytic (pixel colours at known geometry, or OpenCV calls with hand-derived integers); no golden
images.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from posegen_core.poses.render import (
    HAND_LINK_COLORS_HSV,
    POSEGEN_BODY_LINKS,
    POSEGEN_LINK_COLORS_WRITTEN,
    STYLES,
    fit_transform,
    mono_kernel,
    mono_line_width,
    openpose_stroke_scale,
    render_sequence,
    skeleton_supports,
)
from posegen_core.poses.sequence import PoseSequence
from posegen_core.poses.skeletons import AP10K, BODY18, HAND21, HUMAN, Skeleton

BLACK = (0, 0, 0)
WHITE = (255, 255, 255)
LEFT_HAND, RIGHT_HAND = 94, 115


def pose(points: dict[int, tuple[float, float, float]], width: int = 200, height: int = 200,
         skeleton: Skeleton = HUMAN, frames: int = 1) -> PoseSequence:
    """One person; ``points`` maps keypoint index -> (x, y, confidence), the rest missing."""
    kp = np.zeros((frames, 1, skeleton.num_keypoints, 3), np.float32)
    for i, p in points.items():
        kp[:, 0, i] = p
    return PoseSequence(skeleton, kp, width, height)


def first(seq: PoseSequence, style: str, width: int | None = None, height: int | None = None) -> np.ndarray:
    out = render_sequence(seq, style, width, height)
    assert out.dtype == np.uint8 and out.ndim == 4 and out.shape[-1] == 3
    return out[0]


def rgb(img: np.ndarray, x: int, y: int) -> tuple[int, ...]:
    return tuple(int(v) for v in img[y, x])


def rev(color: tuple[int, int, int]) -> tuple[int, int, int]:
    return (color[2], color[1], color[0])


def human_figure(w: float = 720, h: float = 1280) -> np.ndarray:
    """A plausible standing person with hands and face, keypoints [136, 3], drawn for a w x h canvas."""
    s = min(w / 720, h / 1280)
    body = {0: (360, 200), 1: (360, 300), 2: (280, 300), 3: (250, 430), 4: (240, 550), 5: (440, 300), 6: (470, 430),
            7: (480, 550), 8: (310, 600), 9: (300, 800), 10: (295, 1000), 11: (410, 600), 12: (420, 800),
            13: (425, 1000), 14: (340, 180), 15: (380, 180), 16: (320, 195), 17: (400, 195), 18: (440, 1040),
            19: (450, 1030), 20: (420, 1010), 21: (280, 1040), 22: (270, 1030), 23: (300, 1010)}
    kp = np.zeros((136, 3), np.float32)
    for i, (x, y) in body.items():
        kp[i] = (x * s, y * s, 1.0)
    for f in range(70):
        a = 2 * math.pi * f / 70
        kp[24 + f] = ((360 + 35 * math.cos(a)) * s, (200 + 45 * math.sin(a)) * s, 1.0)
    for root, wrist in ((LEFT_HAND, 7), (RIGHT_HAND, 4)):
        wx, wy = kp[wrist, :2]
        kp[root] = (wx, wy + 8 * s, 1.0)
        for finger in range(5):
            for j in range(4):
                kp[root + 1 + 4 * finger + j] = (wx + (finger - 2) * 18 * s, wy + (30 + 20 * j) * s, 1.0)
    return kp


# --- posegen: PoseGen's renderer (§8.3-8.5) ------------------------------------------------------------------


def test_posegen_tables_follow_the_spec():
    assert POSEGEN_BODY_LINKS == ((1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11),
                                  (11, 12), (12, 13), (1, 0), (0, 14), (14, 16), (0, 15), (15, 17), (13, 18),
                                  (13, 19), (13, 20), (10, 21), (10, 22), (10, 23))
    assert len(POSEGEN_LINK_COLORS_WRITTEN) == 23
    assert POSEGEN_LINK_COLORS_WRITTEN[9] == (0, 255, 225)
    assert POSEGEN_LINK_COLORS_WRITTEN[13] == POSEGEN_LINK_COLORS_WRITTEN[16] == (255, 0, 170)
    # HSV(k/20, 1, 1) * 255 computed like matplotlib, rounded like OpenCV (half to even): the table in §8.3
    for k, color in enumerate(HAND_LINK_COLORS_HSV):
        h6 = k / 20 * 6
        i = int(h6)
        f = h6 - i
        p, q, t = 0.0, 1.0 - f, 1.0 - (1.0 - f)
        r, g, b = [(1, t, p), (q, 1, p), (p, 1, t), (p, q, 1), (t, p, 1), (1, p, q)][i % 6]
        assert color == tuple(int(np.rint(v * 255)) for v in (r, g, b)), k


def test_posegen_link_colour_is_reversed_and_ellipse_half_width_is_4():
    # link 0, neck -> right shoulder, written (255, 0, 0): the model saw blue
    img = first(pose({1: (40, 100, 1.0), 2: (160, 100, 1.0)}), "posegen")
    assert rgb(img, 100, 100) == (0, 0, 255)
    assert rgb(img, 100, 103) == rgb(img, 100, 97) == (0, 0, 255)  # 3 px off the line: inside the ellipse
    assert rgb(img, 100, 106) == rgb(img, 100, 94) == BLACK  # 6 px off: outside (half-width 4)
    assert rgb(img, 100, 104) == (0, 0, 255) and rgb(img, 100, 105) == BLACK


def test_posegen_link_9_keeps_its_225():
    img = first(pose({1: (100, 40, 1.0), 11: (100, 160, 1.0)}), "posegen")
    assert rgb(img, 100, 100) == (225, 255, 0)  # (0, 255, 225) reversed
    assert rgb(img, 103, 100) == (225, 255, 0) and rgb(img, 106, 100) == BLACK


def test_posegen_keypoint_circle_radius_4_in_reversed_colour():
    img = first(pose({0: (50, 60, 1.0), 20: (150, 60, 1.0)}), "posegen")
    for x, y, color in ((50, 60, (255, 0, 0)), (150, 60, (255, 128, 0))):
        assert rgb(img, x, y) == rev(color)
        assert rgb(img, x + 3, y) == rgb(img, x, y - 3) == rev(color)
        assert rgb(img, x + 6, y) == rgb(img, x, y + 6) == BLACK
    rest = img.copy()
    rest[55:66, 45:56] = 0
    rest[55:66, 145:156] = 0
    assert rest.sum() == 0  # nothing else drawn (no link joins 0 and 20)


def test_posegen_integer_rules_are_pogens_truncation():
    # ends truncate toward zero (-3.7 -> -3, not -4), centre and angle truncate too (-160.7 -> -160)
    img = first(pose({1: (-3.7, 20.9, 1.0), 2: (57.9, 41.2, 1.0)}, width=80, height=60), "posegen")
    want = np.zeros((60, 80, 3), np.uint8)
    # hand-derived: ends (-3, 20), (57, 41); centre (27, 30); length sqrt(60^2 + 21^2) = 63.57 -> axis 31;
    # angle degrees(atan2(20 - 41, -3 - 57)) = -160.71 -> -160
    cv2.fillConvexPoly(want, cv2.ellipse2Poly((27, 30), (31, 4), -160, 0, 360, 1), (0, 0, 255))
    cv2.circle(want, (-3, 20), 4, rev((255, 85, 0)), thickness=-1)
    cv2.circle(want, (57, 41), 4, rev((255, 170, 0)), thickness=-1)
    np.testing.assert_array_equal(img, want)
    # floor/round variants would differ from this picture
    other = np.zeros_like(want)
    cv2.fillConvexPoly(other, cv2.ellipse2Poly((27, 30), (31, 4), -161, 0, 360, 1), (0, 0, 255))
    cv2.circle(other, (-4, 20), 4, rev((255, 85, 0)), thickness=-1)
    cv2.circle(other, (57, 41), 4, rev((255, 170, 0)), thickness=-1)
    assert (other != want).any()


def test_posegen_body_threshold_is_0_3_inclusive():
    below = pose({1: (40, 100, 0.29), 2: (160, 100, 0.29)})
    assert first(below, "posegen").sum() == 0
    at = first(pose({1: (40, 100, 0.3), 2: (160, 100, 0.3)}), "posegen")
    assert rgb(at, 100, 100) == (0, 0, 255)
    one_low = first(pose({1: (40, 100, 1.0), 2: (160, 100, 0.29)}), "posegen")
    assert rgb(one_low, 100, 100) == BLACK  # no link
    assert rgb(one_low, 40, 100) == rev((255, 85, 0)) and rgb(one_low, 160, 100) == BLACK


def test_posegen_hand_lines_points_and_threshold():
    pts = {
        LEFT_HAND + 0: (40, 50, 0.9), LEFT_HAND + 1: (160, 50, 0.9),  # left link 0: (255, 0, 0)
        LEFT_HAND + 10: (40, 100, 0.7), LEFT_HAND + 11: (160, 100, 0.7),  # left link 10 at exactly 0.7
        LEFT_HAND + 20: (100, 150, 0.95),  # confident, but its only link's other end is missing: no point
        LEFT_HAND + 5: (40, 180, 0.69), LEFT_HAND + 6: (160, 180, 0.9),  # link 5 below 0.7: nothing
        RIGHT_HAND + 7: (220, 50, 0.8), RIGHT_HAND + 8: (340, 50, 0.8),  # right link 7: (0, 255, 25)
    }
    img = first(pose(pts, width=400, height=200), "posegen")
    for y, color in ((50, (255, 0, 0)), (100, (0, 255, 255))):
        assert rgb(img, 100, y) == rev(color)
        assert rgb(img, 100, y + 1) == rgb(img, 100, y - 1) == rev(color)  # thickness 2 -> 3 rows with OpenCV
        assert rgb(img, 100, y + 3) == rgb(img, 100, y - 3) == BLACK
        # white radius-4 points on both ends, the line drawn over them
        assert rgb(img, 40, y + 3) == rgb(img, 160, y - 3) == rgb(img, 36, y) == WHITE
        assert rgb(img, 40, y) == rgb(img, 160, y) == rev(color)
        assert rgb(img, 40, y + 6) == BLACK
    assert rgb(img, 280, 50) == rev((0, 255, 25)) == (25, 255, 0)
    assert rgb(img, 220, 53) == WHITE
    assert img[140:200].sum() == 0  # the lone point and the 0.69 link


def test_posegen_never_draws_faces_or_pupils():
    pts = {i: (20 + 2 * (i - 24), 100, 1.0) for i in range(24, 94)}
    assert first(pose(pts), "posegen").sum() == 0


def test_posegen_only_for_the_human_skeleton():
    for skeleton in (AP10K, BODY18, HAND21):
        with pytest.raises(ValueError, match=f"'{skeleton.name}'"):
            render_sequence(pose({}, skeleton=skeleton), "posegen")
        assert not skeleton_supports("posegen", skeleton)
        assert skeleton_supports("openpose", skeleton) and skeleton_supports("mono", skeleton)
    assert skeleton_supports("posegen", HUMAN)


def test_posegen_draws_at_source_size_then_resizes():
    seq = PoseSequence(HUMAN, human_figure(180, 320)[None, None], 180, 320)
    native = first(seq, "posegen")
    np.testing.assert_array_equal(first(seq, "posegen", 360, 640), cv2.resize(native, (360, 640),
                                                                                 interpolation=cv2.INTER_LINEAR))
    np.testing.assert_array_equal(first(seq, "posegen", 90, 160), cv2.resize(native, (90, 160),
                                                                               interpolation=cv2.INTER_AREA))
    # different aspect: same-size raster pasted centred between black bars
    boxed = first(seq, "posegen", 320, 320)
    np.testing.assert_array_equal(boxed[:, 70:250], native)
    assert boxed[:, :70].sum() == 0 and boxed[:, 250:].sum() == 0


def test_posegen_all_people_are_drawn():
    kp = np.zeros((1, 2, 136, 3), np.float32)
    kp[0, 0, 0] = (50, 50, 1.0)
    kp[0, 1, 0] = (150, 150, 1.0)
    img = first(PoseSequence(HUMAN, kp, 200, 200), "posegen")
    assert rgb(img, 50, 50) == rgb(img, 150, 150) == (0, 0, 255)


# --- openpose ------------------------------------------------------------------------------------------------------


def test_openpose_limb_and_keypoint_colours():
    img = first(pose({1: (40, 100, 1.0), 2: (160, 100, 1.0), 11: (100, 260, 1.0)}, 512, 512), "openpose")
    assert rgb(img, 100, 100) == (153, 0, 0)  # limb 0 (255, 0, 0) at 0.6, in RGB
    assert rgb(img, 70, 180) == (0, 153, 153)  # limb 9 neck -> left hip: (0, 255, 255) at 0.6
    assert rgb(img, 40, 100) == (255, 85, 0) and rgb(img, 160, 103) == (255, 170, 0)  # full-colour points
    assert rgb(img, 100, 103) == (153, 0, 0) and rgb(img, 100, 106) == BLACK  # stick width 4 at 512


def test_openpose_hands_and_face():
    pts = {LEFT_HAND: (100, 300, 1.0), LEFT_HAND + 1: (220, 300, 1.0), RIGHT_HAND + 10: (100, 400, 0.5),
           RIGHT_HAND + 11: (220, 400, 0.5), 24 + 30: (300, 100, 1.0), 24 + 69: (400, 100, 0.31),
           24 + 10: (450, 100, 0.29)}
    img = first(pose(pts, 512, 512), "openpose")
    assert rgb(img, 160, 300) == (255, 0, 0)  # hand link 0, RGB HSV colour
    assert rgb(img, 160, 400) == (0, 255, 255)  # hand link 10; hands use threshold 0.3 here
    assert rgb(img, 100, 303) == rgb(img, 220, 397) == (0, 0, 255)  # blue points over the lines
    assert rgb(img, 300, 100) == rgb(img, 302, 100) == WHITE and rgb(img, 305, 100) == BLACK  # face dot r=3
    assert rgb(img, 400, 100) == WHITE and rgb(img, 450, 100) == BLACK  # pupils too; threshold 0.3


def test_openpose_strokes_scale_with_the_short_side():
    assert openpose_stroke_scale(512, 512) == 1.0 and openpose_stroke_scale(720, 1280) == 720 / 512
    seq = pose({1: (40, 100, 1.0), 2: (160, 100, 1.0)}, 256, 256)
    small, big = first(seq, "openpose", 512, 512), first(seq, "openpose", 1024, 1024)
    # the limb centreline: (100, 100) on the canvas -> ~(200.5, 200.5) / ~(401.5, 401.5)
    assert rgb(small, 200, 204) == (153, 0, 0) and rgb(small, 200, 207) == BLACK
    assert rgb(big, 400, 408) == (153, 0, 0) and rgb(big, 400, 412) == BLACK  # half-width 8
    tiny = first(seq, "openpose", 16, 16)  # never below 1 px: still drawn
    assert tiny.any()


def test_openpose_other_skeletons():
    img = first(pose({1: (40, 100, 1.0), 2: (160, 100, 1.0)}, 512, 512, skeleton=BODY18), "openpose")
    assert rgb(img, 100, 100) == (153, 0, 0)
    # AP10K: hue wheel, edge 0 (left eye -> right eye) red at 0.6, keypoint 0 red
    img = first(pose({0: (40, 100, 1.0), 1: (160, 100, 1.0)}, 512, 512, skeleton=AP10K), "openpose")
    assert rgb(img, 100, 100) == (153, 0, 0) and rgb(img, 40, 100) == (255, 0, 0)
    custom = Skeleton(name="stick", keypoints=("a", "b"), edges=((0, 1),), edge_colors=((10, 200, 100),))
    img = first(pose({0: (40, 100, 1.0), 1: (160, 100, 1.0)}, 512, 512, skeleton=custom), "openpose")
    assert rgb(img, 100, 100) == (6, 120, 60)  # the skeleton's own colour at 0.6


# --- mono ----------------------------------------------------------------------------------------------------------


def test_mono_width_formula():
    assert mono_line_width(512, 288) == mono_line_width(288, 512) == 3
    assert mono_line_width(1024, 576) == 6
    assert mono_line_width(100, 50) == 1
    assert mono_kernel(3).tolist() == [[0, 1, 0], [1, 1, 1], [0, 1, 0]]  # PoseAnything's 3x3 cross
    for w in range(1, 13):
        k = mono_kernel(w)
        assert k.shape == (w, w) and k[w // 2].sum() == w and k[:, w // 2].sum() == w
        np.testing.assert_array_equal(k, k.T)
        np.testing.assert_array_equal(k, k[::-1])


def test_mono_is_binary_white_on_black():
    seq = PoseSequence(HUMAN, human_figure(288, 512)[None, None], 288, 512)
    img = first(seq, "mono")
    assert set(np.unique(img).tolist()) == {0, 255}
    assert (img[..., 0] == img[..., 1]).all() and (img[..., 1] == img[..., 2]).all()
    # horizontal shoulder line at 512 long side: exactly 3 px across
    y = int(round(human_figure(288, 512)[1, 1]))
    x = int(round((human_figure(288, 512)[1, 0] + human_figure(288, 512)[2, 0]) / 2))
    assert img[y - 1:y + 2, x].min() == 255 and img[y - 2, x].max() == 0 and img[y + 2, x].max() == 0


def _segment_distance(shape: tuple[int, int], p: tuple[float, float], q: tuple[float, float]) -> np.ndarray:
    ys, xs = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float64)
    px, py = p
    dx, dy = q[0] - px, q[1] - py
    t = np.clip(((xs - px) * dx + (ys - py) * dy) / (dx * dx + dy * dy), 0, 1)
    return np.hypot(xs - (px + t * dx), ys - (py + t * dy))


@pytest.mark.parametrize(("side", "p", "q"), [(512, (60.0, 70.0), (400.0, 300.0)), (1024, (30.0, 900.0),
                                                                                    (800.0, 100.0)),
                                              (2048, (100.0, 100.0), (1900.0, 1500.0)), (512, (50.0, 50.0),
                                                                                         (50.0, 450.0))])
def test_mono_stroke_covers_its_width_and_no_more(side, p, q):
    seq = pose({0: (*p, 1.0), 1: (*q, 1.0)}, side, side, skeleton=AP10K)
    img = first(seq, "mono")[..., 0]
    w = mono_line_width(side, side)
    dist = _segment_distance(img.shape, p, q)
    assert img[dist > w / 2 + 1].max(initial=0) == 0  # nothing outside the stroke
    core = dist <= max(0.25, (w - 1) / 2 - 0.75)  # 1-px line (<= 0.71 px off) dilated by radius (w-1)/2
    assert core.sum() > 0 and img[core].min() == 255


def test_mono_needs_both_endpoints_present():
    assert first(pose({0: (60, 70, 1.0), 1: (150, 100, 0.0)}, skeleton=AP10K), "mono").sum() == 0
    img = first(pose({0: (60, 70, 0.01), 1: (150, 100, 0.01)}, skeleton=AP10K), "mono")
    assert img.any()  # any confidence above 0 counts
    assert first(pose({i: (10 * i, 10 * i, 1.0) for i in range(17)}, skeleton=AP10K), "mono").any()


# --- output size and fitting ---------------------------------------------------------------------------------------


def test_fit_transform_keeps_aspect_and_centres():
    assert fit_transform(1280, 720, 720, 1280) == (0.5625, 0, 437)  # landscape into portrait: bars top/bottom
    assert fit_transform(720, 1280, 1280, 720) == (0.5625, 437, 0)  # portrait into landscape: bars left/right
    assert fit_transform(720, 1280, 360, 640) == (0.5, 0, 0)
    assert fit_transform(100, 100, 300, 200) == (2.0, 50, 0)
    with pytest.raises(ValueError):
        fit_transform(0, 10, 10, 10)


@pytest.mark.parametrize("style", STYLES)
def test_letterboxed_output(style):
    # landscape canvas with a centred figure, rendered into a portrait output: black bars top and bottom
    kp = human_figure(1280, 720)
    kp[:, 0] += (1280 - 720 * 720 / 1280) / 2
    seq = PoseSequence(HUMAN, np.repeat(kp[None, None], 2, axis=0), 1280, 720)
    out = render_sequence(seq, style, 720, 1280)
    assert out.shape == (2, 1280, 720, 3) and out.dtype == np.uint8
    assert out[:, :437].sum() == 0 and out[:, 437 + 405:].sum() == 0
    assert out[:, 437:437 + 405].any()
    out = render_sequence(PoseSequence(HUMAN, human_figure(720, 1280)[None, None], 720, 1280), style, 1280, 720)
    assert out.shape == (1, 720, 1280, 3)
    assert out[0, :, :437].sum() == 0 and out[0, :, 437 + 405:].sum() == 0 and out[0, :, 437:842].any()


def test_keypoints_map_to_the_same_place_in_every_style():
    # the nose circle of a 400x400 canvas, rendered at 200x200: centre (100.5, 100.5) -> (50, 50)
    seq = pose({0: (100.5, 100.5, 1.0)}, 400, 400, skeleton=BODY18)
    img = first(seq, "openpose", 200, 200)
    assert rgb(img, 50, 50) == (255, 0, 0) and rgb(img, 150, 150) == BLACK
    seq = pose({0: (100.5, 100.5, 1.0)}, 400, 400)
    img = first(seq, "posegen", 200, 200)
    assert img[50, 50, 2] > 200 and img[46:55, 46:55].sum() > 0


def test_size_defaults_progress_and_errors():
    seq = pose({0: (10, 10, 1.0)}, 64, 48, frames=3)
    assert render_sequence(seq, "mono").shape == (3, 48, 64, 3)
    assert render_sequence(seq, "mono", 128).shape == (3, 96, 128, 3)  # one side: the other follows the aspect
    assert render_sequence(seq, "mono", None, 24).shape == (3, 24, 32, 3)
    calls: list[tuple[int, int]] = []
    render_sequence(seq, "openpose", progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 3), (2, 3), (3, 3)]
    with pytest.raises(ValueError, match="unknown pose render style 'dwpose'"):
        render_sequence(seq, "dwpose")
    for bad in (0, -5, 2.5, True):
        with pytest.raises(ValueError, match="width"):
            render_sequence(seq, "mono", bad, 10)  # type: ignore[arg-type]
    empty = PoseSequence(HUMAN, np.zeros((0, 1, 136, 3), np.float32), 32, 32)
    assert render_sequence(empty, "posegen").shape == (0, 32, 32, 3)
    nobody = PoseSequence(HUMAN, np.zeros((2, 0, 136, 3), np.float32), 32, 32)
    assert render_sequence(nobody, "openpose").sum() == 0


# --- robustness ----------------------------------------------------------------------------------------------------

_coords = st.one_of(st.floats(-300, 300, width=32), st.floats(-2.0**100, 2.0**100, width=32),
                    st.sampled_from([-1e9, -70000.0, -0.5, 0.0, 1e7, 3e38]))


@st.composite
def sequences(draw) -> tuple[PoseSequence, str, int | None, int | None]:
    skeleton = draw(st.sampled_from([HUMAN, BODY18, AP10K, HAND21]))
    frames, people = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    w, h = draw(st.integers(1, 48)), draw(st.integers(1, 48))
    n = frames * people * skeleton.num_keypoints
    mode = draw(st.sampled_from(["uniform", "wild"]))
    if mode == "uniform":  # whole sequences of ordinary points (fast to generate)
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        kp = np.stack([rng.uniform(-20, 70, n), rng.uniform(-20, 70, n), rng.uniform(0, 1, n)], axis=-1)
    else:
        xs = draw(st.lists(_coords, min_size=n, max_size=n))
        ys = draw(st.lists(_coords, min_size=n, max_size=n))
        cs = draw(st.lists(st.sampled_from([0.0, 0.29, 0.3, 0.7, 1.0]), min_size=n, max_size=n))
        kp = np.array([xs, ys, cs], np.float64).T
    kp = kp.reshape(frames, people, skeleton.num_keypoints, 3).astype(np.float32)
    seq = PoseSequence(skeleton, kp, w, h)
    style = draw(st.sampled_from(STYLES))
    out_w = draw(st.one_of(st.none(), st.integers(1, 64)))
    out_h = draw(st.one_of(st.none(), st.integers(1, 64)))
    return seq, style, out_w, out_h


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sequences())
def test_random_sequences_render_without_errors(case):
    seq, style, out_w, out_h = case
    if not skeleton_supports(style, seq.skeleton):
        with pytest.raises(ValueError):
            render_sequence(seq, style, out_w, out_h)
        return
    out = render_sequence(seq, style, out_w, out_h)
    if out_w is None and out_h is None:
        out_w, out_h = seq.width, seq.height
    elif out_w is None or out_h is None:
        out_w, out_h = out.shape[2], out.shape[1]
    assert out.shape == (seq.num_frames, out_h, out_w, 3) and out.dtype == np.uint8
    if style == "mono":
        assert set(np.unique(out).tolist()) <= {0, 255}


def test_far_off_canvas_segments_are_clipped_not_lost():
    # one end absurdly far away: the visible part of the line is still drawn, and nothing raises
    img = first(pose({0: (50, 100, 1.0), 1: (3e30, 100, 1.0)}, skeleton=AP10K), "mono")
    assert img[100, 60:200].min() == 255 and img[100, :48].max() == 0
    img = first(pose({1: (100, 100, 1.0), 2: (-4e9, 100, 1.0)}), "posegen")
    assert rgb(img, 50, 100) == (0, 0, 255)
    img = first(pose({LEFT_HAND: (100, 50, 1.0), LEFT_HAND + 1: (1e12, 50, 1.0)}), "posegen")
    assert rgb(img, 150, 50) == (0, 0, 255)
