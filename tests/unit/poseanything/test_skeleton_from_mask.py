"""Skeleton frames from subject masks (the offline BlumNet substitute, §2.2, §6.4).

Everything is checked on analytic shapes drawn here: a long rectangle, a plus, and a four-legged "animal" (body
ellipse, four leg rectangles, neck and head), with and without boundary noise. Masks are 512 px on the long side
unless a test is about scaling, so work-resolution coordinates equal mask coordinates.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.ndimage import binary_fill_holes
from skimage.morphology import skeletonize

from posegen_core.errors import PoseGenInputError
from posegen_core.poseanything.skeleton_from_mask import (
    SkeletonFromMaskSettings,
    SkeletonVideo,
    prune_spurs,
    skeleton_frames_from_masks,
    skeletonize_mask,
    trace_skeleton,
)

H, W = 288, 512
LEG_XS = (140, 185, 315, 360)
LEG_BOTTOM = 270
HEAD_TIP = (34, 448)  # (row, col) where the head's axis ends


# --- shapes -------------------------------------------------------------------------------------------------------


def rectangle(length: int = 400, width: int = 20, *, vertical: bool = False) -> np.ndarray:
    mask = np.zeros((H, W), np.float32)
    top, left = H // 2 - width // 2, (W - length) // 2
    mask[top:top + width, left:left + length] = 1
    return np.ascontiguousarray(mask.T) if vertical else mask


def plus(size: int = 512, arm: int = 400, width: int = 40) -> np.ndarray:
    mask = np.zeros((size, size), np.float32)
    c = size // 2
    mask[c - width // 2:c + width // 2, c - arm // 2:c + arm // 2] = 1
    mask[c - arm // 2:c + arm // 2, c - width // 2:c + width // 2] = 1
    return mask


def animal(*, noise: int = 0, seed: int = 0, scale: int = 1, shift: tuple[int, int] = (0, 0)) -> np.ndarray:
    """Body ellipse, four legs, neck and head on a 512x288 canvas (times ``scale``), shifted by (dx, dy) px.

    ``noise`` random discs of radius 1-3 px, half white and half black, are stamped on the outline.
    """
    mask = np.zeros((H * scale, W * scale), np.uint8)

    def at(x: float, y: float) -> tuple[int, int]:
        return round((x + shift[0]) * scale), round((y + shift[1]) * scale)

    cv2.ellipse(mask, at(250, 120), (130 * scale, 45 * scale), 0, 0, 360, 1, -1)
    for x in LEG_XS:
        cv2.rectangle(mask, at(x - 10, 130), at(x + 10, LEG_BOTTOM), 1, -1)
    cv2.line(mask, at(360, 100), at(420, 45), 1, 24 * scale)
    cv2.ellipse(mask, at(435, 40), (30 * scale, 18 * scale), -20, 0, 360, 1, -1)
    if noise:
        rng = np.random.default_rng(seed)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        outline = contours[0][:, 0]
        for index in rng.choice(len(outline), noise, replace=False):
            centre = tuple(int(v) for v in outline[index])
            cv2.circle(mask, centre, int(rng.integers(1, 4)), int(rng.integers(0, 2)), -1)
    return mask.astype(np.float32)


# --- measurements -------------------------------------------------------------------------------------------------


def neighbour_count(skeleton: np.ndarray) -> np.ndarray:
    kernel = np.ones((3, 3), np.float32)
    kernel[1, 1] = 0
    counts = cv2.filter2D(skeleton.astype(np.float32), -1, kernel, borderType=cv2.BORDER_CONSTANT)
    return np.rint(counts).astype(int) * skeleton


def endpoints(skeleton: np.ndarray) -> np.ndarray:
    return np.argwhere(skeleton & (neighbour_count(skeleton) == 1))


def end_branch_lengths(skeleton: np.ndarray) -> list[int]:
    """Pixel counts of the branches that end in an endpoint (junction neighbourhoods cut out)."""
    junctions = cv2.dilate((neighbour_count(skeleton) >= 3).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    count, labels = cv2.connectedComponents((skeleton & ~junctions).astype(np.uint8), connectivity=8)
    tips = {int(labels[r, c]) for r, c in endpoints(skeleton)} - {0}
    return [int((labels == label).sum()) for label in sorted(tips)]


def dilated(image: np.ndarray, px: int = 3) -> np.ndarray:
    return cv2.dilate(image.astype(np.uint8), np.ones((2 * px + 1, 2 * px + 1), np.uint8)) > 0


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def frame_of(mask: np.ndarray, settings: SkeletonFromMaskSettings | None = None) -> np.ndarray:
    return skeleton_frames_from_masks(mask[None], settings).frames[0, ..., 0] > 0.5


# --- shapes with a known axis -------------------------------------------------------------------------------------


@pytest.mark.parametrize("vertical", [False, True])
def test_rectangle_gives_one_centred_line_along_the_long_axis(vertical: bool) -> None:
    length, width = 400, 20
    mask = rectangle(length, width, vertical=vertical)
    traced = trace_skeleton(mask)
    assert traced.branch_count == 1 and len(traced.endpoints) == 2 and len(traced.junctions) == 0

    out = skeletonize_mask(mask)
    out = out.T if vertical else out
    rows, cols = np.nonzero(skeletonize(out))
    # The medial axis of a rectangle runs between the centres of its end squares: length - width long
    assert length - width - 8 <= cols.max() - cols.min() <= length - width + 8
    assert abs(rows.mean() - (H // 2 - 0.5)) <= 2
    assert rows.max() - rows.min() <= 3  # straight


def test_plus_gives_four_branches_meeting_at_the_centre() -> None:
    mask = plus()
    traced = trace_skeleton(mask)
    assert traced.branch_count == 4
    assert len(traced.junctions) == 1
    np.testing.assert_allclose(traced.junctions[0], [255.5, 255.5], atol=3)
    # One endpoint per arm, about half an arm width in from the arm's end
    tips = np.array([[256, 56], [256, 456], [56, 256], [456, 256]], np.float32)
    assert len(traced.endpoints) == 4
    gaps = np.linalg.norm(traced.endpoints[:, None] - tips[None], axis=2).min(axis=0)
    assert (gaps <= 30).all(), gaps


# --- the animal ---------------------------------------------------------------------------------------------------


def test_animal_skeleton_stays_inside_and_reaches_every_leg() -> None:
    mask = animal()
    out = frame_of(mask)
    inside = out & dilated(mask > 0.5, 2)
    assert inside.sum() >= 0.98 * out.sum()

    traced = trace_skeleton(mask)
    assert len(traced.endpoints) >= 4
    for x in LEG_XS:  # the axis of a 20-px leg stops about half its width above the foot
        gaps = np.hypot(traced.endpoints[:, 0] - LEG_BOTTOM, traced.endpoints[:, 1] - x)
        assert gaps.min() <= 15, (x, traced.endpoints)
    assert np.hypot(*(traced.endpoints - HEAD_TIP).T).min() <= 15


def test_animal_has_no_end_branch_below_the_pruning_threshold() -> None:
    settings = SkeletonFromMaskSettings()
    lines = trace_skeleton(animal(noise=60), settings).lines
    threshold = max(settings.min_branch_px, settings.branch_fraction * lines.sum())
    lengths = end_branch_lengths(lines)
    assert len(lengths) == 5  # four legs and the head
    assert min(lengths) >= threshold


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_boundary_noise_adds_no_branches(seed: int) -> None:
    clean = trace_skeleton(animal())
    noisy = trace_skeleton(animal(noise=80, seed=seed))
    assert len(noisy.endpoints) == len(clean.endpoints) == 5
    assert noisy.branch_count == clean.branch_count
    # ... and the endpoints stay where they were, within a leg's width (a medial axis ends where the outline's
    # curvature says, which a nick near a blunt end moves a little)
    gaps = np.linalg.norm(noisy.endpoints[:, None] - clean.endpoints[None], axis=2).min(axis=0)
    assert (gaps <= 20).all(), gaps


# --- rendering ----------------------------------------------------------------------------------------------------


def test_frames_are_binary_white_on_black_about_three_px_wide() -> None:
    video = skeleton_frames_from_masks(np.stack([animal(), plus()[:H]]))
    assert isinstance(video, SkeletonVideo)
    assert video.frames.shape == (2, H, W, 3) and video.frames.dtype == np.float32
    assert set(np.unique(video.frames).tolist()) <= {0.0, 1.0}
    assert (video.frames == video.frames[..., :1]).all()  # white, not coloured
    out = video.frames[0, ..., 0] > 0.5
    ratio = out.sum() / skeletonize(out).sum()
    assert 2.0 <= ratio <= 4.5, ratio
    assert cv2.connectedComponents(out.astype(np.uint8))[0] == 2  # one stroke set on the background


def test_larger_masks_keep_proportions() -> None:
    small, large = animal(), animal(scale=2)
    out_small, out_large = frame_of(small), frame_of(large)
    assert out_large.shape == (2 * H, 2 * W)
    # Lines scale with the frame: four times the area, and the same drawing once shrunk back
    assert 3.0 <= out_large.sum() / out_small.sum() <= 5.0
    shrunk = cv2.resize(out_large.astype(np.float32), (W, H), interpolation=cv2.INTER_AREA) >= 0.5
    assert iou(dilated(shrunk), dilated(out_small)) > 0.8
    # Both are traced on the same 512-px working canvas
    a, b = trace_skeleton(small), trace_skeleton(large)
    assert len(a.endpoints) == len(b.endpoints)
    assert np.linalg.norm(a.endpoints[:, None] - b.endpoints[None], axis=2).min(axis=0).max() <= 3
    assert b.scale == pytest.approx(0.5)


def test_small_masks_keep_connected_strokes() -> None:
    mask = cv2.resize(plus(), (64, 64), interpolation=cv2.INTER_AREA)[8:56]
    out = frame_of(mask)
    assert out.shape == (48, 64)
    assert cv2.connectedComponents(out.astype(np.uint8))[0] == 2


def test_subject_cut_off_by_the_frame_runs_to_the_edge() -> None:
    mask = np.zeros((H, W), np.float32)
    mask[:, 200:260] = 1  # a 60-px wide post through the whole frame
    out = frame_of(mask)
    assert out[0].any() and out[-1].any()
    assert trace_skeleton(mask).branch_count == 1


def test_smoothing_follows_the_axis_and_can_be_turned_off() -> None:
    mask = np.zeros((H, W), np.uint8)
    cv2.ellipse(mask, (256, 300), (200, 200), 0, 200, 340, 1, 24)  # an arched band
    mask = mask.astype(np.float32)
    raw = trace_skeleton(mask, SkeletonFromMaskSettings(smooth_epsilon=0)).lines
    smooth = trace_skeleton(mask).lines
    coarse = trace_skeleton(mask, SkeletonFromMaskSettings(smooth_epsilon=40)).lines
    distance = cv2.distanceTransform((~raw).astype(np.uint8), cv2.DIST_L2, 3)
    assert distance[smooth].max() <= 2.5  # Douglas-Peucker at 1.5 px stays on the axis
    assert distance[coarse].max() > 5  # a coarse tolerance cuts the arch into chords
    for lines in (raw, smooth, coarse):
        assert len(endpoints(lines)) == 2


@st.composite
def random_masks(draw: st.DrawFn) -> np.ndarray:
    """Unions of 1-4 random filled ellipses and thick lines, 16..300 px a side."""
    height, width = draw(st.integers(16, 300)), draw(st.integers(16, 300))
    mask = np.zeros((height, width), np.uint8)
    for _ in range(draw(st.integers(1, 4))):
        x, y = draw(st.integers(0, width - 1)), draw(st.integers(0, height - 1))
        if draw(st.booleans()):
            axes = draw(st.integers(1, width)), draw(st.integers(1, height))
            cv2.ellipse(mask, (x, y), axes, draw(st.integers(0, 179)), 0, 360, 1, -1)
        else:
            end = draw(st.integers(0, width - 1)), draw(st.integers(0, height - 1))
            cv2.line(mask, (x, y), end, 1, draw(st.integers(1, 30)))
    return mask.astype(np.float32)


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(random_masks())
def test_any_mask_gives_a_binary_frame_on_the_subject(mask: np.ndarray) -> None:
    video = skeleton_frames_from_masks(mask[None])
    out = video.frames[0, ..., 0] > 0.5
    assert video.frames.shape == (1, *mask.shape, 3)
    assert set(np.unique(video.frames).tolist()) <= {0.0, 1.0}
    assert out.any() == (video.empty_frames == [])
    # On the subject as cleaned (closed and hole-filled), give or take a stroke's width at this size
    grow = int(np.ceil(4 * max(mask.shape) / 512)) + 1
    pen = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1,) * 2)
    closed = cv2.morphologyEx(np.pad(mask > 0.5, grow).astype(np.uint8), cv2.MORPH_CLOSE, pen)[grow:-grow, grow:-grow]
    assert (out <= dilated(binary_fill_holes(closed), grow)).all()


# --- batches and time ---------------------------------------------------------------------------------------------


def test_empty_frames_are_black_and_listed() -> None:
    speck = np.zeros((H, W), np.float32)
    speck[100:103, 100:103] = 1  # smaller than the cleaning kernel: no subject either
    masks = np.stack([animal(), np.zeros((H, W), np.float32), speck, animal()])
    video = skeleton_frames_from_masks(masks)
    assert video.empty_frames == [1, 2]
    assert not video.frames[1].any() and not video.frames[2].any()
    assert video.frames[0].any() and video.frames[3].any()
    assert video.branch_counts[1:3] == [0, 0] and video.branch_counts[0] == video.branch_counts[3] > 0
    np.testing.assert_array_equal(video.frames[0], video.frames[3])  # same mask, same frame


@pytest.mark.parametrize("dx, dy", [(10, 0), (0, 10)])
def test_translated_mask_translates_the_skeleton(dx: int, dy: int) -> None:
    base, moved = frame_of(animal()), frame_of(animal(shift=(dx, dy)))
    expected = np.roll(base, (dy, dx), axis=(0, 1))
    assert iou(dilated(expected), dilated(moved)) > 0.7
    assert trace_skeleton(animal(shift=(dx, dy))).branch_count == trace_skeleton(animal()).branch_count


def test_progress_and_stop() -> None:
    masks = np.stack([plus(128, 100, 12)] * 3)
    done: list[int] = []
    skeleton_frames_from_masks(masks, progress=done.append)
    assert done == [1, 2, 3]

    calls: list[int] = []

    def stop() -> None:
        calls.append(1)
        if len(calls) == 2:
            raise InterruptedError("user stop")

    done.clear()
    with pytest.raises(InterruptedError):
        skeleton_frames_from_masks(masks, progress=done.append, should_stop=stop)
    assert done == [1]


# --- pruning ------------------------------------------------------------------------------------------------------


def test_pruning_keeps_loops() -> None:
    ring = np.zeros((96, 96), np.uint8)
    cv2.circle(ring, (48, 48), 30, 1, 1)
    spur = ring.copy()
    spur[48, 79:84] = 1  # a 5-px spur on the outside of the ring
    subject = dilated(spur, 4)
    pruned = prune_spurs(spur > 0, subject, SkeletonFromMaskSettings())
    assert len(endpoints(pruned)) == 0  # spur gone, ring closed
    assert not pruned[48, 81:84].any()
    assert cv2.connectedComponents((~pruned).astype(np.uint8), connectivity=4)[0] == 3  # inside + outside
    assert (pruned <= dilated(ring, 1)).all()


def test_pruning_never_removes_the_whole_skeleton() -> None:
    star = np.zeros((40, 40), bool)
    star[20, 20:27] = True  # arms of 6, 5 and 4 px: all below min_branch_px
    star[15:20, 20] = True
    star[21:25, 20] = True
    pruned = prune_spurs(star, dilated(star, 2), SkeletonFromMaskSettings())
    ends = {tuple(p) for p in endpoints(pruned).tolist()}
    assert pruned.any() and len(ends) == 2
    assert (20, 26) in ends  # the longest path keeps the longest arm


# --- bad input ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("masks, problem", [
    ([[[0.0] * 32] * 32], "got list"),
    (np.zeros((32, 32), np.float32), "shape"),
    (np.zeros((1, 32, 32, 1), np.float32), "shape"),
    (np.zeros((0, 32, 32), np.float32), "no frames"),
    (np.zeros((1, 8, 64), np.float32), "64x8"),
    (np.full((1, 32, 32), np.nan, np.float32), "NaN"),
    (np.full((1, 32, 32), np.inf, np.float32), "infinite"),
    (np.full((1, 32, 32), "a"), "dtype"),
])
def test_invalid_masks_raise(masks: object, problem: str) -> None:
    with pytest.raises(PoseGenInputError, match=r"^masks: .*" + problem) as error:
        skeleton_frames_from_masks(masks)  # type: ignore[arg-type]
    assert error.value.input_name == "masks"


def test_invalid_single_mask_raises() -> None:
    with pytest.raises(PoseGenInputError, match="^mask: .*2-D"):
        skeletonize_mask(np.zeros((1, 32, 32), np.float32))


@pytest.mark.parametrize("field, value", [
    ("work_long_side", True), ("work_long_side", 32), ("clean_kernel", -1), ("clean_kernel", 2.5),
    ("min_branch_px", float("nan")), ("branch_fraction", 1.5), ("prune_rounds", 1.5), ("smooth_epsilon", -1.0),
])
def test_invalid_settings_raise(field: str, value: object) -> None:
    with pytest.raises(PoseGenInputError, match=f"^{field}: "):
        SkeletonFromMaskSettings(**{field: value})
