"""PoseCrafter face/hand latent editing on Wan latents: planning from landmarks, warping, pasting."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from posegen_core.posecrafter.affine import (
    apply_affine,
    compose,
    fit_affine,
    identity_affine,
    invert_affine,
    to_latent,
)
from posegen_core.posecrafter.latent_edit import (
    EditPlan,
    PartEdit,
    apply_edit,
    num_pixel_frames,
    pixel_frames,
    plan_face_hand_edit,
    warp_latent,
)
from posegen_core.poses.sequence import PoseSequence
from posegen_core.poses.skeletons import HUMAN

FACE = np.asarray(HUMAN.parts["face"])
LEFT_HAND = np.asarray(HUMAN.parts["left_hand"])
RIGHT_HAND = np.asarray(HUMAN.parts["right_hand"])
H, W = 48, 64  # latent grid -> a 512x384 canvas
WIDTH, HEIGHT = W * 8, H * 8


def face_points(centre=(200.0, 150.0), size: float = 60.0, seed: int = 0) -> np.ndarray:
    """70 face-like landmarks: a jaw arc plus scattered interior points, ``size`` px across."""
    rng = np.random.default_rng(seed)
    angle = np.linspace(np.pi * 0.1, np.pi * 0.9, 17)
    jaw = np.stack([np.cos(angle), np.sin(angle)], axis=1) * size / 2
    inner = rng.uniform(-0.4, 0.4, (53, 2)) * size
    return np.vstack([jaw, inner]) + np.asarray(centre)


def hand_points(centre=(320.0, 250.0), size: float = 40.0, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(-0.5, 0.5, (21, 2)) * size + np.asarray(centre)


def sequence(frames: int, face: dict[int, np.ndarray] | None = None, left: dict[int, np.ndarray] | None = None,
             right: dict[int, np.ndarray] | None = None, width: int = WIDTH, height: int = HEIGHT) -> PoseSequence:
    """A one-person human sequence with the given per-frame face/hand points (missing elsewhere)."""
    kp = np.zeros((frames, 1, HUMAN.num_keypoints, 3), np.float32)
    for indices, points in ((FACE, face), (LEFT_HAND, left), (RIGHT_HAND, right)):
        for frame, xy in (points or {}).items():
            kp[frame, 0, indices, :2] = xy
            kp[frame, 0, indices, 2] = 0.9
    return PoseSequence(HUMAN, kp, width, height)


def every(frames: int, points: np.ndarray) -> dict[int, np.ndarray]:
    return dict.fromkeys(range(frames), points)


T = 4
FRAMES = num_pixel_frames(T)  # 13
# the known transform: scale 1.2, rotate 10 degrees about the face centre, then shift by (+40, -24) image px
_C, _S = np.cos(np.radians(10)), np.sin(np.radians(10))
LINEAR = 1.2 * np.array([[_C, -_S], [_S, _C]])
CENTRE = np.array([200.0, 150.0])
TRUTH = np.hstack([LINEAR, (CENTRE - LINEAR @ CENTRE + [40.0, -24.0])[:, None]])


# --- temporal grouping ----------------------------------------------------------------------------------------


def test_pixel_frames_follow_wan_temporal_compression():
    assert list(pixel_frames(0)) == [0]
    assert list(pixel_frames(1)) == [1, 2, 3, 4]
    assert list(pixel_frames(2)) == [5, 6, 7, 8]
    assert num_pixel_frames(21) == 81
    covered = [f for k in range(21) for f in pixel_frames(k)]
    assert covered == list(range(81))


# --- planning -------------------------------------------------------------------------------------------------


def test_plan_recovers_the_known_transform_in_latent_units_and_boxes_cover_the_face():
    ref_face = face_points()
    target_face = apply_affine(TRUTH, ref_face)
    plan = plan_face_hand_edit(sequence(1, face={0: ref_face}), sequence(FRAMES, face=every(FRAMES, target_face)),
                               (T, H, W), parts=("face",))
    assert [e.frame for e in plan.edits] == list(range(T))
    for edit in plan.edits:
        assert edit.part == "face" and edit.num_points == 70
        # float32 keypoint storage limits the match to ~1e-5 px
        assert np.allclose(edit.affine_latent[:, :2], LINEAR, atol=1e-5)
        assert np.allclose(edit.affine_latent[:, 2], TRUTH[:, 2] / 8, atol=1e-5)
        assert np.allclose(edit.affine_latent, to_latent(TRUTH), atol=1e-5)
        x0, y0, x1, y1 = edit.box
        latent_points = target_face / 8
        assert (latent_points[:, 0] >= x0).all() and (latent_points[:, 0] <= x1).all()
        assert (latent_points[:, 1] >= y0).all() and (latent_points[:, 1] <= y1).all()
        # the padded box: bbox + 15 % of its larger side on each side, rounded outward to latent pixels
        lo, hi = target_face.min(axis=0), target_face.max(axis=0)
        pad = 0.15 * (hi - lo).max()
        assert (x0, y0) == tuple(int(v) for v in np.floor((lo - pad) / 8))
        assert (x1, y1) == tuple(int(v) for v in np.ceil((hi + pad) / 8))
        assert edit.rms_residual < 1e-4
    assert plan.skipped == {"face": 0}
    x0, y0, x1, y1 = plan.edits[0].box
    assert plan.fraction_touched == pytest.approx([(x1 - x0) * (y1 - y0) / (H * W)] * T)


def test_missing_hands_are_skipped_and_counted():
    ref = sequence(1, face={0: face_points()}, left={0: hand_points()}, right={0: hand_points((100.0, 250.0))})
    # targets: face everywhere; left hand only in latent frame 1 (pixel frames 1..4), right hand nowhere
    targets = sequence(FRAMES, face=every(FRAMES, face_points((210.0, 140.0))),
                       left={f: hand_points((330.0, 240.0)) for f in range(1, 5)})
    plan = plan_face_hand_edit(ref, targets, (T, H, W))
    assert plan.skipped == {"face": 0, "left_hand": T - 1, "right_hand": T}
    assert sorted((e.frame, e.part) for e in plan.edits) == sorted(
        [(k, "face") for k in range(T)] + [(1, "left_hand")])
    hand = next(e for e in plan.edits if e.part == "left_hand")
    assert np.allclose(hand.affine_latent, [[1, 0, 10 / 8], [0, 1, -10 / 8]], atol=1e-5)
    assert "right_hand: 0 frame(s) edited, 4 skipped" in plan.summary()


def test_too_few_points_or_low_confidence_skip_the_part():
    ref = sequence(1, left={0: hand_points()})
    targets = sequence(FRAMES, left=every(FRAMES, hand_points()))
    kp = targets.keypoints.copy()
    kp[:, 0, LEFT_HAND[3:], 2] = 0.0  # only 3 points left in the targets < min_points 4
    plan = plan_face_hand_edit(ref, targets.with_keypoints(kp), (T, H, W), parts=("left_hand",))
    assert plan.edits == [] and plan.skipped == {"left_hand": T}
    kp = targets.keypoints.copy()
    kp[:, 0, LEFT_HAND, 2] = 0.4  # all points, but below min_confidence 0.5
    plan = plan_face_hand_edit(ref, targets.with_keypoints(kp), (T, H, W), parts=("left_hand",))
    assert plan.skipped == {"left_hand": T}
    plan = plan_face_hand_edit(ref, targets.with_keypoints(kp), (T, H, W), parts=("left_hand",),
                               min_confidence=0.3)
    assert plan.skipped == {"left_hand": 0} and len(plan.edits) == T


def test_collinear_landmarks_are_skipped_not_raised():
    line = np.stack([np.linspace(300, 340, 21), np.full(21, 250.0)], axis=1)
    plan = plan_face_hand_edit(sequence(1, left={0: line}), sequence(FRAMES, left=every(FRAMES, line)), (T, H, W),
                               parts=("left_hand",))
    assert plan.edits == [] and plan.skipped == {"left_hand": T}


def test_only_the_latent_frame_of_frames_5_to_8_is_edited():
    ref = sequence(1, face={0: face_points()})
    targets = sequence(FRAMES, face={f: face_points((230.0, 160.0)) for f in range(5, 9)})
    plan = plan_face_hand_edit(ref, targets, (T, H, W), parts=("face",))
    assert [e.frame for e in plan.edits] == [2]
    assert plan.skipped == {"face": T - 1}
    assert plan.fraction_touched[2] > 0 and plan.fraction_touched[:2] == [0, 0] and plan.fraction_touched[3] == 0


def test_frame_zero_stands_alone_and_later_latent_frames_average_their_four_frames():
    ref_face = face_points()
    shifts = {0: (8.0, 0.0), 1: (16.0, 0.0), 2: (24.0, 0.0), 3: (32.0, 0.0), 4: (40.0, 0.0)}
    face = {f: ref_face + s for f, s in shifts.items()}
    # latent frame 2: a point missing in frames 5, 6 -> its mean comes from frames 7, 8 only
    face.update({f: ref_face + (0.0, 16.0) for f in (5, 6)})
    face.update({f: ref_face + (0.0, 32.0) for f in (7, 8)})
    targets = sequence(FRAMES, face=face)
    kp = targets.keypoints.copy()
    kp[5:7, 0, FACE[0], :] = 0.0  # missing, x, y = 0: must not pull the mean to the corner
    plan = plan_face_hand_edit(sequence(1, face={0: ref_face}), targets.with_keypoints(kp), (T, H, W),
                               parts=("face",), box_padding=0.0)
    by_frame = {e.frame: e for e in plan.edits}
    assert np.allclose(by_frame[0].affine_latent, [[1, 0, 1.0], [0, 1, 0]], atol=1e-5)  # frame 0 alone: 8 px
    assert np.allclose(by_frame[1].affine_latent, [[1, 0, 3.5], [0, 1, 0]], atol=1e-5)  # mean of 16..40: 28 px
    # frame 2: 69 points at their mean shift of 24 px down, point 0 at 32 px (frames 7, 8 only)
    means = ref_face + [0.0, 24.0]
    means[0] = ref_face[0] + [0.0, 32.0]
    assert np.allclose(by_frame[2].affine_latent, to_latent(fit_affine(ref_face, means)), atol=1e-5)
    assert 3 not in by_frame


def test_robust_planning_ignores_a_wild_landmark():
    ref_face = face_points()
    target_face = apply_affine(TRUTH, ref_face)
    target_face[:8] += 60.0  # 8 of 70 landmarks detected far off
    kwargs = {"parts": ("face",)}
    ref, targets = sequence(1, face={0: ref_face}), sequence(FRAMES, face=every(FRAMES, target_face))
    plain = plan_face_hand_edit(ref, targets, (T, H, W), **kwargs).edits[0].affine_latent
    robust = plan_face_hand_edit(ref, targets, (T, H, W), robust=True, **kwargs).edits[0].affine_latent
    assert np.abs(robust - to_latent(TRUTH)).max() < 1e-4
    assert np.abs(plain - to_latent(TRUTH)).max() > 0.1


def test_boxes_are_clipped_to_the_latent():
    ref_face = face_points()
    near_edge = face_points((10.0, 370.0))  # off the bottom-left corner
    plan = plan_face_hand_edit(sequence(1, face={0: ref_face}), sequence(FRAMES, face=every(FRAMES, near_edge)),
                               (T, H, W), parts=("face",))
    x0, y0, x1, y1 = plan.edits[0].box
    assert x0 == 0 and y1 == H and x1 > 0 and y0 < H
    gone = face_points((-500.0, -500.0))  # entirely off-canvas: nothing to paste
    plan = plan_face_hand_edit(sequence(1, face={0: ref_face}), sequence(FRAMES, face=every(FRAMES, gone)),
                               (T, H, W), parts=("face",))
    assert plan.edits == [] and plan.skipped == {"face": T}


def test_canvas_grid_and_frame_count_mismatches_raise():
    ref = sequence(1, face={0: face_points()})
    targets = sequence(FRAMES, face=every(FRAMES, face_points()))
    with pytest.raises(ValueError, match="canvas is 512x384.*48x60"):
        plan_face_hand_edit(ref, targets, (T, H, 60))
    with pytest.raises(ValueError, match="reference canvas"):
        plan_face_hand_edit(sequence(1, face={0: face_points()}, width=WIDTH * 2, height=HEIGHT * 2), targets,
                            (T, H, W))
    with pytest.raises(ValueError, match="13 frames.*T=5"):
        plan_face_hand_edit(ref, targets, (5, H, W))
    with pytest.raises(ValueError, match="no part 'tail'"):
        plan_face_hand_edit(ref, targets, (T, H, W), parts=("tail",))
    with pytest.raises(ValueError, match="person 1"):
        plan_face_hand_edit(ref, targets, (T, H, W), person=1)


def test_summary_mentions_edits_and_skips():
    ref = sequence(1, face={0: face_points()})
    plan = plan_face_hand_edit(ref, sequence(FRAMES, face=every(FRAMES, face_points())), (T, H, W))
    text = plan.summary()
    assert "4x48x64" in text and "face: 4 frame(s) edited, 0 skipped" in text and "left_hand" in text


# --- warping --------------------------------------------------------------------------------------------------


def shift(dx: float, dy: float) -> np.ndarray:
    return np.array([[1.0, 0.0, dx], [0.0, 1.0, dy]])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16, torch.float16])
def test_identity_warp_is_exact(dtype):
    x = torch.randn(2, 16, 12, 20).to(dtype)
    assert torch.equal(warp_latent(x, identity_affine()), x)
    assert warp_latent(x, identity_affine()).dtype == dtype


@pytest.mark.parametrize("dx, dy", [(3, 0), (0, -2), (5, 4), (-7, -3), (1, 1)])
@pytest.mark.parametrize("padding", ["border", "zeros"])
def test_integer_translation_is_an_exact_shifted_copy(dx, dy, padding):
    x = torch.randn(2, 16, 12, 20)
    y = warp_latent(x, shift(dx, dy), padding)
    h, w = x.shape[2:]
    # target (i, j) = source (i - dy, j - dx) wherever that is inside the source
    ti, si = slice(max(dy, 0), h + min(dy, 0)), slice(max(-dy, 0), h + min(-dy, 0))
    tj, sj = slice(max(dx, 0), w + min(dx, 0)), slice(max(-dx, 0), w + min(-dx, 0))
    assert torch.equal(y[:, :, ti, tj], x[:, :, si, sj])
    band = torch.ones(h, w, dtype=torch.bool)
    band[ti, tj] = False
    if padding == "zeros":
        assert (y[:, :, band] == 0).all()
    else:
        # the band from outside repeats the nearest source edge
        edge_i = (torch.arange(h) - dy).clamp(0, h - 1)
        edge_j = (torch.arange(w) - dx).clamp(0, w - 1)
        assert torch.equal(y, x[:, :, edge_i][:, :, :, edge_j])


def test_quarter_turn_about_the_centre():
    n = 10
    ii, jj = torch.meshgrid(torch.arange(n) - 4.5, torch.arange(n) - 4.5, indexing="ij")
    symmetric = torch.exp(-(ii**2 + jj**2) / 8.0) + torch.cos(ii) * torch.cos(jj)  # invariant under 90 degrees
    quarter = np.array([[0.0, -1.0], [1.0, 0.0]])
    c = np.array([n / 2, n / 2])  # the centre of the latent in continuous coordinates
    turn = np.hstack([quarter, (c - quarter @ c)[:, None]])
    assert torch.allclose(warp_latent(symmetric[None, None], turn)[0, 0], symmetric, atol=1e-6)
    # an asymmetric pattern turns like rot90: (x, y) -> (-y, x) about the centre is clockwise on screen (y down)
    x = torch.randn(1, 4, n, n)
    assert torch.equal(warp_latent(x, turn), torch.rot90(x, -1, dims=(2, 3)))


def test_round_trip_is_close_in_the_interior():
    h, w = 48, 64
    ii, jj = torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64),
                            indexing="ij")
    smooth = torch.stack([torch.sin(ii / 5) * torch.cos(jj / 7), torch.exp(-((ii - 24) ** 2 + (jj - 30) ** 2) / 200)])
    x = smooth[None].float()
    c, s = np.cos(np.radians(12)), np.sin(np.radians(12))
    linear = 1.1 * np.array([[c, -s], [s, c]])
    a = np.hstack([linear, (np.array([32.0, 24.0]) - linear @ [32.0, 24.0] + [1.3, -0.7])[:, None]])
    back = warp_latent(warp_latent(x, a), invert_affine(a))
    interior = (slice(None), slice(None), slice(12, 36), slice(16, 48))
    assert (back - x)[interior].abs().max() < 0.02  # two bilinear resamplings of a smooth pattern
    assert not torch.equal(back, x)


@pytest.mark.parametrize("padding", ["border", "zeros"])
def test_warp_matches_grid_sample_with_align_corners_false(padding):
    x = torch.randn(2, 3, 12, 17, dtype=torch.float64)
    a = np.array([[1.1, 0.2, -1.3], [-0.15, 0.9, 0.7]])
    inv = invert_affine(a)
    ii, jj = np.meshgrid(np.arange(12), np.arange(17), indexing="ij")
    p = apply_affine(inv, np.stack([jj + 0.5, ii + 0.5], axis=-1))
    grid = torch.tensor(np.stack([2 * p[..., 0] / 17 - 1, 2 * p[..., 1] / 12 - 1], axis=-1))[None].expand(2, -1, -1, -1)
    want = F.grid_sample(x, grid, mode="bilinear", padding_mode=padding, align_corners=False)
    assert torch.allclose(warp_latent(x, a, padding), want, atol=1e-12)


def test_warp_moves_content_the_way_the_affine_maps_points():
    x = torch.zeros(1, 1, 20, 20)
    x[0, 0, 5, 3] = 1.0  # a source blob at latent pixel centre (3.5, 5.5)
    a = np.array([[1.0, 0.0, 6.0], [0.0, 1.0, 2.0]])
    y = warp_latent(x, a)
    assert (y[0, 0] == 1.0).nonzero().tolist() == [[7, 9]]  # target centre (9.5, 7.5) = A (3.5, 5.5)


# --- applying -------------------------------------------------------------------------------------------------


def make_plan(edits: list[PartEdit]) -> EditPlan:
    return EditPlan(edits=edits, grid=(T, H, W), skipped={}, fraction_touched=[0.0] * T)


def test_apply_changes_only_the_boxes_and_copies_the_warped_source_exactly():
    latent = torch.randn(1, 16, T, H, W)
    before = latent.clone()
    a = np.array([[1.1, 0.1, 2.3], [-0.05, 0.95, -1.7]])
    edits = [PartEdit("face", 1, a, (10, 5, 22, 19)), PartEdit("left_hand", 3, shift(4, -3), (40, 30, 47, 38))]
    out = apply_edit(latent, make_plan(edits))
    assert torch.equal(latent, before)  # input untouched
    changed = torch.zeros(T, H, W, dtype=torch.bool)
    for e in edits:
        x0, y0, x1, y1 = e.box
        changed[e.frame, y0:y1, x0:x1] = True
        assert torch.equal(out[:, :, e.frame, y0:y1, x0:x1],
                           warp_latent(latent[:, :, 0], e.affine_latent)[:, :, y0:y1, x0:x1])
    assert torch.equal(out[:, :, ~changed], latent[:, :, ~changed])  # bit-identical outside, all frames
    assert torch.equal(out[:, :, 0], latent[:, :, 0]) and torch.equal(out[:, :, 2], latent[:, :, 2])
    assert not torch.equal(out[:, :, 1], latent[:, :, 1])


def test_apply_uses_the_chosen_source_frame_and_the_input_as_source():
    latent = torch.randn(1, 4, T, H, W)
    # frame 2 is both edited (first) and the source of a later edit: the later edit must read the input's frame 2
    edits = [PartEdit("face", 2, shift(1, 1), (0, 0, 10, 10)), PartEdit("face", 3, identity_affine(), (0, 0, 10, 10))]
    out = apply_edit(latent, make_plan(edits), source_frame=2)
    assert torch.equal(out[:, :, 3, :10, :10], latent[:, :, 2, :10, :10])


def test_overlapping_boxes_apply_in_plan_order():
    latent = torch.randn(1, 4, T, H, W)
    first, second = PartEdit("face", 1, shift(2, 0), (5, 5, 20, 20)), PartEdit("right_hand", 1, shift(0, 3),
                                                                                   (15, 15, 30, 30))
    out = apply_edit(latent, make_plan([first, second]))
    source = latent[:, :, 0]
    assert torch.equal(out[:, :, 1, 15:20, 15:20], warp_latent(source, second.affine_latent)[:, :, 15:20, 15:20])
    assert torch.equal(out[:, :, 1, 5:15, 5:15], warp_latent(source, first.affine_latent)[:, :, 5:15, 5:15])
    swapped = apply_edit(latent, make_plan([second, first]))
    assert torch.equal(swapped[:, :, 1, 15:20, 15:20], warp_latent(source, first.affine_latent)[:, :, 15:20, 15:20])


def test_feather_blends_at_the_edge_and_copies_inside():
    latent = torch.randn(1, 4, T, H, W)
    box = (10, 10, 30, 30)
    edit = PartEdit("face", 2, shift(3, -2), box)
    hard = apply_edit(latent, make_plan([edit]))
    soft = apply_edit(latent, make_plan([edit]), feather=4.0)
    original, warped = latent[:, :, 2], hard[:, :, 2]
    # outside the box: untouched
    outside = torch.ones(H, W, dtype=torch.bool)
    outside[10:30, 10:30] = False
    assert torch.equal(soft[:, :, :, outside], latent[:, :, :, outside])
    # 4 or more pixels inside every edge: the exact warped source
    assert torch.equal(soft[:, :, 2, 14:26, 14:26], warped[:, :, 14:26, 14:26])
    # the edge pixel (centre 0.5 px inside) gets weight 0.5 / 4; the next one 1.5 / 4
    for col, weight in ((10, 0.125), (11, 0.375), (12, 0.625)):
        want = original[:, :, 20, col] * (1 - weight) + warped[:, :, 20, col] * weight
        assert torch.allclose(soft[:, :, 2, 20, col], want, atol=1e-6)
    # the ramp is monotone from the edge inward
    diff = (soft[:, :, 2, 20, 10:20] - original[:, :, 20, 10:20]).abs() / (
        (warped[:, :, 20, 10:20] - original[:, :, 20, 10:20]).abs() + 1e-12)
    assert (diff[..., 1:] >= diff[..., :-1] - 1e-5).all()


def test_feather_does_not_ramp_on_the_latent_border():
    latent = torch.randn(1, 2, T, H, W)
    edit = PartEdit("face", 1, shift(1, 0), (0, 0, 12, 12))  # touching the top-left latent corner
    soft = apply_edit(latent, make_plan([edit]), feather=3.0)
    hard = apply_edit(latent, make_plan([edit]))
    assert torch.equal(soft[:, :, 1, 0:9, 0:9], hard[:, :, 1, 0:9, 0:9])  # only the right/bottom sides blend
    assert not torch.equal(soft[:, :, 1, 11, 0:9], hard[:, :, 1, 11, 0:9])


def test_plan_then_apply_end_to_end_pastes_the_moved_face():
    """A reference 'face' blob in latent frame 0 lands where the target face is after planning and applying."""
    ref_face = face_points()
    target_face = ref_face + [64.0, 32.0]  # 8 and 4 latent pixels
    plan = plan_face_hand_edit(sequence(1, face={0: ref_face}), sequence(FRAMES, face=every(FRAMES, target_face)),
                               (T, H, W), parts=("face",))
    latent = torch.randn(1, 16, T, H, W)
    out = apply_edit(latent, plan)
    for e in plan.edits:
        x0, y0, x1, y1 = e.box
        assert torch.equal(out[:, :, e.frame, y0:y1, x0:x1], latent[:, :, 0, y0 - 4:y1 - 4, x0 - 8:x1 - 8])


def test_apply_validates_its_inputs():
    latent = torch.randn(1, 4, T, H, W)
    with pytest.raises(ValueError, match="does not match"):
        apply_edit(latent[:, :, :3], make_plan([]))
    with pytest.raises(ValueError, match="source_frame"):
        apply_edit(latent, make_plan([]), source_frame=T)
    with pytest.raises(ValueError, match="feather"):
        apply_edit(latent, make_plan([]), feather=-1.0)
    with pytest.raises(ValueError, match="outside the latent"):
        apply_edit(latent, make_plan([PartEdit("face", 0, identity_affine(), (0, 0, W + 1, 4))]))
    with pytest.raises(ValueError):
        PartEdit("face", 0, identity_affine(), (5, 5, 5, 9))  # empty box


def test_part_edit_keeps_a_read_only_copy_of_its_affine():
    a = shift(1.0, 2.0)
    edit = PartEdit("face", 0, a, (0, 0, 4, 4))
    a[0, 2] = 99.0
    assert edit.affine_latent[0, 2] == 1.0
    with pytest.raises(ValueError):
        edit.affine_latent[0, 2] = 5.0
    assert np.allclose(compose(edit.affine_latent, invert_affine(edit.affine_latent)), identity_affine())
