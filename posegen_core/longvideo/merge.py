"""PoseGen's linear cross-fade merge of decoded chunks into one video (§4.4).

Chunks come in chunk order (base, transition, base, ...). Chunk i >= 1 overlaps the video so far by H0 frames
(odd i, base -> transition) or T0 frames (even i, transition -> base); across the overlap the weight of the earlier
frames falls linearly from 1 to 0 inclusive (``np.linspace(1, 0, o)``), so the first overlap frame is all the
earlier chunk and the last all the later one. The result is trimmed to the driving video's length.

Two front ends share one schedule and one cross-fade kernel: :func:`crossfade_merge` for ComfyUI IMAGE batches
(float in [0, 1]) and :func:`crossfade_merge_uint8`, which reproduces PoseGen's 8-bit arithmetic bit for bit
(float64 blend of uint8 frames, then a truncating cast).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import torch

from .plan import Chunk, SegmentPlan, TransitionKeyframes

FramesT = TypeVar("FramesT", torch.Tensor, np.ndarray)


@dataclass(frozen=True)
class MergeStep:
    chunk: int  # chunk index
    offset: int  # output frame where the chunk's frame 0 lands
    overlap: int  # leading frames of the chunk cross-faded with the previous chunk's tail (0 for chunk 0)


def crossfade_weights(overlap: int) -> np.ndarray:
    """Weights of the earlier frames across an overlap: ``np.linspace(1, 0, overlap)`` in float64, exactly as
    PoseGen computes them (not ``1 - j/(o-1)``, which can differ in the last bit and flip a truncation)."""
    return np.linspace(1.0, 0.0, overlap, dtype=np.float64)


def merge_schedule(plan: SegmentPlan) -> tuple[MergeStep, ...]:
    """Where each chunk goes in the merged video, following §4.4's history bookkeeping
    (``history = history[:-o] + blended + chunk[o:]``); the offsets equal the chunks' planned starts."""
    s = plan.segment_length
    if plan.head_overlap + plan.tail_overlap >= s:
        # Otherwise a chunk's head and tail blends would overlap and the history tail would no longer be the
        # previous chunk's own frames.
        raise ValueError(f"overlaps {plan.head_overlap}+{plan.tail_overlap} leave no unblended frames in a "
                         f"{s}-frame chunk")
    steps = [MergeStep(0, 0, 0)]
    history = s
    for chunk in plan.chunks[1:]:
        o = plan.overlap_before(chunk)
        steps.append(MergeStep(chunk.index, history - o, o))
        history += s - o
    assert history == plan.covered_frames
    assert all(st.offset == c.start for st, c in zip(steps, plan.chunks, strict=True))
    return tuple(steps)


def crossfade(tail: torch.Tensor, head: torch.Tensor, weights: np.ndarray | None = None) -> torch.Tensor:
    """Cross-fade two equally long frame batches: frame j is ``w_j·tail[j] + (1 − w_j)·head[j]``.

    uint8 frames are blended in float64 and truncated back to uint8 (PoseGen's merge, including its rounding
    down); floating frames are blended in at least float32 and keep their dtype.
    """
    if tail.shape != head.shape:
        raise ValueError(f"cross-fade of frames shaped {tuple(tail.shape)} and {tuple(head.shape)}")
    w = crossfade_weights(tail.shape[0]) if weights is None else weights
    if len(w) != tail.shape[0]:
        raise ValueError(f"{len(w)} weights for {tail.shape[0]} frames")
    if tail.dtype == torch.uint8:
        compute = torch.float64
    elif tail.dtype.is_floating_point:
        compute = torch.promote_types(tail.dtype, torch.float32)
    else:
        raise TypeError(f"frames of dtype {tail.dtype}; expected uint8 or floating point")
    bcast = (-1,) + (1,) * (tail.dim() - 1)
    # Both weights come from the float64 linspace, as in the reference's ``w*a + (1-w)*b``.
    w_a = torch.from_numpy(np.ascontiguousarray(w)).to(device=tail.device, dtype=compute).view(bcast)
    w_b = torch.from_numpy(1.0 - w).to(device=tail.device, dtype=compute).view(bcast)
    blended = w_a * tail.to(compute) + w_b * head.to(compute)
    return blended.to(tail.dtype)  # float -> uint8 truncates toward zero, like numpy's astype


def blend_pair(a: torch.Tensor, b: torch.Tensor, overlap: int) -> torch.Tensor:
    """Join two frame batches whose last/first ``overlap`` frames show the same moment, cross-fading linearly
    across the overlap. Returns ``len(a) + len(b) - overlap`` frames; uint8 batches use PoseGen's truncation."""
    if a.shape[1:] != b.shape[1:] or a.dtype != b.dtype:
        raise ValueError(f"b: frames {tuple(b.shape[1:])} {b.dtype} do not match a's {tuple(a.shape[1:])} {a.dtype}")
    if not 0 <= overlap <= min(a.shape[0], b.shape[0]):
        raise ValueError(f"overlap: {overlap} frames; expected 0..{min(a.shape[0], b.shape[0])} (the shorter batch)")
    keep = a.shape[0] - overlap
    return torch.cat([a[:keep], crossfade(a[keep:], b[:overlap].to(a.device)), b[overlap:].to(a.device)])


def _as_tensors(chunks: Sequence[torch.Tensor | np.ndarray]) -> tuple[list[torch.Tensor], bool]:
    as_numpy = len(chunks) > 0 and all(isinstance(c, np.ndarray) for c in chunks)
    return [torch.from_numpy(np.ascontiguousarray(c)) if isinstance(c, np.ndarray) else c for c in chunks], as_numpy


def _merge(chunks: Sequence[torch.Tensor | np.ndarray], plan: SegmentPlan, dtype_ok: Callable[[torch.dtype], bool],
           dtype_name: str) -> torch.Tensor | np.ndarray:
    tensors, as_numpy = _as_tensors(chunks)
    s = plan.segment_length
    if len(tensors) != len(plan.chunks):
        raise ValueError(f"chunks: {len(tensors)} decoded chunks; the plan has {len(plan.chunks)}")
    first = tensors[0]
    for i, c in enumerate(tensors):
        if c.dim() != 4 or c.shape[0] != s or c.shape[1:] != first.shape[1:]:
            raise ValueError(f"chunks: chunk {i} has shape {tuple(c.shape)}; expected [{s}, "
                             f"{', '.join(str(d) for d in first.shape[1:])}] like chunk 0")
        if c.dtype != first.dtype or not dtype_ok(c.dtype):
            raise ValueError(f"chunks: chunk {i} has dtype {c.dtype}; expected {dtype_name} for every chunk")

    # Preallocate the trimmed output and write each chunk once: O(total frames), no growing history.
    # The history's last o frames are always the previous chunk's own (unblended) frames, so read them from it.
    total = plan.output_frames
    out = torch.empty((total, *first.shape[1:]), dtype=first.dtype, device=first.device)
    for step in merge_schedule(plan):
        chunk, o, off = tensors[step.chunk].to(out.device), step.overlap, step.offset
        if off >= total:
            break  # this chunk and all later ones lie past the trim
        if o:
            n = min(o, total - off)  # blend only what survives the trim
            prev_tail = tensors[step.chunk - 1][s - o:s - o + n].to(out.device)
            out[off:off + n] = crossfade(prev_tail, chunk[:n], crossfade_weights(o)[:n])
        rest = chunk[o:s][:max(0, total - off - o)]
        out[off + o:off + o + rest.shape[0]] = rest
    return out.numpy() if as_numpy else out


def crossfade_merge(chunks: Sequence[FramesT], plan: SegmentPlan) -> FramesT:
    """Merge decoded chunks (ComfyUI IMAGE batches ``[S, H, W, C]``, float in [0, 1], in chunk order) into the
    video ``[plan.output_frames, H, W, C]`` with PoseGen's linear cross-fades (§4.4)."""
    return _merge(chunks, plan, lambda dt: dt.is_floating_point, "a floating-point IMAGE dtype")


def crossfade_merge_uint8(chunks: Sequence[FramesT], plan: SegmentPlan) -> FramesT:
    """PoseGen's merge on uint8 frames, bit for bit: each overlap frame is ``uint8(w·a + (1−w)·b)`` computed in
    float64 and truncated. Takes torch tensors or numpy arrays (returns the same kind)."""
    return _merge(chunks, plan, lambda dt: dt == torch.uint8, "uint8")


FrameSink = Callable[[torch.Tensor], None]  # takes the next finished frames of the video, in order


class WindowedMerge:
    """The merge of §4.4 built chunk by chunk in video order, handing every frame to ``sink`` as soon as no later
    chunk can change it — so at most two base chunks and one transition are held, whatever the video's length.

    Order: base 0, then for every transition its next base chunk and then the transition itself (base 0, base 2,
    transition 1, base 4, transition 3, ...). A transition cross-fades into the last ``H0`` frames of the base
    chunk before it and the first ``T0`` of the one after it; before that, :meth:`keyframes` gives it those
    frames untouched (a base chunk's head and tail overlaps are disjoint because S > H0 + T0). Frames past the
    driving length are never handed on. The frames equal :func:`crossfade_merge`'s, bit for bit.
    """

    def __init__(self, plan: SegmentPlan, sink: FrameSink) -> None:
        self.plan, self.sink = plan, sink
        self.held: dict[int, torch.Tensor] = {}  # base chunk index -> its frames (head blended once emitted)
        self.emitted = 0  # video frames handed on so far
        self._next = 0  # index of the chunk expected next

    @property
    def expects(self) -> Chunk | None:
        """The chunk to add next (None when the video is complete)."""
        order = self.order()
        return order[self._next] if self._next < len(order) else None

    def order(self) -> tuple[Chunk, ...]:
        chunks = self.plan.chunks
        return (chunks[0], *(c for t in self.plan.transition_chunks for c in (chunks[t.index + 1], t)))

    def _check(self, chunk: Chunk, frames: torch.Tensor | None = None) -> None:
        if chunk != self.expects:
            expected = self.expects
            raise ValueError(f"chunk {chunk.index} added out of order; expected "
                             f"{'none' if expected is None else expected.index}")
        if frames is not None and (frames.dim() != 4 or frames.shape[0] != self.plan.segment_length):
            raise ValueError(f"frames: shape {tuple(frames.shape)}; expected [{self.plan.segment_length}, H, W, C]")

    def add_base(self, chunk: Chunk, frames: torch.Tensor) -> None:
        self._check(chunk, frames)
        self.held[chunk.index] = frames
        self._next += 1
        if self.expects is None:  # the only chunk: nothing will blend into it
            self._emit(frames)
            self.held.clear()

    def keyframes(self, chunk: Chunk) -> TransitionKeyframes:
        """The given frames of transition ``chunk``: its neighbours' overlap frames, as they were decoded."""
        self._check(chunk)
        s, h0, t0 = self.plan.segment_length, self.plan.head_overlap, self.plan.tail_overlap
        before, after = self.held[chunk.index - 1], self.held[chunk.index + 1]
        return TransitionKeyframes(before[s - h0:].clone(), after[:t0].clone(), range(0, h0), range(s - t0, s))

    def add_transition(self, chunk: Chunk, frames: torch.Tensor) -> None:
        self._check(chunk, frames)
        s, h0, t0 = self.plan.segment_length, self.plan.head_overlap, self.plan.tail_overlap
        before, after = self.held.pop(chunk.index - 1), self.held[chunk.index + 1]
        frames = frames.to(before.dtype)
        start = 0 if chunk.index == 1 else t0  # the first T0 frames went out with the transition before
        self._emit(before[start:s - h0])
        self._emit(crossfade(before[s - h0:], frames[:h0]))
        self._emit(frames[h0:s - t0])
        self._emit(crossfade(frames[s - t0:], after[:t0]))
        self._next += 1
        if self.expects is None:
            self._emit(after[t0:])
            self.held.clear()

    def _emit(self, frames: torch.Tensor) -> None:
        room = self.plan.output_frames - self.emitted
        if room > 0 and frames.shape[0]:
            self.sink(frames[:room])
            self.emitted += min(room, frames.shape[0])

    @property
    def complete(self) -> bool:
        return self.expects is None


class FrameCollector:
    """A sink that keeps the video as one IMAGE batch (for short videos and tests), preallocated once."""

    def __init__(self, total: int) -> None:
        self.total, self.filled = total, 0
        self.video: torch.Tensor | None = None

    def __call__(self, frames: torch.Tensor) -> None:
        if self.video is None:
            self.video = torch.empty((self.total, *frames.shape[1:]), dtype=frames.dtype)
        self.video[self.filled:self.filled + frames.shape[0]] = frames
        self.filled += frames.shape[0]

    def result(self) -> torch.Tensor:
        if self.video is None or self.filled != self.total:
            raise ValueError(f"{self.filled} of {self.total} frames arrived")
        return self.video
