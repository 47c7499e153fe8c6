"""PoseAnything part segmentation, α and token masks (posegen_core/poseanything/parts.py).

Checked bit for bit against the released code's outputs in ``poseanything_tiny_v1`` (segmentation PNGs and
``segmentation.safetensors``) and against Appendix A of docs/method/poseanything.md.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from safetensors.numpy import load_file

from posegen_core.errors import PoseGenInputError
from posegen_core.poseanything import parts as pp

FIGURES = ("human", "animal")
FRAMES = ("000", "040")
CASES = [(fig, frame) for fig in FIGURES for frame in FRAMES]


# ----------------------------------------------------------------------------------------------------------------
# Golden data (released data preparation on two drawings)
# ----------------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def seg_dir(golden_dir: Path) -> Path:
    """The PoseAnything golden folder sits beside PoseGen's (same lookup as the other golden tests)."""
    return golden_dir.parent / "poseanything_tiny_v1"


@pytest.fixture(scope="module")
def seg_tensors(seg_dir: Path) -> dict[str, np.ndarray]:
    return load_file(str(seg_dir / "segmentation.safetensors"))


def _png(seg_dir: Path, name: str) -> np.ndarray:
    image = cv2.imread(str(seg_dir / "segmentation" / name), cv2.IMREAD_UNCHANGED)
    assert image is not None, name
    return image


def _rgb(seg_dir: Path, name: str) -> np.ndarray:
    """Our callers pass RGB; the released code read the same files as BGR."""
    return cv2.cvtColor(_png(seg_dir, name), cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="module")
def computed(seg_dir: Path) -> dict:
    """Per figure: α, subject mask and both frames' binaries and segmentations, made once."""
    out: dict = {}
    for fig in FIGURES:
        first = pp.binarize_skeleton(_rgb(seg_dir, f"{fig}_skeleton_000.png"))
        subject = pp.subject_mask_from_image(_rgb(seg_dir, f"{fig}_subject_id.png"), first.shape)
        alpha = pp.dilation_count(first, subject)
        out[fig] = {"alpha": alpha, "subject": subject}
        for frame in FRAMES:
            binary = first if frame == "000" else pp.binarize_skeleton(_rgb(seg_dir, f"{fig}_skeleton_{frame}.png"))
            seg = pp.segment_parts(binary, alpha, subject if frame == "000" else None)
            out[fig][frame] = {"binary": binary, "seg": seg}
    return out


@pytest.mark.parametrize("fig", FIGURES)
def test_alpha_matches_golden(fig, computed, seg_tensors):
    assert computed[fig]["alpha"] == int(seg_tensors[f"{fig}/alpha"][0])


@pytest.mark.parametrize("fig", FIGURES)
def test_subject_and_operand_matches_golden(fig, computed, seg_dir):
    subject = computed[fig]["subject"]
    expected = _png(seg_dir, f"{fig}_f000_subject_mask_used.png")
    np.testing.assert_array_equal(subject.and_operand, expected)
    np.testing.assert_array_equal(subject.coverage, expected > 0)


@pytest.mark.parametrize(("fig", "frame"), CASES)
def test_binary_canvas_matches_golden(fig, frame, computed, seg_dir):
    expected = _png(seg_dir, f"{fig}_f{frame}_binary.png")
    assert set(np.unique(expected)) <= {0, 255}
    np.testing.assert_array_equal(computed[fig][frame]["binary"], expected == 255)


@pytest.mark.parametrize(("fig", "frame"), CASES)
def test_thinned_pixels_match_golden(fig, frame, computed, seg_tensors, seg_dir):
    seg = computed[fig][frame]["seg"]
    np.testing.assert_array_equal(seg.thinned_xy, seg_tensors[f"{fig}/frame{frame}/thinned_xy"])
    np.testing.assert_array_equal(seg.thinned, _png(seg_dir, f"{fig}_f{frame}_thinned.png") == 255)


@pytest.mark.parametrize(("fig", "frame"), CASES)
def test_undilated_parts_match_golden(fig, frame, computed, seg_tensors):
    seg = computed[fig][frame]["seg"]
    expected = [seg_tensors[f"{fig}/frame{frame}/part{j}_undilated_xy"]
                for j in range(len(seg_tensors[f"{fig}/frame{frame}/part_nonzero"]))]
    assert seg.n_parts == len(expected)
    for j, (ours, ref) in enumerate(zip(seg.parts_xy, expected, strict=True)):
        assert {tuple(p) for p in ours.tolist()} == {tuple(p) for p in ref.tolist()}, f"part {j}"
        assert len(ours) == len(ref), f"part {j} has duplicate pixels"
    # The golden stores row-major order (it was read back from the dilate inputs, so the released breadth-first
    # order is not observable and no output depends on it).
    for ours, ref in zip(seg.parts_xy_row_major, expected, strict=True):
        np.testing.assert_array_equal(ours, ref)


@pytest.mark.parametrize(("fig", "frame"), CASES)
def test_part_canvases_match_golden(fig, frame, computed, seg_tensors, seg_dir):
    seg = computed[fig][frame]["seg"]
    nonzero = seg_tensors[f"{fig}/frame{frame}/part_nonzero"]
    sums = seg_tensors[f"{fig}/frame{frame}/part_sum"]
    assert seg.n_parts == len(nonzero) == len(sums)
    for j, canvas in enumerate(seg.canvases):
        assert canvas.dtype == np.uint8 and canvas.shape == seg.canvas_hw == (832, 832)
        np.testing.assert_array_equal(canvas, _png(seg_dir, f"{fig}_f{frame}_part{j}.png"), err_msg=f"part {j}")
        assert np.count_nonzero(canvas) == nonzero[j]
        assert int(canvas.sum(dtype=np.int64)) == sums[j]


@pytest.mark.parametrize(("fig", "frame"), CASES)
def test_token_masks_match_golden(fig, frame, computed, seg_tensors):
    seg = computed[fig][frame]["seg"]
    assert seg.grid == (26, 26)
    masks = seg.token_masks()
    assert masks.dtype == np.bool_
    np.testing.assert_array_equal(masks, seg_tensors[f"{fig}/frame{frame}/token_masks"].astype(bool))
    np.testing.assert_array_equal(pp.token_masks(seg.canvases, 26, 26), masks)


@pytest.mark.parametrize("fig", FIGURES)
def test_video_convenience_matches_golden(fig, seg_dir, seg_tensors):
    frames: list[np.ndarray | None] = [None] * 41
    frames[0] = _rgb(seg_dir, f"{fig}_skeleton_000.png")
    frames[40] = _rgb(seg_dir, f"{fig}_skeleton_040.png")
    result = pp.segment_video_parts(frames, _rgb(seg_dir, f"{fig}_subject_id.png"))
    assert result.alpha == int(seg_tensors[f"{fig}/alpha"][0])
    assert result.grid == (26, 26)
    assert result.frame_indices == [0, 40] == seg_tensors[f"{fig}/condition_index"].tolist()
    for masks, frame in zip(result.masks, FRAMES, strict=True):
        np.testing.assert_array_equal(masks, seg_tensors[f"{fig}/frame{frame}/token_masks"].astype(bool))
    np.testing.assert_array_equal(result.first_masks, result.masks[0])


# ----------------------------------------------------------------------------------------------------------------
# Appendix A of docs/method/poseanything.md
# ----------------------------------------------------------------------------------------------------------------

_WHITE = (255, 255, 255)
_GRAY = (60, 60, 60)
_BODY = [((100, 120), (300, 120)), ((300, 120), (340, 70)), ((340, 70), (375, 82)), ((100, 120), (70, 150))]
_LEG_TOPS = [(120, 120), (160, 120), (260, 120), (290, 120)]


def _appendix_skeleton(leg_end_xs: list[int]) -> np.ndarray:
    image = np.zeros((288, 512, 3), np.uint8)
    lines = _BODY[:1] + [(top, (x, 220)) for top, x in zip(_LEG_TOPS, leg_end_xs, strict=True)] + _BODY[1:]
    for start, end in lines:
        cv2.line(image, start, end, _WHITE, 3, cv2.LINE_8)
    return image


def _appendix_id() -> np.ndarray:
    image = np.full((288, 512, 3), 255, np.uint8)
    cv2.ellipse(image, (215, 130), (140, 45), 0, 0, 360, _GRAY, -1)
    cv2.ellipse(image, (330, 90), (45, 30), 0, 0, 360, _GRAY, -1)
    cv2.rectangle(image, (95, 120), (310, 228), _GRAY, -1)
    return image


@pytest.fixture(scope="module")
def appendix() -> dict:
    skel0 = pp.binarize_skeleton(_appendix_skeleton([110, 170, 250, 300]))
    skel1 = pp.binarize_skeleton(_appendix_skeleton([130, 150, 270, 280]))
    subject = pp.subject_mask_from_image(_appendix_id(), skel0.shape)
    alpha = pp.dilation_count(skel0, subject)
    return {"skel0": skel0, "skel1": skel1, "subject": subject, "alpha": alpha,
            "f0": pp.segment_parts(skel0, alpha, subject), "f1": pp.segment_parts(skel1, alpha)}


def test_appendix_a_geometry_and_alpha(appendix):
    assert appendix["skel0"].shape == (448, 832)
    assert appendix["f0"].grid == (26, 14)
    assert int(appendix["f0"].thinned.sum()) == 1132
    assert appendix["alpha"] == 97


def test_appendix_a_raw_part_lengths(appendix):
    raw0 = pp.segment_parts(appendix["skel0"], 0)
    raw1 = pp.segment_parts(appendix["skel1"], 0)
    assert [len(xy) for xy in raw0.parts_xy] == [159, 291, 156, 199, 300]
    assert [len(xy) for xy in raw1.parts_xy] == [159, 297, 150, 197, 298]
    # α = 0 leaves the parts undilated.
    assert [np.count_nonzero(c) for c in raw0.canvases] == [159, 291, 156, 199, 300]


def test_appendix_a_frame0_with_subject(appendix):
    seg = appendix["f0"]
    assert [np.count_nonzero(c) for c in seg.canvases] == [40559, 33595, 39858, 44465, 39504]
    masks = seg.token_masks()
    assert masks.shape == (5, 14, 26)
    assert masks.sum(axis=(1, 2)).tolist() == [37, 33, 41, 43, 39]
    expected = [*range(136, 146), *range(162, 173), *range(189, 198), *range(216, 223)]
    assert np.flatnonzero(masks[0]).tolist() == expected


def test_appendix_a_frame1_without_subject(appendix):
    seg = appendix["f1"]
    assert [np.count_nonzero(c) for c in seg.canvases] == [49823, 67486, 48068, 54013, 74264]
    assert seg.token_masks().sum(axis=(1, 2)).tolist() == [51, 69, 49, 49, 72]


def test_appendix_a_video_convenience(appendix):
    frames = [None] * 81
    frames[0] = _appendix_skeleton([110, 170, 250, 300])
    frames[1] = _appendix_skeleton([130, 150, 270, 280])
    result = pp.segment_video_parts(frames, _appendix_id())
    assert result.alpha == 97 and result.grid == (26, 14) and result.frame_indices == [0, 1]
    np.testing.assert_array_equal(result.masks[0], appendix["f0"].token_masks())
    np.testing.assert_array_equal(result.masks[1], appendix["f1"].token_masks())


# ----------------------------------------------------------------------------------------------------------------
# Sizes and conversions
# ----------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("size", "expected"), [((832, 468), (832, 448)), ((604, 1080), (448, 832)),
                                                ((1920, 1080), (832, 448)), ((512, 288), (832, 448)),
                                                ((128, 128), (832, 832))])
def test_fixed_basis_size_examples(size, expected):
    assert pp.fixed_basis_size(*size) == expected


def test_fixed_basis_size_other_long_side_and_errors():
    assert pp.fixed_basis_size(1920, 1080, long_side=480) == (480, 256)
    with pytest.raises(ValueError):
        pp.fixed_basis_size(0, 10)
    with pytest.raises(ValueError):
        pp.fixed_basis_size(10, 1000)  # width rounds to 0


def test_binarize_uses_rgb_gray_weights():
    """RGB in, gray with the BGR2GRAY-on-BGR weights: (255, 100, 0) is gray 135 (skeleton); read as BGR it is 88."""
    image = np.zeros((64, 64, 3), np.uint8)
    image[10:20] = (255, 100, 0)
    image[30:40] = (0, 100, 255)
    binary = pp.binarize_skeleton(image, long_side=64)
    assert binary[10:20].all() and not binary[30:40].any()
    released = cv2.cvtColor(image[:, :, ::-1].copy(), cv2.COLOR_BGR2GRAY) > 127
    np.testing.assert_array_equal(binary, released)


def test_binarize_accepts_float_gray_and_rgba():
    rgb = np.zeros((40, 64, 3), np.uint8)
    rgb[20, 5:60] = 255
    expected = pp.binarize_skeleton(rgb, long_side=64)
    np.testing.assert_array_equal(pp.binarize_skeleton(rgb.astype(np.float32) / 255.0, long_side=64), expected)
    np.testing.assert_array_equal(pp.binarize_skeleton(rgb[:, :, 0], long_side=64), expected)
    rgba = np.concatenate([rgb, np.zeros((40, 64, 1), np.uint8)], axis=2)
    np.testing.assert_array_equal(pp.binarize_skeleton(rgba, long_side=64), expected)
    assert expected.shape == (32, 64)


# ----------------------------------------------------------------------------------------------------------------
# Subject mask and α
# ----------------------------------------------------------------------------------------------------------------

def test_subject_mask_resize_orders_differ_as_released():
    """A subject image whose basis differs from the canvas: α resizes colour then thresholds, the AND operand
    thresholds then resizes (keeping bilinear in-between values)."""
    image = np.full((60, 100, 3), 255, np.uint8)
    image[20:45, 30:70] = (90, 160, 30)
    canvas_hw = (832, 832)
    subject = pp.subject_mask_from_image(image, canvas_hw)
    bgr = cv2.resize(image[:, :, ::-1].copy(), (832, 480), interpolation=cv2.INTER_LINEAR)
    coverage = cv2.cvtColor(cv2.resize(bgr, (832, 832), interpolation=cv2.INTER_LINEAR), cv2.COLOR_BGR2GRAY) <= 245
    thresholded = np.where(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY) <= 245, 255, 0).astype(np.uint8)
    operand = cv2.resize(thresholded, (832, 832), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(subject.coverage, coverage)
    np.testing.assert_array_equal(subject.and_operand, operand)
    assert len(np.unique(subject.and_operand)) > 2
    # The AND keeps those in-between values on frame 0's canvases.
    skeleton = np.zeros(canvas_hw, bool)
    skeleton[400, 200:600] = True
    seg = pp.segment_parts(skeleton, 200, subject)
    assert seg.n_parts == 1
    np.testing.assert_array_equal(seg.canvases[0], np.where(seg.canvases[0] > 0, operand, 0))
    assert len(np.unique(seg.canvases[0])) > 2


def test_subject_mask_from_comfy_mask():
    mask = np.zeros((1, 60, 100), np.float32)
    mask[0, 20:45, 30:70] = 1.0
    subject = pp.subject_mask_from_mask(mask, (448, 832))
    expected = cv2.resize(mask[0], (832, 448), interpolation=cv2.INTER_LINEAR) > 0.5
    np.testing.assert_array_equal(subject.coverage, expected)
    np.testing.assert_array_equal(subject.and_operand, np.where(expected, 255, 0))
    # Float/bool arrays are MASKs, uint8 arrays are _id.png-style images (white = background).
    assert pp.as_subject_mask(mask[0] > 0.5, (448, 832)).coverage.sum() == expected.sum()
    id_image = np.where(mask[0, :, :, None] > 0.5, 50, 255).astype(np.uint8).repeat(3, axis=2)
    from_id = pp.as_subject_mask(id_image, (448, 832))
    np.testing.assert_array_equal(from_id.coverage, pp.subject_mask_from_image(id_image, (448, 832)).coverage)
    assert from_id.coverage.any() and not from_id.coverage.all()
    assert pp.as_subject_mask(None, (448, 832)) is None


def test_dilation_count_rules():
    skeleton = np.zeros((50, 60), bool)
    skeleton[25, 30] = True
    subject = np.zeros((50, 60), bool)
    assert pp.dilation_count(skeleton, None) == 1
    assert pp.dilation_count(skeleton, subject) == 1  # empty subject
    subject[25, 30] = True
    assert pp.dilation_count(skeleton, subject) == 1  # covered with 0 dilations
    subject[27, 31] = True  # L1 distance 3 from the skeleton pixel
    assert pp.dilation_count(skeleton, subject) == 4
    subject[26, 32] = True  # also L1 distance 3; the cross grows a diamond, not a square
    assert pp.dilation_count(skeleton, subject) == 4
    assert pp.dilation_count(np.zeros_like(skeleton), subject) == 100  # never covered
    far = np.zeros((300, 300), bool)
    far[0, 0] = True
    corner = np.zeros((300, 300), bool)
    corner[299, 299] = True
    assert pp.dilation_count(far, corner) == 100  # needs 598 dilations
    with pytest.raises(ValueError):
        pp.dilation_count(skeleton, np.ones((10, 10), bool))


# ----------------------------------------------------------------------------------------------------------------
# Segmentation steps
# ----------------------------------------------------------------------------------------------------------------

def test_key_points_interior_only_and_found_before_deletion():
    thinned = np.zeros((9, 12), bool)
    thinned[4, 2:10] = True  # horizontal line: endpoints (2, 4) and (9, 4)
    thinned[1:4, 6] = True  # branch up from (6, 4): junction there, endpoint (6, 1)
    thinned[0, 0:3] = True  # touches the border row: its pixels are never key points
    counts = pp.neighbour_counts(thinned)
    assert counts[4, 6] == 3 and counts[4, 2] == 1 and counts[0].sum() == 0
    kept = pp.remove_key_points(thinned)
    removed = {tuple(p) for p in np.argwhere(thinned & ~kept)[:, ::-1].tolist()}
    # The T's centre and its three 8-neighbours on the skeleton all count 3 or 4: a junction cluster.
    assert removed == {(2, 4), (9, 4), (6, 1), (6, 4), (5, 4), (7, 4), (6, 3)}
    # Counts come from the original image: (4, 4) and (6, 2) would be endpoints after the deletion, but stay.
    assert kept[4, 3:5].all() and kept[4, 8] and kept[2, 6] and kept[0, 0:3].all()
    isolated = np.zeros((5, 5), bool)
    isolated[2, 2] = True
    assert pp.remove_key_points(isolated)[2, 2]


def test_split_segments_raster_seeds_bfs_order_and_single_pixels():
    pixels = np.zeros((8, 8), bool)
    pixels[1, 1:4] = True  # an L: (1..3, 1) and (1, 2..3)
    pixels[2:4, 1] = True
    pixels[1, 6] = True  # single pixel, seeded before the L is finished in raster order: dropped
    pixels[5, 5] = True  # diagonal pair (5, 5)-(6, 6): 8-connected, kept
    pixels[6, 6] = True
    segments = pp.split_segments(pixels)
    assert len(segments) == 2
    # Breadth-first from the raster-first pixel, neighbours visited in raster order of their offsets.
    assert segments[0].tolist() == [[1, 1], [2, 1], [1, 2], [3, 1], [1, 3]]
    assert segments[1].tolist() == [[5, 5], [6, 6]]


def _row(x0: int, n: int, y: int = 0) -> np.ndarray:
    return np.array([[x, y] for x in range(x0, x0 + n)], np.int32)


def test_merge_smallest_into_nearest_earliest_on_ties():
    a, b, c = _row(0, 25), _row(100, 30), _row(159, 30)
    small = np.array([[144, 0], [144, 1]], np.int32)  # distance 15 to both b and c
    merged = pp.merge_segments([a, b, small, c])
    assert [len(p) for p in merged] == [25, 32, 30]
    np.testing.assert_array_equal(merged[1][-2:], small)  # appended after the target's pixels
    merged = pp.merge_segments([a, c, small, b])
    assert [len(p) for p in merged] == [25, 32, 30]  # now c is the earlier one
    np.testing.assert_array_equal(merged[1][:30], c)
    # A lone segment stays, however short.
    lone = pp.merge_segments([_row(0, 2)])
    assert len(lone) == 1 and len(lone[0]) == 2
    assert pp.merge_segments([]) == []


def test_merge_reduces_to_max_parts():
    segments = [_row(40 * i, 30) for i in range(8)]  # 8 × 30 pixels
    merged = pp.merge_segments(segments, max_parts=5)
    assert len(merged) == 5 and sum(len(p) for p in merged) == 240
    assert all(len(p) >= 20 for p in merged)


def test_nearest_segment_is_exact_when_chunked(monkeypatch):
    rng = np.random.default_rng(0)
    segs = [rng.integers(0, 800, size=(n, 2)).astype(np.int32) for n in (300, 400, 350, 280)]

    def brute(i: int, j: int) -> int:
        diff = segs[i][:, None, :].astype(np.int64) - segs[j][None, :, :].astype(np.int64)
        return int((diff * diff).sum(axis=2).min())

    expected = min((j for j in range(1, 4)), key=lambda j: (brute(0, j), j))
    monkeypatch.setattr(pp, "_DISTANCE_BLOCK", 1000)  # forces many blocks
    assert pp.nearest_segment(segs, 0) == expected


def test_empty_skeleton_gives_zero_parts():
    seg = pp.segment_parts(np.zeros((448, 832), bool), 5)
    assert seg.n_parts == 0 and seg.canvases == [] and seg.thinned_xy.shape == (0, 2)
    assert seg.token_masks().shape == (0, 14, 26)
    assert pp.token_masks([], 26, 14).shape == (0, 14, 26)


# ----------------------------------------------------------------------------------------------------------------
# Whole video
# ----------------------------------------------------------------------------------------------------------------

def _stick_frame(offset: int = 0) -> np.ndarray:
    image = np.zeros((288, 512, 3), np.uint8)
    cv2.line(image, (100, 100 + offset), (400, 100 + offset), _WHITE, 3, cv2.LINE_8)
    cv2.line(image, (250, 100 + offset), (250, 250), _WHITE, 3, cv2.LINE_8)
    return image


def test_video_frame0_without_parts_raises_input_error():
    frames = [np.zeros((288, 512, 3), np.uint8), _stick_frame()]
    with pytest.raises(PoseGenInputError) as info:
        pp.segment_video_parts(frames, input_name="skeletons")
    assert info.value.input_name == "skeletons" and str(info.value).startswith("skeletons:")
    with pytest.raises(PoseGenInputError, match="frame 0"):
        pp.segment_video_parts([None, _stick_frame()], input_name="skeletons")
    with pytest.raises(PoseGenInputError, match="frame 1 cannot be used"):
        pp.segment_video_parts([_stick_frame(), np.zeros((288, 512, 2), np.uint8)], input_name="skeletons")


def test_video_later_empty_frame_gives_empty_part_list_and_alpha_one_without_subject():
    result = pp.segment_video_parts([_stick_frame(), None, np.zeros((288, 512, 3), np.uint8)])
    assert result.alpha == 1 and result.frame_indices == [0, 2]
    assert result.part_counts[0] >= 1 and result.part_counts[1] == 0
    assert result.masks[1].shape == (0, 14, 26)


def test_video_generation_grid_override():
    """grid = the generation size's token grid resamples the 832-basis canvases; None keeps the released grid."""
    frames = [_stick_frame(), _stick_frame(10)]
    mask = np.zeros((288, 512), np.float32)
    mask[80:260, 90:420] = 1.0
    released = pp.segment_video_parts(frames, mask)
    assert released.grid == (26, 14)
    same = pp.segment_video_parts(frames, mask, grid=(26, 14))
    for a, b in zip(released.masks, same.masks, strict=True):
        np.testing.assert_array_equal(a, b)
    small = pp.segment_video_parts(frames, mask, grid=(16, 8))  # a 512×256 generation
    assert small.grid == (16, 8) and small.alpha == released.alpha
    first = pp.binarize_skeleton(frames[0])
    subject = pp.subject_mask_from_mask(mask, first.shape)
    seg = pp.segment_parts(first, released.alpha, subject)
    np.testing.assert_array_equal(small.masks[0], pp.token_masks(seg.canvases, 16, 8))
    assert [m.shape[1:] for m in small.masks] == [(8, 16), (8, 16)]
