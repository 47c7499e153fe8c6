"""Choosing one person out of a multi-person PoseSequence (PoseGen animates a single subject)."""

from __future__ import annotations

from typing import Literal

import numpy as np

from ..errors import PoseGenInputError
from .sequence import PoseSequence

SelectMode = Literal["largest", "index", "track"]
SELECT_MODES: tuple[str, ...] = ("largest", "index", "track")


def bbox_areas(seq: PoseSequence) -> np.ndarray:
    """float64 [frames, people]: bounding-box area of each person's present keypoints; -1 for nobody there (so a
    single visible point, area 0, still beats an empty slot)."""
    present = seq.valid()
    xy = seq.xy.astype(np.float64)
    lo = np.where(present[..., None], xy, np.inf).min(axis=2)
    hi = np.where(present[..., None], xy, -np.inf).max(axis=2)
    someone = present.any(axis=2)
    span = np.where(someone[..., None], hi - lo, 0.0)
    return np.where(someone, span[..., 0] * span[..., 1], -1.0)


def _bbox_centre(points: np.ndarray, present: np.ndarray) -> np.ndarray:
    xy = points[present, :2].astype(np.float64)
    return (xy.min(axis=0) + xy.max(axis=0)) / 2


def pose_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Distance between two [keypoints, 3] poses: mean pixel distance over keypoints present in both, else (no
    common keypoint) the distance of their bounding-box centres. Both poses need at least one present point."""
    pa, pb = a[:, 2] > 0, b[:, 2] > 0
    common = pa & pb
    if common.any():
        diff = a[common, :2].astype(np.float64) - b[common, :2].astype(np.float64)
        return float(np.linalg.norm(diff, axis=1).mean())
    return float(np.linalg.norm(_bbox_centre(a, pa) - _bbox_centre(b, pb)))


def select_person(seq: PoseSequence, mode: SelectMode = "largest", index: int = 0) -> PoseSequence:
    """A one-person sequence picked from ``seq``.

    - ``largest``: per frame, the person whose present keypoints span the largest bounding box (ties: lower slot).
    - ``index``: slot ``index`` in every frame. Slot 0 always exists; a higher slot must hold someone in at least
      one frame, else ``person_index`` is reported.
    - ``track``: the largest person of the first frame with anyone, then in each later frame the person nearest
      (:func:`pose_distance`) to the last pose chosen; identity survives people swapping slots between frames.
    Frames where nobody is present come out all-missing.
    """
    kp = seq.keypoints
    present = seq.valid()
    someone = present.any(axis=2)  # [frames, people]
    out = np.zeros((seq.num_frames, 1, seq.skeleton.num_keypoints, 3), dtype=np.float32)
    if mode == "index":
        if isinstance(index, bool) or not isinstance(index, int | np.integer):
            raise PoseGenInputError("person_index", f"got {index!r}.", "a whole number")
        occupied = np.flatnonzero(someone.any(axis=0))
        slots = int(occupied.max()) + 1 if occupied.size else 0
        if not 0 <= index < max(1, slots):
            raise PoseGenInputError("person_index", f"person {index} does not exist: frames hold at most {slots} "
                                                    "people.", f"an index in 0..{max(1, slots) - 1}")
        out[:, 0] = kp[:, index]
    elif mode == "largest":
        choice = bbox_areas(seq).argmax(axis=1)  # argmax takes the first maximum: ties go to the lower slot
        frames = np.flatnonzero(someone.any(axis=1))
        out[frames, 0] = kp[frames, choice[frames]]
    elif mode == "track":
        areas = bbox_areas(seq)
        last: np.ndarray | None = None
        for f in range(seq.num_frames):
            candidates = np.flatnonzero(someone[f])
            if not candidates.size:
                continue
            if last is None:
                pick = int(areas[f].argmax())
            else:
                distances = [pose_distance(last, kp[f, p]) for p in candidates]
                pick = int(candidates[int(np.argmin(distances))])  # argmin: ties go to the lower slot
            out[f, 0] = kp[f, pick]
            last = kp[f, pick]
    else:
        raise PoseGenInputError("mode", f"unknown person selection '{mode}'.", f"one of {list(SELECT_MODES)}")
    return seq.with_keypoints(out)
