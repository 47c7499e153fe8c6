"""PTCM part correspondence: match the first frame's skeleton parts to the parts of later posed frames through the
captured self-attention, and build the per-latent-frame union masks (§3.5, §3.6, App. B).

Input is the capture of the pre-pass: ``attn_head_sum`` [N, T·N], the softmax probabilities of the N frame-0 query
tokens against all T·N keys, summed over heads. For a first-frame part j and a candidate part t of a later pixel
frame, the score is the mean of the attention block (a ∈ part j tokens, b ∈ part t tokens, keys of one latent
frame); the best-scoring candidate's token mask goes into the union mask of part j.

Two modes:

- ``"released"`` reproduces PoseAnything's loop including its off-by-one: iteration l uses the keys of latent frame
  l and the masks of pixel frames 4l+1..4l+4 (which belong to latent frame l+1), and assigns
  ``U[l-1][j] = U[l][j] | mask`` (Python's -1 is the last slot), so within a group the last valid frame wins and the
  last two slots get the picks of pixel frame 4.
- ``"fixed"`` is the intended rule: slot s (applied to latent frame s+1) ORs the picks of pixel frames 4s+1..4s+4,
  scored against the keys of latent frame s+1.

Slot s of the union mask is applied to latent frame s+1, so there are T-1 slots (20 for 81 frames; the released code
hard-codes 20, this module follows T). Scores are computed in the dtype of ``attn_head_sum`` (float32 in the golden
test, bf16 in the released run) with ``Tensor.mean`` over the block, which matches the golden scores bit for bit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import torch

from ..errors import PoseGenInputError

MatchMode = Literal["released", "fixed"]
MATCH_MODES: tuple[str, ...] = ("released", "fixed")


@dataclass(frozen=True)
class MatchDecision:
    """One (iteration, pixel frame, first-frame part) decision, in loop order.

    ``slot_source`` is the loop variable: l in released mode (the result is written to slot l-1), the slot s itself
    in fixed mode. ``scores`` has one entry per candidate part of the pixel frame (NaN where a mask was empty).
    """

    slot_source: int
    key_latent_frame: int
    pixel_frame: int
    part: int
    pick: int  # -1: no candidate could be scored, nothing written
    scores: tuple[float, ...]

    def row(self) -> list[int]:
        """The golden ``match_rows`` layout: [l, key latent frame, pixel frame, first part j, pick]."""
        return [self.slot_source, self.key_latent_frame, self.pixel_frame, self.part, self.pick]


@dataclass
class MatchResult:
    union_mask: torch.Tensor  # bool [T-1, P, h, w]; slot s is applied to latent frame s+1
    decisions: list[MatchDecision] = field(default_factory=list)

    def rows(self) -> torch.Tensor:
        """Decisions as an int32 [n, 5] tensor (see :meth:`MatchDecision.row`)."""
        return torch.tensor([d.row() for d in self.decisions], dtype=torch.int32).reshape(-1, 5)

    def score_table(self, width: int) -> torch.Tensor:
        """Scores as float32 [n, width], NaN-padded like the golden ``match_scores``."""
        table = torch.full((len(self.decisions), width), float("nan"), dtype=torch.float32)
        for i, decision in enumerate(self.decisions):
            table[i, : len(decision.scores)] = torch.tensor(decision.scores, dtype=torch.float32)
        return table


def pixel_frames_of_group(latent_frame: int, frames_per_latent: int = 4) -> range:
    """Pixel frames encoded into latent frame k ≥ 1 by the causal VAE: 4k-3..4k."""
    return range(frames_per_latent * (latent_frame - 1) + 1, frames_per_latent * latent_frame + 1)


def _flat_masks(masks: torch.Tensor, input_name: str, grid: tuple[int, int] | None) -> torch.Tensor:
    """Check a [P, h, w] mask stack and flatten it to bool [P, h·w] (token index = row·w + col)."""
    if masks.ndim != 3:
        raise PoseGenInputError(input_name, f"got a tensor of shape {tuple(masks.shape)}.", "part masks [P, h, w]")
    if grid is not None and tuple(masks.shape[1:]) != grid:
        raise PoseGenInputError(
            input_name, f"part masks are on a {tuple(masks.shape[1:])} grid.", f"the first frame's grid {grid}"
        )
    return masks.reshape(masks.shape[0], masks.shape[1] * masks.shape[2]).bool()


def _square_attention(attn_head_sum: torch.Tensor, tokens: int, latent_frames: int) -> torch.Tensor:
    """Accept [N, T·N] or [1, N, T·N] and check it against the mask grid and T."""
    attn = attn_head_sum[0] if attn_head_sum.ndim == 3 and attn_head_sum.shape[0] == 1 else attn_head_sum
    expected = (tokens, latent_frames * tokens)
    if tuple(attn.shape) != expected:
        raise PoseGenInputError(
            "attn_head_sum",
            f"got shape {tuple(attn_head_sum.shape)} for {latent_frames} latent frames of {tokens} tokens.",
            f"[N, T·N] = {list(expected)} (frame-0 queries against all keys)",
        )
    return attn


def _score_candidates(
    attn_keys: torch.Tensor, first_tokens: torch.Tensor, candidates: torch.Tensor
) -> tuple[int, tuple[float, ...]]:
    """Mean attention of first-part tokens onto each candidate's tokens; first maximum wins (strict ``>``)."""
    scores: list[float] = []
    pick, best = -1, None
    rows = attn_keys[first_tokens]
    for t, cand in enumerate(candidates):
        cand_tokens = cand.nonzero().flatten()
        if first_tokens.numel() == 0 or cand_tokens.numel() == 0:
            scores.append(float("nan"))
            continue
        score = rows[:, cand_tokens].mean()
        scores.append(float(score))
        if best is None or score > best:
            pick, best = t, score
    return pick, tuple(scores)


def _iteration_plan(mode: str, latent_frames: int, frames_per_latent: int) -> list[tuple[int, int, range]]:
    """(loop variable, key latent frame, pixel frames) per iteration of either mode."""
    slots = range(latent_frames - 1)
    if mode == "released":
        # Keys of latent frame l, yet the masks of the pixel frames that belong to latent frame l+1.
        return [(i, i, pixel_frames_of_group(i + 1, frames_per_latent)) for i in slots]
    return [(s, s + 1, pixel_frames_of_group(s + 1, frames_per_latent)) for s in slots]


def match_parts(
    attn_head_sum: torch.Tensor,
    first_masks: torch.Tensor,
    frame_masks: Mapping[int, torch.Tensor],
    latent_frames: int,
    mode: MatchMode = "released",
    frames_per_latent: int = 4,
) -> MatchResult:
    """Pick, per posed frame and first-frame part, the best-matching part and build the union masks.

    ``frame_masks`` maps pixel frame → bool [P_f, h, w] part masks; frames with an empty part list (P_f = 0) are
    skipped, as are frames outside the iterated groups (frame 0 itself is never a candidate).
    """
    if mode not in MATCH_MODES:
        raise PoseGenInputError("mode", f"got {mode!r}.", f"one of {', '.join(MATCH_MODES)}")
    if latent_frames < 2:
        raise PoseGenInputError("latent_frames", f"got {latent_frames}.", "at least 2 latent frames")
    first = _flat_masks(first_masks, "first_masks", None)
    grid = (int(first_masks.shape[1]), int(first_masks.shape[2]))
    tokens = grid[0] * grid[1]
    attn = _square_attention(attn_head_sum, tokens, latent_frames)
    flat = {int(f): _flat_masks(m, f"frame_masks[{f}]", grid) for f, m in frame_masks.items()}

    union = torch.zeros(latent_frames - 1, first.shape[0], tokens, dtype=torch.bool)
    decisions: list[MatchDecision] = []
    first_tokens = [part.nonzero().flatten() for part in first]
    for loop_var, key_frame, pixel_frames in _iteration_plan(mode, latent_frames, frames_per_latent):
        attn_keys = attn[:, key_frame * tokens : (key_frame + 1) * tokens]
        for f in pixel_frames:
            candidates = flat.get(f)
            if candidates is None or candidates.shape[0] == 0:
                continue  # un-posed, or posed with an empty part list: the released loop skips both
            for j, part_tokens in enumerate(first_tokens):
                pick, scores = _score_candidates(attn_keys, part_tokens, candidates)
                decisions.append(MatchDecision(loop_var, key_frame, f, j, pick, scores))
                if pick < 0:
                    continue
                if mode == "released":
                    # Assignment from slot l (still empty unless l wrapped around) into slot l-1: not an OR-accumulate.
                    union[loop_var - 1, j] = union[loop_var, j] | candidates[pick]
                else:
                    union[loop_var, j] |= candidates[pick]
    return MatchResult(union.reshape(latent_frames - 1, first.shape[0], *grid), decisions)
