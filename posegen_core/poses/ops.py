"""Sequence operations on :class:`PoseSequence`: trimming, frame-rate resampling, padding, smoothing, sparsifying
and mirroring. Every function returns a new sequence and never modifies its input.

Inserted reference frames (PoseCrafter, see :mod:`.reference`) are not driving poses. Operations that pick frames
(``trim``, ``pad_to_length``) carry the marker with every copy of such a frame; operations that treat the frames as
samples of one motion (``resample_fps``) refuse sequences that have them, and ``smooth``/``sparsify`` leave them
untouched, because blending or blanking the reference pose would defeat its purpose.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np

from ..errors import PoseGenInputError
from .sequence import PoseSequence

PadMode = Literal["loop", "mirror", "hold"]
DEFAULT_FPS = 30.0


def _select(seq: PoseSequence, indices: Sequence[int] | np.ndarray, **changes) -> PoseSequence:
    """Frames ``indices`` of ``seq`` (repeats allowed); every copy of an inserted frame stays marked as inserted.

    ``PoseSequence.frames`` keeps only one marker per source frame, which is wrong once a frame is repeated
    (loop/mirror padding), hence this helper.
    """
    idx = np.asarray(indices, dtype=np.int64)
    marked = set(seq.inserted)
    inserted = tuple(new for new, old in enumerate(idx.tolist()) if old in marked)
    return seq.with_keypoints(seq.keypoints[idx], inserted=inserted, **changes)


# --- trim ---------------------------------------------------------------------------------------------------------


def trim(seq: PoseSequence, start: int, end: int | None = None) -> PoseSequence:
    """Frames ``start`` up to (excluding) ``end``, with Python slice semantics (negative values count from the end,
    ``end=None`` means to the last frame). An empty result is an error rather than a zero-frame sequence, because
    no downstream consumer (rendering, sampling) can use one."""
    n = seq.num_frames
    if isinstance(start, bool) or not isinstance(start, int | np.integer):
        raise PoseGenInputError("start", f"{start!r}.", "a whole frame number")
    if end is not None and (isinstance(end, bool) or not isinstance(end, int | np.integer)):
        raise PoseGenInputError("end", f"{end!r}.", "a whole frame number or None")
    lo, hi, _ = slice(int(start), None if end is None else int(end)).indices(n)
    if hi <= lo:
        if lo >= n:
            raise PoseGenInputError("start", f"frame {start} is past the last frame ({n} frames).",
                                    f"a start below {n}")
        raise PoseGenInputError("end", f"trimming from start={start} to end={end} leaves none of the {n} frames.",
                                "an end after the start")
    return _select(seq, range(lo, hi))


# --- resample -----------------------------------------------------------------------------------------------------


def resample_fps(seq: PoseSequence, target_fps: float, source_fps: float | None = None) -> PoseSequence:
    """Resample to ``target_fps`` by interpolating in time (not by dropping or repeating frames).

    The clip spans ``duration = (frames - 1) / source_fps`` seconds. Output frame k sits at ``t_k = k / target_fps``
    for ``k = 0 .. M-2`` and the last one at exactly ``duration``, with ``M = round(duration * target_fps) + 1``
    (at least 2 for a clip of 2+ frames). So the first and last poses are kept exactly, and when the duration is not
    a whole number of output frames the last interval differs from ``1/target_fps`` by at most half an output frame
    (more only for clips shorter than one output frame, which keep their two endpoints).

    Per keypoint, between source frames a and b = a + 1 with weight w ∈ [0, 1):
    - present in both: x, y linearly interpolated, confidence = min of the two (the blend is only as reliable as
      its weaker end);
    - otherwise: copied from the nearer frame (a if w <= 0.5) if present there, else missing. Interpolating towards
      a point that does not exist would invent motion.
    """
    fps = source_fps if source_fps is not None else seq.fps
    if fps is None:
        raise PoseGenInputError("source_fps", "the poses carry no frame rate to resample from.",
                                "source_fps set to their frame rate")
    if not (math.isfinite(fps) and fps > 0):
        raise PoseGenInputError("source_fps", f"{fps}.", "a positive frame rate")
    if not (math.isfinite(target_fps) and target_fps > 0):
        raise PoseGenInputError("target_fps", f"{target_fps}.", "a positive frame rate")
    if seq.inserted:
        raise PoseGenInputError("target_fps", "the sequence has inserted reference frames, which are not part of "
                                "the motion.", "resampling before the reference pose is inserted")
    n = seq.num_frames
    duration = (n - 1) / fps
    m = int(round(duration * target_fps)) + 1
    if n > 1:
        m = max(m, 2)  # a clip shorter than one output frame still keeps both its endpoints
    # Positions in source-frame units; computed as k * (fps / target) so that integer ratios land exactly on source
    # frames, then the last one pinned to the last source frame.
    pos = np.arange(m, dtype=np.float64) * (fps / target_fps)
    pos[-1] = n - 1
    pos = np.clip(pos, 0.0, n - 1)
    snapped = np.round(pos)
    on_frame = np.abs(pos - snapped) < 1e-9  # float noise from k * ratio must not create tiny blends
    pos = np.where(on_frame, snapped, pos)

    a = np.minimum(np.floor(pos).astype(np.int64), n - 1)
    b = np.minimum(a + 1, n - 1)
    w = (pos - a)[:, None, None]  # [M, 1, 1]

    kp = seq.keypoints.astype(np.float64)
    ka, kb = kp[a], kp[b]  # [M, P, K, 3]
    va, vb = ka[..., 2] > 0, kb[..., 2] > 0
    both = va & vb & (w > 0)  # w == 0: the pose is frame a itself
    near_is_a = np.broadcast_to(w <= 0.5, va.shape)
    near = np.where(near_is_a[..., None], ka, kb)
    near_valid = np.where(near_is_a, va, vb)

    out = np.zeros_like(ka)
    out[near_valid] = near[near_valid]
    blend_xy = (1.0 - w[..., None]) * ka[..., :2] + w[..., None] * kb[..., :2]
    blend_c = np.minimum(ka[..., 2], kb[..., 2])
    out[..., :2] = np.where(both[..., None], blend_xy, out[..., :2])
    out[..., 2] = np.where(both, blend_c, out[..., 2])
    return seq.with_keypoints(out.astype(np.float32), fps=float(target_fps), inserted=())


# --- pad ----------------------------------------------------------------------------------------------------------


def pad_indices(num_frames: int, length: int, mode: PadMode) -> np.ndarray:
    """The source frame of each of ``length`` output frames.

    - ``loop``: 0, 1, …, L-1, 0, 1, …
    - ``mirror``: PoseGen's padding (§4.2): the time-reversed continuation that repeats the edge frame,
      0, …, L-1, L-1, L-2, …, 0, 0, 1, … (period 2L, bouncing back again when still short).
    - ``hold``: 0, …, L-1, L-1, L-1, …
    A ``length`` below ``num_frames`` gives the first ``length`` frames in every mode.
    """
    if num_frames <= 0:
        raise ValueError("pad_to_length: the sequence has no frames")
    k = np.arange(length, dtype=np.int64)
    if mode == "loop":
        return k % num_frames
    if mode == "mirror":
        m = k % (2 * num_frames)
        return np.where(m < num_frames, m, 2 * num_frames - 1 - m)
    if mode == "hold":
        return np.minimum(k, num_frames - 1)
    raise PoseGenInputError("mode", f"{mode!r} is unknown.", "'loop', 'mirror' or 'hold'")


def pad_to_length(seq: PoseSequence, length: int, mode: PadMode = "mirror") -> PoseSequence:
    """Exactly ``length`` frames: longer input is trimmed, shorter is padded by ``mode`` (see :func:`pad_indices`)."""
    if isinstance(length, bool) or not isinstance(length, int | np.integer) or length <= 0:
        raise PoseGenInputError("length", f"{length!r}.", "a positive whole number of frames")
    return _select(seq, pad_indices(seq.num_frames, int(length), mode))


# --- smooth -------------------------------------------------------------------------------------------------------


def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
    """Smoothing factor of a first-order low-pass with the given cutoff (Hz) at sample interval dt (s)."""
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


def smooth(seq: PoseSequence, min_cutoff: float = 1.0, beta: float = 0.05, d_cutoff: float = 1.0) -> PoseSequence:
    """One-euro filter (Casiez et al., CHI 2012) on every keypoint coordinate over time.

    The filter is a low-pass whose cutoff rises with speed, so jitter on a still joint is removed while fast motion
    is followed with little lag:

    - ``min_cutoff`` (Hz): cutoff at rest. Lower removes more jitter on still points but lags slow motion more.
    - ``beta`` (s/px): how fast the cutoff rises with speed (``cutoff = min_cutoff + beta * |speed px/s|``).
      Higher follows fast motion more tightly; 0 turns it into a fixed low-pass.
    - ``d_cutoff`` (Hz): cutoff of the low-pass on the speed estimate itself.

    Time steps come from ``seq.fps`` (30 if unknown). A point's filter restarts from the raw value when it reappears
    after being missing, so a gap never drags the pose from where it was last seen. Missing points stay missing,
    confidences are unchanged, and inserted reference frames pass through untouched without touching the state.
    """
    for name, value in (("min_cutoff", min_cutoff), ("d_cutoff", d_cutoff)):
        if not (math.isfinite(value) and value > 0):
            raise PoseGenInputError(name, f"{value}.", "a positive cutoff in Hz")
    if not (math.isfinite(beta) and beta >= 0):
        raise PoseGenInputError("beta", f"{beta}.", "0 or more")
    dt = 1.0 / (seq.fps or DEFAULT_FPS)
    kp = seq.keypoints.astype(np.float64)
    out = kp.copy()
    shape = kp.shape[1:3] + (2,)
    x_prev = np.zeros(shape)
    dx_prev = np.zeros(shape)
    alive = np.zeros(shape[:2], dtype=bool)  # has filter state from the previous driving frame
    a_d = _alpha(d_cutoff, dt)
    inserted = set(seq.inserted)
    for f in range(seq.num_frames):
        if f in inserted:
            continue
        x = kp[f, ..., :2]
        valid = kp[f, ..., 2] > 0
        dx = (x - x_prev) / dt
        dx_hat = a_d * dx + (1.0 - a_d) * dx_prev
        a = _alpha(min_cutoff + beta * np.abs(dx_hat), dt)
        x_hat = a * x + (1.0 - a) * x_prev
        cont = (valid & alive)[..., None]
        # restart: take the raw value and assume zero speed
        x_new = np.where(cont, x_hat, x)
        dx_new = np.where(cont, dx_hat, 0.0)
        out[f, ..., :2] = np.where(valid[..., None], x_new, kp[f, ..., :2])
        x_prev = np.where(valid[..., None], x_new, x_prev)
        dx_prev = np.where(valid[..., None], dx_new, dx_prev)
        alive = valid
    return seq.with_keypoints(out.astype(np.float32))


# --- sparsify -----------------------------------------------------------------------------------------------------


def sparsify(seq: PoseSequence, keep: Sequence[int] | None = None, every: int | None = None) -> PoseSequence:
    """Sparse pose control (PoseAnything-style): only the kept frames carry poses, all others become all-missing;
    the frame count is unchanged so frames stay aligned with the video.

    ``keep`` lists frame indices (negative counts from the end); ``every=n`` keeps frames 0, n, 2n, …; given both,
    the union is kept. Inserted reference frames are always kept: blanking them would defeat the insertion.
    """
    if keep is None and every is None:
        raise PoseGenInputError("keep", "neither keep nor every is given.", "frame indices to keep and/or a step")
    n = seq.num_frames
    kept = np.zeros(n, dtype=bool)
    if every is not None:
        if isinstance(every, bool) or not isinstance(every, int | np.integer) or every <= 0:
            raise PoseGenInputError("every", f"{every!r}.", "a positive whole step")
        kept[:: int(every)] = True
    if keep is not None:
        for i in keep:
            if isinstance(i, bool) or not isinstance(i, int | np.integer) or not -n <= i < n:
                raise PoseGenInputError("keep", f"frame {i!r} is outside the {n} frames.",
                                        f"frame numbers from {-n} to {n - 1}")
            kept[int(i)] = True
    kept[list(seq.inserted)] = True
    out = seq.keypoints.copy()
    out[~kept] = 0.0
    return seq.with_keypoints(out)


# --- mirror -------------------------------------------------------------------------------------------------------


def mirror_horizontally(seq: PoseSequence) -> PoseSequence:
    """Flip left-right on the same canvas: ``x -> width - x`` (pixel coordinates are continuous, so the canvas
    edges swap exactly) and every ``flip_pairs`` twin swaps its slot, so a left wrist that moves to the right side
    is named a right wrist again, as a pose estimator would name it on the flipped image. Points not in any
    pair (nose, neck, face landmarks of skeletons without face pairs) only move. Applying it twice is the identity.
    """
    kp = seq.keypoints.copy()
    valid = kp[..., 2] > 0
    kp[..., 0] = np.where(valid, seq.width - kp[..., 0], 0.0)
    perm = np.arange(seq.skeleton.num_keypoints)
    for a, b in seq.skeleton.flip_pairs:
        perm[a], perm[b] = b, a
    return seq.with_keypoints(kp[:, :, perm])
