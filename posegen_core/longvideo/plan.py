"""PoseGen's long-video chunk layout (§4.1–4.3), driving-frame padding (§4.2, §3.8) and transition masks (§3.8).

A long driving video is cut into ``2k+1`` chunks of ``S`` frames. Even chunks are *base* chunks: non-overlapping
segments generated from the pose alone (one of them is the KV-share anchor), ``S - H0 - T0`` frames apart. Odd chunks
are *transition* ("cond") chunks that straddle two base chunks: their first ``H0`` frames are the previous base
chunk's last ``H0`` decoded frames, their last ``T0`` frames the next base chunk's first ``T0``, and only the middle
``S - H0 - T0`` frames (the gap between the base chunks) are generated. With PoseGen's numbers (S = 81, H0 = 21,
T0 = 20) one base + transition period is 121 frames and the gap is 40.

Everything is in driving-frame (pixel-frame) units; nothing here touches a model.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import numpy as np
import torch

from ..errors import PoseGenInputError
from ..posegen.conditioning import TEMPORAL_STRIDE, latent_frames, mask_channels

ChunkKind = Literal["base", "transition"]
FramesT = TypeVar("FramesT", torch.Tensor, np.ndarray)


class PlanError(PoseGenInputError):
    """An argument of :func:`plan_segments` is unusable: ``input_name`` is the argument's name (``pose_frames`` for
    ``num_frames``), the message starts with it."""

    def __init__(self, argument: str, problem: str) -> None:
        super().__init__(argument, problem)

    @property
    def argument(self) -> str:
        return self.input_name


@dataclass(frozen=True)
class Chunk:
    """One chunk. ``end`` is exclusive and may run past the driving video for the last base chunk (padding)."""

    index: int
    kind: ChunkKind
    start: int
    end: int
    head_given: int = 0  # transitions: frames copied from the previous base chunk's tail
    tail_given: int = 0  # transitions: frames copied from the next base chunk's head

    @property
    def length(self) -> int:
        return self.end - self.start

    @property
    def is_base(self) -> bool:
        return self.kind == "base"


@dataclass(frozen=True)
class SegmentPlan:
    num_frames: int
    segment_length: int
    head_overlap: int
    tail_overlap: int
    temporal_stride: int
    chunks: tuple[Chunk, ...]
    anchor: int  # chunk index (always even) of the KV-share anchor base chunk
    pad: bool = True

    @property
    def base_chunks(self) -> tuple[Chunk, ...]:
        return tuple(c for c in self.chunks if c.is_base)

    @property
    def transition_chunks(self) -> tuple[Chunk, ...]:
        return tuple(c for c in self.chunks if not c.is_base)

    @property
    def covered_frames(self) -> int:
        return self.chunks[-1].end

    @property
    def output_frames(self) -> int:
        """Frames the merged video has: the driving length, or fewer with ``pad=False`` (the tail is dropped)."""
        return min(self.num_frames, self.covered_frames)

    @property
    def run_order(self) -> tuple[Chunk, ...]:
        """§4.3: the anchor first (it records the shared KV), then the other base chunks, then the transitions
        (each needs both neighbouring base chunks decoded)."""
        anchor = self.chunks[self.anchor]
        others = tuple(c for c in self.base_chunks if c.index != self.anchor)
        return (anchor, *others, *self.transition_chunks)

    def overlap_before(self, chunk: Chunk) -> int:
        """Frames ``chunk`` shares with the chunk before it (0 for chunk 0)."""
        if chunk.index == 0:
            return 0
        return self.head_overlap if chunk.index % 2 else self.tail_overlap

    def padded_frames(self, chunk: Chunk) -> int:
        """How many of the chunk's frames lie past the driving video and are mirror-padded."""
        return max(0, min(chunk.length, chunk.end - self.num_frames))

    def describe(self) -> str:
        """A table of the chunks, printed before sampling so the user sees what will run."""
        s, h0, t0 = self.segment_length, self.head_overlap, self.tail_overlap
        lines = [
            f"PoseGen long-video plan: {self.num_frames} driving frames, segments of {s} frames "
            f"(head overlap {h0}, tail overlap {t0})",
            f"{len(self.chunks)} chunks ({len(self.base_chunks)} base, {len(self.transition_chunks)} transition), "
            f"{self.covered_frames} frames covered, anchor = chunk {self.anchor}, "
            f"run order: {', '.join(str(c.index) for c in self.run_order)}",
            f"{'chunk':>5}  {'kind':<10}  {'frames':<9}  {'overlap':>7}  {'given':<7}  note",
        ]
        for c in self.chunks:
            overlap = str(self.overlap_before(c)) if c.index else "-"
            given = f"{c.head_given}+{c.tail_given}" if not c.is_base else "-"
            notes = ["anchor"] if c.index == self.anchor else []
            padded = self.padded_frames(c)
            if padded:
                idx = base_pose_indices(self, c) if c.is_base else transition_pose_indices(self, c)
                which = f"all {padded} frames" if padded == c.length else f"frames {c.end - padded}-{c.end - 1}"
                notes.append(f"padded: {which} mirror driving frames {_spans(idx[c.length - padded:])}")
            frames = f"{c.start}-{c.end - 1}"
            lines.append(f"{c.index:>5}  {c.kind:<10}  {frames:<9}  {overlap:>7}  {given:<7}  {', '.join(notes)}"
                         .rstrip())
        if self.covered_frames < self.num_frames:
            lines.append(f"pad=False: driving frames {self.covered_frames}-{self.num_frames - 1} are not generated")
        return "\n".join(lines)


def _spans(indices: np.ndarray) -> str:
    """``299..277`` style runs; mirror padding repeats the edge frame at each bounce, so runs split there."""
    runs = np.split(indices, np.flatnonzero(np.diff(indices) == 0) + 1)
    return ", ".join(f"{r[0]}..{r[-1]}" if len(r) > 1 else f"{r[0]}" for r in runs)


def _int_arg(name: str, value: Any) -> int:
    if isinstance(value, bool):  # bool is an int subclass; True frames is surely a wiring mistake
        raise PlanError(name, f"expected an integer, got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise PlanError(name, f"expected an integer, got {value!r}") from None


def chunk_start(index: int, segment_length: int, head_overlap: int, tail_overlap: int) -> int:
    """§4.1: ``start(i) = S·i − ceil(i/2)·H0 − floor(i/2)·T0``."""
    return segment_length * index - (index + 1) // 2 * head_overlap - index // 2 * tail_overlap


def check_layout(segment_length: int, head_overlap: int, tail_overlap: int,
                 temporal_stride: int = TEMPORAL_STRIDE) -> tuple[int, int, int, int]:
    """The layout's own rules, before any driving video is known (§4.1, §3.8): ``(S, H0, T0, stride)`` as
    ints, or a :class:`PlanError` naming the argument."""
    stride = _int_arg("temporal_stride", temporal_stride)
    if stride < 1:
        raise PlanError("temporal_stride", f"{stride}; expected a positive integer (4 for the Wan 2.1 VAE)")
    s = _int_arg("segment_length", segment_length)
    h0 = _int_arg("head_overlap", head_overlap)
    t0 = _int_arg("tail_overlap", tail_overlap)
    if s < 1 or (s - 1) % stride:
        raise PlanError("segment_length", f"{s} frames; expected {stride}k+1 frames (e.g. 81), as the VAE needs")
    # The transition mask must be constant within each latent frame, because the model sees one mask value per
    # latent frame slot (and ComfyUI's concat_mask is per latent frame). Latent frame 0 is pixel frame 0 alone and
    # latent frame k >= 1 is pixel frames 4k-3..4k, so a given head must be 1 + 4a frames (21 = 1 + 4*5: latent
    # frames 0-5) and a given tail a multiple of 4 ending at frame S-1 (20 = 4*5: the last 5 latent frames).
    if h0 < 1 or (h0 - 1) % stride:
        raise PlanError("head_overlap", f"{h0} frames; expected {stride}a+1 frames (e.g. 21 = 1 + {stride}*5) so the "
                        "given head fills whole latent frames")
    if t0 < stride or t0 % stride:
        raise PlanError("tail_overlap", f"{t0} frames; expected a positive multiple of {stride} (e.g. 20) so the "
                        "given tail fills whole latent frames")
    if s - h0 - t0 < 1:
        raise PlanError("segment_length", f"{s} frames leave no frames for a transition to generate between its "
                        f"head_overlap ({h0}) and tail_overlap ({t0}); expected segment_length > {h0 + t0}")
    return s, h0, t0, stride


def plan_segments(
    num_frames: int,
    segment_length: int = 81,
    head_overlap: int = 21,
    tail_overlap: int = 20,
    temporal_stride: int = TEMPORAL_STRIDE,
    anchor: int = 0,
    pad: bool = True,
) -> SegmentPlan:
    """PoseGen's chunk layout for a driving video of ``num_frames`` frames (§4.1).

    ``anchor`` counts base chunks only (0 = the first base chunk). ``pad=True`` adds a last, mirror-padded base
    chunk so every driving frame is generated; ``pad=False`` drops the frames past the last whole period.
    """
    s, h0, t0, stride = check_layout(segment_length, head_overlap, tail_overlap, temporal_stride)
    length = _int_arg("pose_frames", num_frames)
    if length < 1:
        raise PlanError("pose_frames", f"no frames ({length}); expected at least one segment ({s} frames)")
    if length < s:
        fit = (length - 1) // stride * stride + 1  # the longest valid segment_length for these poses
        if fit < 2 * stride + 1:  # smallest valid segment: head 1, generated stride, tail stride
            shorten = ""
        elif fit > h0 + t0:
            shorten = f"shorten segment_length to at most {fit}, or "
        else:
            shorten = f"shorten segment_length to at most {fit} with overlaps summing to less than {fit}, or "
        raise PlanError("pose_frames", f"{length} frames is shorter than one segment ({s} frames); "
                        f"{shorten}pad the poses to at least {s} frames")

    period = 2 * s - h0 - t0
    periods = math.ceil((length - s) / period) if pad else (length - s) // period
    chunks = []
    for i in range(2 * periods + 1):
        start = chunk_start(i, s, h0, t0)
        if i % 2:
            chunks.append(Chunk(i, "transition", start, start + s, head_given=h0, tail_given=t0))
        else:
            chunks.append(Chunk(i, "base", start, start + s))

    anchor_base = _int_arg("anchor", anchor)
    if not 0 <= anchor_base <= periods:
        raise PlanError("anchor", f"base chunk {anchor_base} does not exist; this plan has {periods + 1} base chunks, "
                        f"so expected 0..{periods} (0 = the first base chunk)")
    return SegmentPlan(length, s, h0, t0, stride, tuple(chunks), 2 * anchor_base, bool(pad))


def _check_chunk(plan: SegmentPlan, chunk: Chunk, kind: ChunkKind) -> None:
    if chunk.kind != kind:
        raise ValueError(f"chunk {chunk.index} is a {chunk.kind} chunk; expected a {kind} chunk")
    if not 0 <= chunk.index < len(plan.chunks) or plan.chunks[chunk.index] != chunk:
        raise ValueError(f"chunk {chunk.index} does not belong to this plan")


def _mirrored_range(start: int, count: int, length: int) -> np.ndarray:
    """``start..start+count-1`` with indices past ``length-1`` reflected back, repeating the edge frame
    (L-1, L-2, ...), and bouncing again off frame 0 if the reflection runs out of frames."""
    idx = np.arange(start, start + count, dtype=np.int64) % (2 * length)
    return np.where(idx < length, idx, 2 * length - 1 - idx)


def base_pose_indices(plan: SegmentPlan, chunk: Chunk, extra: int = 0) -> np.ndarray:
    """Driving-frame indices for a base chunk's pose and hand videos (length S + ``extra``, §4.2; ``extra``
    frames continue past the chunk's end, for a clip that carries an inserted reference frame too).

    Past the driving video the frames are mirror-padded: ``start..L-1`` then ``L-1, L-2, ...``. A chunk ending
    exactly at L gets its own frames; the reference instead fed the time-reversed frames of the wrong segment
    there (its ``[-0:]`` slice bug at L = 81 + 121k), which we deliberately do not reproduce.
    """
    _check_chunk(plan, chunk, "base")
    return _mirrored_range(chunk.start, plan.segment_length + extra, plan.num_frames)


def transition_pose_indices(plan: SegmentPlan, chunk: Chunk) -> np.ndarray:
    """Driving-frame indices for a transition chunk (length S, §3.8): ``start..min(start+S, L)-1`` extended
    by the time-reversed last ``S-len`` frames. The head and tail are later overwritten by the given RGB frames."""
    _check_chunk(plan, chunk, "transition")
    return _mirrored_range(chunk.start, plan.segment_length, plan.num_frames)


def transition_given_mask(plan: SegmentPlan) -> torch.Tensor:
    """Per-pixel-frame mask of a transition chunk: 1 on the first H0 and last T0 frames (given), 0 in between."""
    given = torch.zeros(plan.segment_length)
    given[:plan.head_overlap] = 1
    given[plan.segment_length - plan.tail_overlap:] = 1
    return given


def transition_mask_channels(plan: SegmentPlan) -> torch.Tensor:
    """The transition's ``(4, T)`` mask channels (§3.3); for the defaults latent frames 0-5 and 16-20 are 1."""
    if plan.temporal_stride != TEMPORAL_STRIDE:
        raise ValueError(f"mask channels follow the Wan VAE's temporal stride {TEMPORAL_STRIDE}; this plan uses "
                         f"{plan.temporal_stride}")
    channels = mask_channels(transition_given_mask(plan))
    # plan_segments' alignment rules guarantee this; a per-latent-frame mask would be wrong otherwise.
    assert channels.shape == (TEMPORAL_STRIDE, latent_frames(plan.segment_length))
    assert torch.all(channels == channels[:1]), "transition mask is not constant within a latent frame"
    return channels


@dataclass(frozen=True)
class TransitionKeyframes:
    """The given frames of one transition chunk and where they go in its S-frame pose/hand clips."""

    head: Any  # [H0, H, W, C]: the previous base chunk's last H0 decoded frames
    tail: Any  # [T0, H, W, C]: the next base chunk's first T0 decoded frames
    head_positions: range  # 0..H0-1
    tail_positions: range  # S-T0..S-1

    def apply(self, frames: FramesT) -> FramesT:
        """A copy of an S-frame clip (pose or hand video) with the given frames written over its head and tail,
        which is what PoseGen VAE-encodes as the transition's conditioning video (§3.8)."""
        expected = self.tail_positions.stop
        if frames.shape[0] != expected:
            raise ValueError(f"frames: {frames.shape[0]} frames; expected the transition's {expected}")
        if tuple(frames.shape[1:]) != tuple(self.head.shape[1:]):
            raise ValueError(f"frames: frame shape {tuple(frames.shape[1:])} differs from the decoded chunks' "
                             f"{tuple(self.head.shape[1:])}")
        if isinstance(frames, torch.Tensor):
            out = frames.clone()
            out[:self.head_positions.stop] = torch.as_tensor(self.head).to(out)
            out[self.tail_positions.start:] = torch.as_tensor(self.tail).to(out)
        else:
            out = frames.copy()
            out[:self.head_positions.stop] = np.asarray(self.head, dtype=out.dtype)
            out[self.tail_positions.start:] = np.asarray(self.tail, dtype=out.dtype)
        return out


def transition_keyframes(plan: SegmentPlan, chunk: Chunk, prev_frames: FramesT, next_frames: FramesT
                         ) -> TransitionKeyframes:
    """Which decoded frames become the given frames of transition ``chunk`` (§3.8).

    ``prev_frames`` / ``next_frames`` are the decoded frames ``[S, H, W, C]`` of base chunks ``chunk.index ∓ 1``
    (torch or numpy). The previous chunk's last H0 frames go to positions ``0..H0-1`` and the next chunk's first T0
    frames to ``S-T0..S-1``; these are the same driving frames, because the transition overlaps its neighbours by
    exactly H0 and T0 frames. The returned frames are views, not copies.
    """
    _check_chunk(plan, chunk, "transition")
    s, h0, t0 = plan.segment_length, plan.head_overlap, plan.tail_overlap
    for name, frames in (("prev_frames", prev_frames), ("next_frames", next_frames)):
        if frames.ndim != 4 or frames.shape[0] != s:
            raise ValueError(f"{name}: shape {tuple(frames.shape)}; expected the {s} decoded frames [S, H, W, C] of "
                             f"base chunk {chunk.index - 1 if name == 'prev_frames' else chunk.index + 1}")
    if tuple(prev_frames.shape[1:]) != tuple(next_frames.shape[1:]):
        raise ValueError(f"next_frames: frame shape {tuple(next_frames.shape[1:])} differs from prev_frames' "
                         f"{tuple(prev_frames.shape[1:])}")
    return TransitionKeyframes(prev_frames[s - h0:], next_frames[:t0], range(0, h0), range(s - t0, s))
