"""PTCM part matching (posegen_core.poseanything.correspondence) against PoseAnything's golden pre-pass
(poseanything_tiny_v1: released union masks and decisions, the harness's 'fixed' variant) and against synthetic
attention whose picks are known, for the slot provenance of spec Appendix B and the edge cases of §3.5."""

from __future__ import annotations

import math

import pytest
import torch
from safetensors.torch import load_file

from posegen_core.errors import PoseGenInputError
from posegen_core.poseanything.correspondence import match_parts

from ..conftest import golden_root

GOLDEN = "poseanything_tiny_v1"
T = 21  # latent frames of an 81-frame video


@pytest.fixture(scope="module")
def golden() -> dict[str, torch.Tensor]:
    folder = golden_root() / GOLDEN
    tensors = dict(load_file(str(folder / "inputs.safetensors")))
    tensors.update(load_file(str(folder / "prepass_ptcm.safetensors")))
    return tensors


def _golden_masks(golden: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[int, torch.Tensor]]:
    """First-frame masks and {pixel frame: part masks}; row n of binary_masks belongs to condition_index[n]."""
    masks = golden["binary_masks"].bool()
    counts = golden["binary_masks_count"].tolist()
    frames = {int(f): masks[n, : counts[n]] for n, f in enumerate(golden["condition_index"].tolist())}
    return frames[0], frames


def _same_with_nan(a: torch.Tensor, b: torch.Tensor) -> bool:
    return torch.equal(torch.isnan(a), torch.isnan(b)) and torch.equal(a.nan_to_num(0.0), b.nan_to_num(0.0))


@pytest.mark.parametrize(("mode", "prefix"), [("released", "prepass"), ("fixed", "harness_fixed")])
def test_golden_union_masks_and_decisions(golden, mode, prefix):
    first, frames = _golden_masks(golden)
    assert torch.equal(first, golden["prepass/first_masks"].bool())
    result = match_parts(golden["prepass/attn_head_sum"], first, frames, latent_frames=T, mode=mode)

    assert result.union_mask.dtype == torch.bool
    assert torch.equal(result.union_mask, golden[f"{prefix}/union_mask"].bool())
    assert torch.equal(result.rows(), golden[f"{prefix}/match_rows"])
    # float32 means over the same blocks: the scores agree bit for bit (NaN = empty or padding).
    assert _same_with_nan(result.score_table(width=5), golden[f"{prefix}/match_scores"])


def test_golden_skips_the_empty_part_list(golden):
    """Frame 33 is posed but drawn black (no parts): no decision mentions it."""
    first, frames = _golden_masks(golden)
    assert frames[33].shape[0] == 0
    result = match_parts(golden["prepass/attn_head_sum"], first, frames, latent_frames=T)
    assert 33 not in {d.pixel_frame for d in result.decisions}


def test_golden_accepts_unbatched_attention(golden):
    first, frames = _golden_masks(golden)
    batched = match_parts(golden["prepass/attn_head_sum"], first, frames, latent_frames=T)
    plain = match_parts(golden["prepass/attn_head_sum"][0], first, frames, latent_frames=T)
    assert torch.equal(batched.union_mask, plain.union_mask)


# ---------------------------------------------------------------------------------------------------------------
# Synthetic attention with known picks. Grid 3×34 = 102 tokens: token f (< 81) marks pixel frame f, token 81+k marks
# key latent frame k. Candidate t of frame f covers {f, 81+t}, and the keys of latent frame k only attend to token
# 81+k, so the pick is always t = k and every union slot spells out its (pixel frame, key frame) sources.

GRID = (3, 34)
TOKENS = GRID[0] * GRID[1]
KEY_MARK = 81


def _token_mask(tokens: list[int]) -> torch.Tensor:
    mask = torch.zeros(TOKENS, dtype=torch.bool)
    mask[tokens] = True
    return mask.reshape(GRID)


def _provenance_attention(latent_frames: int = T) -> torch.Tensor:
    attn = torch.zeros(TOKENS, latent_frames * TOKENS)
    for k in range(latent_frames):
        attn[:, k * TOKENS + KEY_MARK + k] = 1.0
    return attn


def _provenance_frames(pixel_frames: range, latent_frames: int = T) -> dict[int, torch.Tensor]:
    return {f: torch.stack([_token_mask([f, KEY_MARK + t]) for t in range(latent_frames)]) for f in pixel_frames}


def _sources(slot_mask: torch.Tensor) -> tuple[set[int], set[int]]:
    """(pixel frames, key latent frames) recorded in one slot's mask."""
    tokens = set(slot_mask.flatten().nonzero().flatten().tolist())
    return {t for t in tokens if t < KEY_MARK}, {t - KEY_MARK for t in tokens if t >= KEY_MARK}


def _first_masks() -> torch.Tensor:
    return torch.stack([_token_mask([0]), _token_mask([1, 2])])


def test_released_slot_provenance_matches_appendix_b():
    result = match_parts(_provenance_attention(), _first_masks(), _provenance_frames(range(81)), T, "released")
    assert result.union_mask.shape == (T - 1, 2, *GRID)
    expected = {s: ({4 * s + 8}, {s + 1}) for s in range(18)}  # slot s holds (4s+8, s+1)
    expected[18] = ({4, 80}, {0, 19})  # (4, 0) OR (80, 19)
    expected[19] = ({4}, {0})  # (4, 0)
    for slot, sources in expected.items():
        for part in range(2):
            assert _sources(result.union_mask[slot, part]) == sources, (slot, part)
    # every decision: keys of latent frame l, pixel frames 4l+1..4l+4, pick = key frame
    assert len(result.decisions) == 20 * 4 * 2
    for d in result.decisions:
        assert d.key_latent_frame == d.slot_source
        assert 4 * d.slot_source + 1 <= d.pixel_frame <= 4 * d.slot_source + 4
        assert d.pick == d.key_latent_frame


def test_fixed_slot_provenance_is_the_intended_rule():
    result = match_parts(_provenance_attention(), _first_masks(), _provenance_frames(range(81)), T, "fixed")
    for slot in range(T - 1):
        frames = set(range(4 * slot + 1, 4 * slot + 5))
        assert _sources(result.union_mask[slot, 0]) == (frames, {slot + 1})
        assert _sources(result.union_mask[slot, 1]) == (frames, {slot + 1})


def test_other_latent_lengths_use_t_minus_1_slots():
    """T = 6 (21 frames): 5 slots, and the released wrap-around lands in the last slot (4)."""
    latent_frames = 6
    attn = _provenance_attention(latent_frames)
    frames = _provenance_frames(range(21), latent_frames)
    released = match_parts(attn, _first_masks(), frames, latent_frames, "released")
    assert released.union_mask.shape == (5, 2, *GRID)
    assert _sources(released.union_mask[4, 0]) == ({4}, {0})
    assert _sources(released.union_mask[3, 0]) == ({4, 20}, {0, 4})
    assert _sources(released.union_mask[0, 0]) == ({8}, {1})
    fixed = match_parts(attn, _first_masks(), frames, latent_frames, "fixed")
    assert _sources(fixed.union_mask[4, 0]) == ({17, 18, 19, 20}, {5})


def test_empty_first_part_never_picks():
    first = torch.stack([_token_mask([0]), torch.zeros(GRID, dtype=torch.bool)])
    result = match_parts(_provenance_attention(), first, _provenance_frames(range(1, 9)), T, "released")
    empty_part = [d for d in result.decisions if d.part == 1]
    assert empty_part and all(d.pick == -1 and all(math.isnan(s) for s in d.scores) for d in empty_part)
    assert not result.union_mask[:, 1].any()
    assert result.union_mask[:, 0].any()


def test_no_scorable_candidate_keeps_the_earlier_pick():
    """Group of latent frame 2 (pixel frames 5..8): frame 5 has a pick, frames 6..8 only have empty masks, so the
    released slot 0 keeps frame 5's pick (nothing is written when no candidate was scored)."""
    frames = _provenance_frames(range(5, 6))
    for f in (6, 7, 8):
        frames[f] = torch.zeros(3, *GRID, dtype=torch.bool)
    result = match_parts(_provenance_attention(), _first_masks(), frames, T, "released")
    picks = {d.pixel_frame: d.pick for d in result.decisions if d.part == 0}
    assert picks == {5: 1, 6: -1, 7: -1, 8: -1}
    assert _sources(result.union_mask[0, 0]) == ({5}, {1})
    assert not result.union_mask[1:].any()


def test_empty_part_lists_and_unposed_frames_are_skipped():
    frames = {6: torch.zeros(0, *GRID, dtype=torch.bool)}
    result = match_parts(_provenance_attention(), _first_masks(), frames, T, "released")
    assert result.decisions == []
    assert not result.union_mask.any()
    assert result.rows().shape == (0, 5)


def test_ties_keep_the_first_candidate():
    attn = torch.full((TOKENS, T * TOKENS), 0.5)
    frames = {1: torch.stack([_token_mask([10]), _token_mask([20]), _token_mask([30])])}
    result = match_parts(attn, _first_masks(), frames, T, "fixed")
    assert [d.pick for d in result.decisions] == [0, 0]
    assert _sources(result.union_mask[0, 0]) == ({10}, set())


def test_bfloat16_scores_stay_in_the_attention_dtype():
    """The released run compares bf16 scalars; the scores come out of the same dtype as the attention."""
    attn = _provenance_attention().to(torch.bfloat16)
    result = match_parts(attn, _first_masks(), _provenance_frames(range(1, 5)), T, "released")
    assert all(d.pick == 0 for d in result.decisions)  # keys of latent frame 0


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"mode": "intended"}, "mode"),
        ({"attn_head_sum": torch.zeros(TOKENS, 20 * TOKENS)}, "attn_head_sum"),
        ({"first_masks": torch.zeros(2, TOKENS, dtype=torch.bool)}, "first_masks"),
        ({"frame_masks": {3: torch.zeros(1, 4, 4, dtype=torch.bool)}}, "frame_masks[3]"),
        ({"latent_frames": 1}, "latent_frames"),
    ],
)
def test_bad_inputs_name_the_input(kwargs, name):
    args = {
        "attn_head_sum": _provenance_attention(),
        "first_masks": _first_masks(),
        "frame_masks": {},
        "latent_frames": T,
        "mode": "released",
    } | kwargs
    with pytest.raises(PoseGenInputError) as info:
        match_parts(**args)
    assert info.value.input_name == name
