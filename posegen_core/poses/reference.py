"""PoseCrafter's reference-frame selection and reference-pose insertion (Zhong et al., §4.2).

Selection (their Eq. 5): given the poses r_1..r_M of the subject's own clip and the target poses t_1..t_N, the
reference frame is ``j* = argmin_j Σ_i ‖n(r_j) − n(t_i)‖``: the clip frame whose pose is closest to the whole target
motion, so the appearance the model starts from needs the least change. Poses are compared after
:func:`normalise_pose` (position and size removed), because the subject's clip and the target come from different
videos and framings.

Insertion: the selected frame's pose is inserted into the target sequence (position 0, the key frame, by default),
the model generates one extra frame for it, and :func:`drop_inserted` removes that frame afterwards. The index is
recorded in ``PoseSequence.inserted`` so every later sequence operation keeps track of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import numpy as np

from ..errors import PoseGenInputError
from .sequence import PoseSequence
from .skeletons import BODY18

T = TypeVar("T")


def normalise_pose(xy: np.ndarray, valid: np.ndarray, body: Sequence[int] | slice | None = None) -> np.ndarray:
    """Poses with position and size removed: ``(xy - c) / s`` where ``c`` is the mean of the present ``body``
    points and ``s`` their RMS distance from ``c``.

    ``xy`` is [..., K, 2] and ``valid`` [..., K]; every leading index is one pose. ``body`` picks the points that
    define centre and scale (default: all). The body is used rather than all points because a human pose's 112
    face and hand points are tightly clustered and would pull the centre to the head and shrink the scale.
    Missing points come out as 0. A pose with no present body point is returned as all zeros; with a single one
    (zero radius) only the centre is removed. The result is invariant to translating and uniformly scaling a pose.
    """
    xy = np.asarray(xy, dtype=np.float64)
    valid = np.asarray(valid, dtype=bool)
    if xy.shape[:-1] != valid.shape or xy.shape[-1] != 2:
        raise ValueError(f"normalise_pose: xy {xy.shape} must be [..., K, 2] with valid [..., K], got {valid.shape}")
    sel = np.zeros(valid.shape[-1], dtype=bool)
    sel[slice(None) if body is None else body] = True
    bvalid = valid & sel
    count = bvalid.sum(-1, keepdims=True)  # [..., 1]
    safe = np.maximum(count, 1)
    centre = (xy * bvalid[..., None]).sum(-2) / safe  # [..., 2]
    d2 = (((xy - centre[..., None, :]) ** 2).sum(-1) * bvalid).sum(-1, keepdims=True) / safe
    radius = np.sqrt(d2)
    scale = np.where(radius > 1e-9, radius, 1.0)
    out = (xy - centre[..., None, :]) / scale[..., None]
    return np.where((valid & (count > 0))[..., None], out, 0.0)


def _body_points(seq: PoseSequence) -> list[int]:
    """The points Eq. 5 compares: the 18 body points for OpenPose layouts (face and hand landmarks are many,
    small and noisy and would outweigh the body), every point for other skeletons."""
    if seq.skeleton.keypoints[:18] == BODY18.keypoints:
        return list(range(18))
    return list(range(seq.skeleton.num_keypoints))


MIN_SHARED = 3  # fewer shared points than this cannot be compared: 1 or 2 points normalise to a trivial match


def pose_distances(reference_clip: PoseSequence, target: PoseSequence, person: int = 0) -> np.ndarray:
    """[M, N] distance between reference pose j and target pose i: both are normalised (:func:`normalise_pose`)
    over the keypoints present in *both*, then the Euclidean distances of those keypoints are averaged.

    Normalising each pair over its shared points, and averaging rather than summing, is what makes partial poses
    compare fairly: an upper-body-only frame matching the target's upper body scores 0, where normalising each pose
    over its own points would shift and shrink it against a full-body target. NaN where fewer than
    :data:`MIN_SHARED` keypoints are shared.
    """
    if reference_clip.skeleton.num_keypoints != target.skeleton.num_keypoints:
        raise PoseGenInputError("target", f"skeleton '{target.skeleton.name}', the reference clip's is "
                                f"'{reference_clip.skeleton.name}'.", "the reference clip's skeleton")
    for name, seq in (("reference_clip", reference_clip), ("target", target)):
        if not 0 <= person < seq.num_people:
            raise PoseGenInputError("person", f"person {person} but {name} has {seq.num_people} people.")
    pts = _body_points(target)
    rv = reference_clip.valid()[:, person][:, pts]
    tv = target.valid()[:, person][:, pts]
    rxy = reference_clip.xy[:, person][:, pts].astype(np.float64)
    txy = target.xy[:, person][:, pts].astype(np.float64)
    m, n, k = rxy.shape[0], txy.shape[0], len(pts)
    out = np.empty((m, n))
    # chunk over reference frames to bound memory at [chunk, N, K, 2]
    step = max(1, 1_000_000 // max(1, n * k))
    for s in range(0, m, step):
        both = rv[s:s + step, None] & tv[None]  # [c, N, K]
        rn = normalise_pose(np.broadcast_to(rxy[s:s + step, None], both.shape + (2,)), both)
        tn = normalise_pose(np.broadcast_to(txy[None], both.shape + (2,)), both)
        d = np.linalg.norm(rn - tn, axis=-1)
        shared = both.sum(-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[s:s + step] = np.where(shared >= MIN_SHARED, (d * both).sum(-1) / np.maximum(shared, 1), np.nan)
    return out


def select_reference_frame(reference_clip: PoseSequence, target: PoseSequence, person: int = 0) -> int:
    """PoseCrafter's Eq. 5: the index j of the reference-clip frame minimising Σ_i dist(n(r_j), n(t_i)) over the
    target frames i (see :func:`pose_distances`).

    - Reference frames without the person (no body point present) are never chosen; if no frame has one, error.
    - Target frames without the person say nothing about the choice and are skipped.
    - A reference frame sharing fewer than :data:`MIN_SHARED` keypoints with a target frame cannot be compared
      there; frames comparable with more target frames win first, then the smaller sum (so a frame cannot win by
      overlapping nothing).
    - Ties go to the lowest index.
    """
    dist = pose_distances(reference_clip, target, person)  # validates skeletons and person first
    pts = _body_points(target)
    has_ref = reference_clip.valid()[:, person][:, pts].any(-1)
    if not has_ref.any():
        raise PoseGenInputError("reference_clip", f"no reference-clip frame shows person {person}.",
                                "at least one frame with that person's body")
    has_target = target.valid()[:, person][:, pts].any(-1)
    dist = dist[:, has_target]
    missing = np.isnan(dist).sum(-1)
    total = np.nansum(dist, axis=-1)
    candidates = np.flatnonzero(has_ref)
    # lexsort: last key is primary; candidates are ascending, so np.lexsort's stable order breaks ties by index
    order = np.lexsort((total[candidates], missing[candidates]))
    return int(candidates[order[0]])


def fit_to_canvas(seq: PoseSequence, width: int, height: int) -> PoseSequence:
    """``seq`` moved onto a ``width`` x ``height`` canvas by fitting: uniformly scaled by
    ``min(width / seq.width, height / seq.height)`` and centred (letterboxed), as the reference image itself is
    fitted, so proportions are never distorted and nothing falls outside the canvas."""
    if (seq.width, seq.height) == (width, height):
        return seq
    s = min(width / seq.width, height / seq.height)
    ox, oy = (width - seq.width * s) / 2.0, (height - seq.height * s) / 2.0
    kp = seq.keypoints.astype(np.float64).copy()
    valid = kp[..., 2] > 0
    kp[..., 0] = np.where(valid, kp[..., 0] * s + ox, 0.0)
    kp[..., 1] = np.where(valid, kp[..., 1] * s + oy, 0.0)
    return seq.with_keypoints(kp.astype(np.float32), width=width, height=height)


def insert_reference_pose(target: PoseSequence, reference_pose_frame: PoseSequence, position: int = 0) -> PoseSequence:
    """``target`` with the reference pose inserted before frame ``position`` (0 = PoseCrafter's key-frame position,
    ``target.num_frames`` = append) and recorded in ``inserted``; earlier markers at or after ``position`` shift.

    ``reference_pose_frame`` is one frame (e.g. ``clip.frames([j])``) on the same skeleton; if its canvas differs
    from the target's it is fitted onto it (:func:`fit_to_canvas`). Its people are matched by index: extra ones are
    dropped, missing ones are all-missing.
    """
    if reference_pose_frame.num_frames != 1:
        raise PoseGenInputError("reference_pose_frame", f"{reference_pose_frame.num_frames} frames.", "1 frame")
    if reference_pose_frame.skeleton.num_keypoints != target.skeleton.num_keypoints:
        raise PoseGenInputError("reference_pose_frame", f"skeleton '{reference_pose_frame.skeleton.name}', the "
                                f"target's is '{target.skeleton.name}'.", "the target's skeleton")
    n = target.num_frames
    if isinstance(position, bool) or not isinstance(position, int | np.integer) or not 0 <= position <= n:
        raise PoseGenInputError("position", f"{position!r}.", f"a frame position in 0..{n}")
    ref = fit_to_canvas(reference_pose_frame, target.width, target.height).keypoints[0]
    frame = np.zeros(target.keypoints.shape[1:], dtype=np.float32)
    people = min(frame.shape[0], ref.shape[0])
    frame[:people] = ref[:people]
    kp = np.concatenate([target.keypoints[:position], frame[None], target.keypoints[position:]], axis=0)
    inserted = tuple(sorted([i + 1 if i >= position else i for i in target.inserted] + [int(position)]))
    return target.with_keypoints(kp, inserted=inserted)


def kept_indices(seq: PoseSequence) -> list[int]:
    """Indices of the frames that are not inserted reference frames, in order."""
    marked = set(seq.inserted)
    return [i for i in range(seq.num_frames) if i not in marked]


def drop_inserted(frames: T, seq: PoseSequence) -> T:
    """``frames`` (numpy array or torch tensor, frames first, aligned with ``seq``) without the frames generated for
    inserted reference poses. Indexing with a plain list of ints is advanced indexing in both numpy and torch, so
    the result has the same type, dtype and device and is a copy."""
    shape: Any = getattr(frames, "shape", None)
    if shape is None or len(shape) == 0:
        raise PoseGenInputError("frames", f"got {type(frames).__name__}.", "an array or tensor with frames first")
    if int(shape[0]) != seq.num_frames:
        raise PoseGenInputError("frames", f"{int(shape[0])} frames but the pose sequence has {seq.num_frames}.",
                                "one frame per pose")
    return frames[kept_indices(seq)]  # type: ignore[index]
