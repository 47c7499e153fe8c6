"""Foreground masks for KV sharing: PoseGen's golden masks bit for bit, and the pose / user mask alternatives."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from posegen_core.errors import PoseGenInputError
from posegen_core.longvideo.masks import (
    BlockMapAverager,
    ForegroundMaskTracker,
    blocks_included,
    keyword_attention_map,
    latent_frame_groups,
    normalize_per_frame,
    normalized_keyword_map,
    otsu_threshold,
    otsu_token_mask,
    pose_token_masks,
    tokens_from_grid,
    union_mask,
    user_token_masks,
)
from posegen_core.poses.sequence import PoseSequence
from posegen_core.poses.skeletons import HUMAN

GRID = (3, 4, 6)  # tiny model: f x h x w tokens
HEADS = 2
MAX_BLOCK = 1
SHARED_BLOCKS = (1, 2)


def posegen_compute_attn_map(q: torch.Tensor, k: torch.Tensor, token_indices: list[int], num_heads: int,
                             grid: tuple[int, int, int]) -> torch.Tensor:
    """PoseGen's formula as docs/method/posegen.md §6.2 states it (all logits per head, head mean, keyword
    columns summed)."""
    b, n, d = q.shape
    hd = d // num_heads
    qh = q.view(b, n, num_heads, hd).transpose(1, 2)
    kh = k.view(b, -1, num_heads, hd).transpose(1, 2)
    logits = (qh @ kh.transpose(-1, -2) / math.sqrt(hd)).mean(dim=1)  # [b, n, L]
    return logits[..., token_indices].sum(dim=-1).reshape(b, *grid)


@pytest.fixture(scope="module")
def golden(golden_tensors):
    names = ("anchor_kv", "kvshare_masks", "sampling", "inputs")
    return {name: golden_tensors(f"{name}.safetensors") for name in names}


def token_indices(golden) -> list[int]:
    return golden["inputs"]["token_indices"].tolist()


# --- keyword maps ----------------------------------------------------------------------------------------------


def test_reference_formula_reproduces_posegens_anchor_maps_exactly(golden):
    # pins down what "PoseGen's compute_attn_map + normalize_attn_map" is, so the comparison below is meaningful
    kv, masks = golden["anchor_kv"], golden["kvshare_masks"]
    for block in (0, 1):
        raw = posegen_compute_attn_map(kv[f"ca_positive/step0_block{block}_q"], kv[f"ca_positive/step0_block{block}_k"],
                                       token_indices(golden), HEADS, GRID)
        assert torch.equal(normalize_per_frame(raw), masks[f"prev_map_anchor/step0_block{block}"])


@pytest.mark.parametrize("block", [0, 1, 2])
def test_keyword_map_matches_full_logits_then_column_pick(golden, block):
    kv = golden["anchor_kv"]
    q, k = kv[f"ca_positive/step0_block{block}_q"], kv[f"ca_positive/step0_block{block}_k"]
    idx = token_indices(golden)
    got = keyword_attention_map(q, k[:, idx], HEADS, GRID)
    want = posegen_compute_attn_map(q, k, idx, HEADS, GRID)
    assert got.shape == (1, *GRID) and got.dtype == torch.float32
    torch.testing.assert_close(got, want, rtol=0, atol=1e-5)
    if block <= MAX_BLOCK:
        stored = golden["kvshare_masks"][f"prev_map_anchor/step0_block{block}"]
        torch.testing.assert_close(normalized_keyword_map(q, k, idx, HEADS, GRID), stored, rtol=0, atol=1e-6)


def test_keyword_map_of_several_columns_is_the_sum_of_single_columns(golden):
    kv = golden["anchor_kv"]
    q, k = kv["ca_positive/step0_block1_q"], kv["ca_positive/step0_block1_k"]
    cols = [2, 5, 9]
    together = keyword_attention_map(q, k[:, cols], HEADS, GRID)
    apart = sum(keyword_attention_map(q, k[:, [c]], HEADS, GRID) for c in cols)
    torch.testing.assert_close(together, apart, rtol=0, atol=1e-5)
    torch.testing.assert_close(together, posegen_compute_attn_map(q, k, cols, HEADS, GRID), rtol=0, atol=1e-5)


def test_keyword_map_batches_broadcasts_keys_and_upcasts_bf16(golden):
    kv = golden["anchor_kv"]
    q, k = kv["ca_positive/step0_block0_q"], kv["ca_positive/step0_block0_k"][:, [5]]
    batched = keyword_attention_map(torch.cat([q, 2 * q]), k, HEADS, GRID)  # one keyword key for both items
    single = keyword_attention_map(q, k, HEADS, GRID)
    torch.testing.assert_close(batched[0], single[0], rtol=0, atol=1e-6)  # BLAS may round per batch size
    torch.testing.assert_close(batched[1], 2 * single[0], rtol=1e-6, atol=1e-6)
    low = keyword_attention_map(q.bfloat16(), k.bfloat16(), HEADS, GRID)
    assert low.dtype == torch.float32
    torch.testing.assert_close(low, single, rtol=0, atol=0.05)


def test_keyword_map_rejects_mismatched_shapes():
    q = torch.zeros(1, 72, 64)
    with pytest.raises(ValueError, match="grid"):
        keyword_attention_map(q, torch.zeros(1, 1, 64), 2, (3, 4, 5))
    with pytest.raises(ValueError, match="heads"):
        keyword_attention_map(q, torch.zeros(1, 1, 64), 3, GRID)
    with pytest.raises(ValueError, match="k_keyword"):
        keyword_attention_map(q, torch.zeros(1, 1, 32), 2, GRID)
    with pytest.raises(ValueError, match="token_indices"):
        normalized_keyword_map(q, torch.zeros(1, 16, 64), [16], 2, GRID)


def test_normalize_per_frame_is_min_max_per_latent_frame():
    maps = torch.stack([torch.arange(24.0).reshape(4, 6), torch.full((4, 6), 3.0), -torch.arange(24.0).reshape(4, 6)])
    out = normalize_per_frame(maps[None])
    assert out.shape == (1, 3, 4, 6)
    assert out[0, 0, 0, 0] == 0 and abs(out[0, 0, -1, -1].item() - 23 / (23 + 1e-6)) < 1e-7
    assert torch.equal(out[0, 1], torch.zeros(4, 6))  # constant frame -> all 0
    assert out[0, 2, 0, 0] == out[0, 0, -1, -1] and out[0, 2, -1, -1] == 0


# --- block averaging and inclusion rules -----------------------------------------------------------------------


def test_block_averager_prefix_means():
    avg = BlockMapAverager()
    maps = [torch.rand(1, *GRID) for _ in range(3)]
    for m in maps:
        avg.add(m)
    assert avg.count == 3
    assert torch.equal(avg.mean(1), maps[0])
    assert torch.equal(avg.mean(2), (maps[0] + maps[1]) / 2)
    assert torch.equal(avg.mean(), (maps[0] + maps[1] + maps[2]) / 3)  # summed in block order, then divided
    with pytest.raises(ValueError, match="4 blocks"):
        avg.mean(4)
    with pytest.raises(ValueError, match="shape"):
        avg.add(torch.rand(1, 2, 4, 6))


def test_inclusion_rules():
    # prev (anchor) includes the shared block itself, curr only earlier ones; both capped at max_block_idx
    assert [blocks_included(b, "prev", 1) for b in (0, 1, 2, 39)] == [1, 2, 2, 2]
    assert [blocks_included(b, "curr", 1) for b in (1, 2, 3, 39)] == [1, 2, 2, 2]
    assert blocks_included(34, "curr", 10) == blocks_included(34, "prev", 10) == 11  # PoseGen's defaults
    with pytest.raises(ValueError, match="block 0"):
        blocks_included(0, "curr", 10)
    with pytest.raises(ValueError, match="kind"):
        blocks_included(3, "both", 10)  # type: ignore[arg-type]


def test_golden_block_averages_follow_the_inclusion_rules(golden):
    masks = golden["kvshare_masks"]
    tracker = ForegroundMaskTracker(MAX_BLOCK)
    for block in (0, 1):
        tracker.add(0, block, masks[f"prev_map_anchor/step0_block{block}"], "prev")
        tracker.add(0, block, masks[f"curr_map_positive/step0_block{block}"], "curr")
    for block in SHARED_BLOCKS:
        for kind, name in (("prev", "prev_anchor"), ("curr", "curr")):
            want = masks[f"otsu/step0_block{block}_positive_{name}_avgmap"]
            assert torch.equal(tracker.average(0, block, kind)[0], want), (block, kind)


# --- Otsu ---------------------------------------------------------------------------------------------------------


def _otsu_cases(golden):
    for file, prefix in (("kvshare_masks", "otsu/"), ("sampling", "base_otsu/")):
        tensors = golden[file]
        for key in sorted(tensors):
            if key.startswith(prefix) and key.endswith("_avgmap"):
                yield key, tensors[key], tensors[key[:-len("avgmap")] + "mask"], tensors[
                    key[:-len("avgmap")] + "threshold"]


def test_otsu_reproduces_every_golden_mask_and_threshold_bit_for_bit(golden):
    cases = list(_otsu_cases(golden))
    assert len(cases) == 4 + 16
    for key, avgmap, mask, threshold in cases:
        got_mask, got_threshold = otsu_threshold(avgmap)
        assert got_mask.dtype == torch.uint8 and got_threshold.dtype == torch.float32
        assert torch.equal(got_mask, mask), key
        assert torch.equal(got_threshold, threshold), key


def test_otsu_constant_frame_gives_threshold_of_bin_zero():
    # all values in one bin: sigma^2 = 0 at every bin (omega0 or omega1 is 0), the first argmax is bin 0, so the
    # threshold is its centre 1/512 and the mask is "value > 1/512"
    images = torch.stack([torch.zeros(4, 6), torch.full((4, 6), 0.5), torch.ones(4, 6), torch.full((4, 6), 0.001)])
    mask, threshold = otsu_threshold(images)
    assert torch.equal(threshold, torch.full((4,), 1 / 512))
    assert mask.flatten(1).all(dim=1).tolist() == [False, True, True, False]
    assert mask.flatten(1).any(dim=1).tolist() == [False, True, True, False]
    # a normalised constant frame is all 0, hence all background
    mask, _ = otsu_threshold(normalize_per_frame(torch.full((1, 4, 6), 7.0)))
    assert not mask.any()


def test_otsu_exact_zero_and_one_and_out_of_range():
    image = torch.zeros(4, 6)
    image[:2] = 1.0  # exactly 1 goes to the last bin (histc includes max)
    mask, threshold = otsu_threshold(image[None])
    # two spikes at bins 0 and 255: sigma^2 is equal on bins 0..254, the first wins
    assert threshold.item() == 1 / 512
    assert torch.equal(mask[0], (image > 0).to(torch.uint8))
    # out-of-range values are not counted in the histogram but are still thresholded
    wild = image.clone()
    wild[0, 0], wild[3, 5] = 1.5, -0.5
    mask2, threshold2 = otsu_threshold(wild[None])
    assert threshold2.item() == 1 / 512
    assert mask2[0, 0, 0] == 1 and mask2[0, 3, 5] == 0


def test_otsu_two_clusters_and_the_bin_centre_quirk():
    image = torch.full((4, 6), 0.099)  # bin 25 (0.099 * 256 = 25.3), below its centre 25.5/256 = 0.0996
    image[1:3, 2:5] = 0.9
    mask, threshold = otsu_threshold(image[None].double())  # float64 in: upcast to float32 like PoseGen
    # every split between the clusters has the same variance; the first, at the lower cluster's bin, wins
    assert threshold.item() == 25.5 / 256
    assert torch.equal(mask[0].bool(), image > 0.5)
    # PoseGen's quirk: the pixel test uses the winning bin's centre, so values in the upper half of that bin count
    # as foreground even though Otsu's split put their bin in the background class
    image[image < 0.5] = 0.1  # still bin 25, now above its centre
    mask, threshold = otsu_threshold(image[None])
    assert threshold.item() == 25.5 / 256 and mask.all()
    with pytest.raises(ValueError, match="frames"):
        otsu_threshold(image)


# --- token masks against the golden ---------------------------------------------------------------------------


def test_tokens_from_grid_and_union():
    grid = torch.arange(72).reshape(3, 4, 6)
    assert torch.equal(tokens_from_grid(grid), torch.arange(72)[None])  # (f, h, w) order
    assert tokens_from_grid(grid[None].repeat(2, 1, 1, 1)).shape == (2, 72)
    a = torch.tensor([[0, 1, 0, 1]], dtype=torch.uint8)
    b = torch.tensor([[0, 0, 1, 1]], dtype=torch.uint8)
    assert union_mask(a, b).tolist() == [[0, 1, 1, 1]] and union_mask(a, b).dtype == torch.uint8
    with pytest.raises(ValueError, match="shape"):
        union_mask(a, b[:, :3])


def _anchor_tracker(golden, qk: dict, steps: tuple[int, ...], prefix: str) -> ForegroundMaskTracker:
    tracker = ForegroundMaskTracker(MAX_BLOCK)
    for step in steps:
        for block in range(MAX_BLOCK + 1):
            assert tracker.needs_map(block)
            q, k = qk[f"{prefix}step{step}_block{block}_q"], qk[f"{prefix}step{step}_block{block}_k"]
            tracker.add(step, block, normalized_keyword_map(q, k, token_indices(golden), HEADS, GRID), "prev")
    assert not tracker.needs_map(MAX_BLOCK + 1)
    return tracker


def test_kvshare_masks_recomputed_from_anchor_qk_and_curr_maps(golden):
    masks = golden["kvshare_masks"]
    tracker = _anchor_tracker(golden, golden["anchor_kv"], (0,), "ca_positive/")
    for block in (0, 1):
        tracker.add(0, block, masks[f"curr_map_positive/step0_block{block}"], "curr")
    for block in SHARED_BLOCKS:
        # prev averages come from recomputed maps: equal to float rounding, masks exactly
        torch.testing.assert_close(tracker.average(0, block, "prev")[0],
                                   masks[f"otsu/step0_block{block}_positive_prev_anchor_avgmap"], rtol=0, atol=1e-6)
        prev = tracker.mask(0, block, "prev")
        assert torch.equal(prev, masks[f"prev/step0_block{block}_anchor_fg_mask_tokens"])
        assert torch.equal(prev, tokens_from_grid(masks[f"otsu/step0_block{block}_positive_prev_anchor_mask"]))
        curr = tracker.mask(0, block, "curr")
        assert torch.equal(curr, tokens_from_grid(masks[f"otsu/step0_block{block}_positive_curr_mask"]))
        union = tracker.union(0, block)
        assert union.dtype == torch.uint8 and union.shape == (1, 72)
        assert torch.equal(union, masks[f"union/step0_block{block}_fg_mask_tokens"])
    # the README's counts
    assert [int(tracker.mask(0, b, "prev").sum()) for b in SHARED_BLOCKS] == [34, 34]
    assert [int(tracker.union(0, b).sum()) for b in SHARED_BLOCKS] == [57, 62]


def test_sampling_run_masks_from_anchor_qk_and_base_curr_maps(golden):
    s = golden["sampling"]
    tracker = _anchor_tracker(golden, s, (0, 1), "anch_qkv/ca_positive/")
    for step in (0, 1):
        for block in (0, 1):
            tracker.add(step, block, s[f"base_curr_maps/step{step}_block{block}"], "curr")
        for block in SHARED_BLOCKS:
            for cfg in ("positive", "negative"):  # PoseGen's negative pass reuses the positive maps
                key = f"base_otsu/step{step}_block{block}_{cfg}"
                assert torch.equal(tracker.average(step, block, "curr")[0], s[f"{key}_curr_avgmap"])
                torch.testing.assert_close(tracker.average(step, block, "prev")[0], s[f"{key}_prev_anchor_avgmap"],
                                           rtol=0, atol=1e-6)
                assert torch.equal(tracker.mask(step, block, "curr"), tokens_from_grid(s[f"{key}_curr_mask"]))
                assert torch.equal(tracker.mask(step, block, "prev"), tokens_from_grid(s[f"{key}_prev_anchor_mask"]))


def test_tracker_rules_and_errors(golden):
    masks = golden["kvshare_masks"]
    tracker = ForegroundMaskTracker(MAX_BLOCK)
    tracker.add(0, 0, masks["curr_map_positive/step0_block0"])  # "curr" by default
    with pytest.raises(ValueError, match="order"):
        tracker.add(0, 0, masks["curr_map_positive/step0_block0"])  # twice
    with pytest.raises(ValueError, match="does not feed"):
        tracker.add(0, 2, masks["curr_map_positive/step0_block0"])
    with pytest.raises(ValueError, match="block 0"):
        tracker.mask(0, 0, "curr")
    # block 1 needs curr block 0 (there) and prev blocks 0..1 (missing)
    assert tracker.mask(0, 1, "curr").shape == (1, 72)
    with pytest.raises(ValueError, match="blocks 0..1"):
        tracker.union(0, 1)
    with pytest.raises(ValueError, match="blocks 0..1"):
        tracker.mask(0, 2, "curr")
    assert len(tracker.maps(0, "curr")) == 1 and tracker.maps(0, "prev") == ()
    # anchor maps handed over from another tracker
    anchor = _anchor_tracker(golden, golden["anchor_kv"], (0,), "ca_positive/")
    for block, m in enumerate(anchor.maps(0, "prev")):
        tracker.add(0, block, m, "prev")
    tracker.add(0, 1, masks["curr_map_positive/step0_block1"])
    assert torch.equal(tracker.union(0, 2), masks["union/step0_block2_fg_mask_tokens"])
    tracker.clear(0)
    with pytest.raises(ValueError, match="were added"):
        tracker.average(0, 2, "curr")


def test_otsu_token_mask_thresholds_each_batch_item_separately():
    a = torch.rand(3, 4, 6)
    b = 1 - a
    out = otsu_token_mask(torch.stack([a, b]))
    assert out.shape == (2, 72)
    assert torch.equal(out[0], tokens_from_grid(otsu_threshold(a)[0])[0])
    assert torch.equal(out[1], tokens_from_grid(otsu_threshold(b)[0])[0])


# --- pose masks ---------------------------------------------------------------------------------------------------

W, H = 96, 160  # canvas: 6 x 10 tokens of 16 px
POSE_GRID = (3, 10, 6)  # 9 pixel frames


def _seq(frames: int = 9, people: int = 1) -> np.ndarray:
    return np.zeros((frames, people, HUMAN.num_keypoints, 3), dtype=np.float32)


def _limb(kp: np.ndarray, frame: int, x: float = 40.0, y0: float = 40.0, y1: float = 120.0) -> None:
    # a right upper arm alone: no torso, so the radius comes from the box fallback (0.2 * 0.3 * 80 = 4.8 px)
    kp[frame, 0, HUMAN.index("right_shoulder")] = (x, y0, 1.0)
    kp[frame, 0, HUMAN.index("right_elbow")] = (x, y1, 1.0)


def _expected_limb_tokens() -> torch.Tensor:
    want = torch.zeros(10, 6, dtype=torch.bool)
    want[2:8, 2] = True  # x 35.2..44.8 -> column 2; y 35.2..124.8 -> rows 2..7
    return want


def test_vertical_limb_in_frame_5_marks_latent_frame_2_only():
    kp = _seq()
    _limb(kp, 5)
    out = pose_token_masks(PoseSequence(HUMAN, kp, W, H), np.arange(9), POSE_GRID, (W, H))
    assert out.dtype == torch.bool and out.shape == POSE_GRID
    assert not out[0].any() and not out[1].any()
    assert torch.equal(out[2], _expected_limb_tokens())


@pytest.mark.parametrize(("frame", "latent"), [(0, 0), (1, 1), (4, 1), (5, 2), (8, 2)])
def test_latent_grouping_frame_zero_alone(frame, latent):
    kp = _seq()
    _limb(kp, frame)
    out = pose_token_masks(PoseSequence(HUMAN, kp, W, H), np.arange(9), POSE_GRID, (W, H))
    assert [bool(out[t].any()) for t in range(3)] == [t == latent for t in range(3)]


def test_frame_indices_pick_the_chunks_frames():
    kp = _seq(frames=30)
    _limb(kp, 15)
    seq = PoseSequence(HUMAN, kp, W, H)
    out = pose_token_masks(seq, np.arange(10, 19), POSE_GRID, (W, H))  # frame 15 is chunk position 5
    assert torch.equal(out[2], _expected_limb_tokens()) and not out[:2].any()
    # mirror padding repeats frames; a repeated frame lands in every latent frame it is used in
    out = pose_token_masks(seq, np.array([15, 1, 2, 3, 4, 5, 6, 7, 8]), POSE_GRID, (W, H))
    assert out[0].any() and not out[1:].any()


def test_dilation_grows_the_mask():
    kp = _seq()
    _limb(kp, 5)
    seq = PoseSequence(HUMAN, kp, W, H)
    plain = pose_token_masks(seq, np.arange(9), POSE_GRID, (W, H), dilation_px=0.0)
    assert torch.equal(plain, pose_token_masks(seq, np.arange(9), POSE_GRID, (W, H)))
    grown = pose_token_masks(seq, np.arange(9), POSE_GRID, (W, H), dilation_px=16.0)
    assert torch.equal(grown & plain, plain) and grown.sum() > plain.sum()
    want = torch.zeros(10, 6, dtype=torch.bool)
    want[1:9, 1:4] = True  # 16 px more: x 19.2..60.8 -> columns 1..3; y 19.2..140.8 -> rows 1..8
    assert torch.equal(grown[2], want)
    with pytest.raises(ValueError, match="dilation"):
        pose_token_masks(seq, np.arange(9), POSE_GRID, (W, H), dilation_px=-1.0)


def test_empty_frames_and_no_people_are_background():
    kp = _seq(people=2)
    kp[3, 1, HUMAN.index("neck")] = (50.0, 50.0, 0.2)  # below the confidence floor
    out = pose_token_masks(PoseSequence(HUMAN, kp, W, H), np.arange(9), POSE_GRID, (W, H), dilation_px=8.0)
    assert not out.any()
    none = np.zeros((9, 0, HUMAN.num_keypoints, 3), dtype=np.float32)
    assert not pose_token_masks(PoseSequence(HUMAN, none, W, H), np.arange(9), POSE_GRID, (W, H)).any()


def _person(cx: float, top: float, torso: float) -> np.ndarray:
    """A frontal standing person: neck at (cx, top), torso length ``torso``."""
    kp = np.zeros((HUMAN.num_keypoints, 3), dtype=np.float32)
    s = torso
    points = {"nose": (0, -0.35 * s), "neck": (0, 0), "right_shoulder": (-0.4 * s, 0), "left_shoulder": (0.4 * s, 0),
              "right_elbow": (-0.45 * s, 0.6 * s), "left_elbow": (0.45 * s, 0.6 * s),
              "right_wrist": (-0.5 * s, 1.1 * s), "left_wrist": (0.5 * s, 1.1 * s), "right_hip": (-0.2 * s, s),
              "left_hip": (0.2 * s, s), "right_knee": (-0.2 * s, 1.5 * s), "left_knee": (0.2 * s, 1.5 * s),
              "right_ankle": (-0.2 * s, 2.0 * s), "left_ankle": (0.2 * s, 2.0 * s)}
    for name, (dx, dy) in points.items():
        kp[HUMAN.index(name)] = (cx + dx, top + dy, 1.0)
    return kp


def test_full_person_covers_trunk_head_and_limbs_and_scales_with_size():
    width, height = 640, 640
    grid = (1, 40, 40)
    kp = np.zeros((1, 1, HUMAN.num_keypoints, 3), dtype=np.float32)
    kp[0, 0] = _person(320, 120, 160)
    out = pose_token_masks(PoseSequence(HUMAN, kp, width, height), np.arange(1), grid, (width, height))[0]

    def token(x: float, y: float) -> bool:
        return bool(out[int(y) // 16, int(x) // 16])

    assert token(320, 200)  # middle of the trunk (inside the hull, away from every limb line)
    assert token(320, 120 - 0.35 * 160 - 0.25 * 160)  # above the nose: head disc
    assert token(320 - 0.5 * 160 - 20, 120 + 1.1 * 160)  # beside the right wrist, within the limb radius
    assert not token(40, 40) and not token(600, 600)  # far away
    # a person twice the size gets proportionally thicker limbs: more than twice the tokens in one dimension
    kp2 = np.zeros_like(kp)
    kp2[0, 0] = _person(320, 60, 80)
    small = pose_token_masks(PoseSequence(HUMAN, kp2, width, height), np.arange(1), grid, (width, height))[0]
    assert 2 * small.sum() < out.sum()


def test_pose_masks_validate_inputs():
    seq = PoseSequence(HUMAN, _seq(), W, H)
    with pytest.raises(ValueError, match="4k\\+1"):
        pose_token_masks(seq, np.arange(8), POSE_GRID, (W, H))
    with pytest.raises(ValueError, match="latent frames"):
        pose_token_masks(seq, np.arange(5), POSE_GRID, (W, H))
    with pytest.raises(ValueError, match="frame_indices"):
        pose_token_masks(seq, np.arange(1, 10), POSE_GRID, (W, H))
    with pytest.raises(ValueError, match="canvas"):
        pose_token_masks(seq, np.arange(9), POSE_GRID, (W * 2, H))
    with pytest.raises(ValueError, match="token grid"):
        pose_token_masks(seq, np.arange(9), (3, 7, 6), (W, H))


def test_huge_coordinates_do_not_break_drawing():
    kp = _seq()
    kp[5, 0, HUMAN.index("right_shoulder")] = (40.0, 40.0, 1.0)
    kp[5, 0, HUMAN.index("right_elbow")] = (40.0, 1e12, 1.0)
    out = pose_token_masks(PoseSequence(HUMAN, kp, W, H), np.arange(9), POSE_GRID, (W, H))
    assert out[2, 3:, 2].all() and not out[:2].any()


def test_latent_frame_groups():
    assert [list(g) for g in latent_frame_groups(9)] == [[0], [1, 2, 3, 4], [5, 6, 7, 8]]
    assert len(latent_frame_groups(81)) == 21
    with pytest.raises(ValueError, match="4k\\+1"):
        latent_frame_groups(10)


# --- user masks ---------------------------------------------------------------------------------------------------


def test_user_masks_threshold_grouping_and_pooling():
    masks = torch.zeros(12, H, W)
    masks[6, 40, 40] = 0.5  # at the threshold: foreground; chunk position 5 -> latent 2
    masks[7, 100, 90] = 0.49  # below: background
    masks[3, 0:16, 0:16] = 1.0  # chunk position 2 -> latent 1
    masks[1, 159, 95] = 0.9  # chunk position 0 -> latent 0, the last token
    out = user_token_masks(masks, np.arange(1, 10), POSE_GRID)
    assert out.dtype == torch.bool and out.shape == POSE_GRID
    want = torch.zeros(POSE_GRID, dtype=torch.bool)
    want[0, 9, 5] = True
    want[1, 0, 0] = True
    want[2, 2, 2] = True
    assert torch.equal(out, want)
    # masks at a coarser size that divides the grid: each token covers 2 x 2 mask pixels
    coarse = torch.zeros(9, 20, 12)
    coarse[0, 19, 11] = 1.0
    assert user_token_masks(coarse, np.arange(9), POSE_GRID)[0, 9, 5]


def test_user_masks_errors_name_masks():
    with pytest.raises(PoseGenInputError, match="^masks: 8 mask frame"):
        user_token_masks(torch.zeros(8, H, W), np.arange(9), POSE_GRID)
    with pytest.raises(PoseGenInputError, match="^masks:"):
        user_token_masks(torch.zeros(9, H, W + 1), np.arange(9), POSE_GRID)
    with pytest.raises(PoseGenInputError, match="^masks:"):
        user_token_masks(torch.zeros(9, H, W, 1), np.arange(9), POSE_GRID)
    with pytest.raises(ValueError, match="latent frames"):
        user_token_masks(torch.zeros(9, H, W), np.arange(5), POSE_GRID)
