"""COCO-WholeBody-133 poses (Sapiens, RTMPose, mmpose) as ``human`` sequences in OpenPose order (§8.2).

Arrays ``[frames, (people,) 133, 2|3]`` with optional scores, ``.npy`` files of them, and JSON files of persons
``{"keypoints": [[x, y]*133], "keypoint_scores": [s*133]}``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..sequence import PoseDataError, PoseSequence
from ..skeletons import HUMAN
from .checks import (
    MAX_COORDINATE,
    Invalid,
    PoseInputError,
    canvas_holding,
    describe,
    given_canvas,
    guarded,
    is_number,
    positive_fps,
)
from .files import load_json

# §8.2: OpenPose-18 row d takes COCO row COCO_TO_OPENPOSE18[d], counted after the neck is inserted at row 17
COCO_TO_OPENPOSE18 = (0, 17, 6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15, 2, 1, 4, 3)


def coco_wholebody_to_human(points: np.ndarray) -> np.ndarray:
    """[..., 133, 3] COCO-WholeBody (x, y, score) -> [..., 136, 3] HUMAN rows, §8.2 exactly.

    Neck = mean of the shoulders (rows 5, 6) for x, y and score, inserted at row 17; rows 0..17 reordered into
    OpenPose-18 (simultaneously); feet 18..23 and face 24..91 follow, pupils 92, 93 stay missing, hands 94..135.
    """
    points = np.asarray(points, dtype=np.float64)
    neck = points[..., 5:7, :].mean(axis=-2, keepdims=True)
    rows = np.concatenate([points[..., :17, :], neck, points[..., 17:, :]], axis=-2)  # 134 rows
    rows[..., :18, :] = rows[..., COCO_TO_OPENPOSE18, :]  # fancy indexing copies, so the swap is simultaneous
    out = np.zeros((*points.shape[:-2], HUMAN.num_keypoints, 3))
    out[..., :92, :] = rows[..., :92, :]
    out[..., 94:, :] = rows[..., 92:, :]
    return out


def _coco_sequence(points: np.ndarray, width: int | None, height: int | None, fps: float | None,
                   where: str) -> PoseSequence:
    """[F, P, 133, 3] with raw scores -> HUMAN sequence (canvas inferred when not given)."""
    human = coco_wholebody_to_human(points)
    # heatmap peaks may exceed 1 or go negative; clipping after the neck mean keeps every threshold in (0, 1] exact
    human[..., 2] = np.clip(human[..., 2], 0.0, 1.0)
    human[human[..., 2].astype(np.float32) <= 0] = 0.0
    if np.abs(human[..., :2]).max(initial=0.0) > MAX_COORDINATE:
        raise Invalid(where, "coordinates beyond +-1e6 pixels", "pixel coordinates")
    canvas = given_canvas(width, height)
    if canvas is None:
        xy = human[..., :2][human[..., 2] > 0]
        if not xy.size:
            raise Invalid(where, "no keypoint to infer the canvas size from", "width and height given explicitly")
        canvas = canvas_holding(xy, where)
    if human.shape[1] == 0:
        human = np.zeros((human.shape[0], 1, *human.shape[2:]))
    try:
        return PoseSequence(HUMAN, human.astype(np.float32), canvas[0], canvas[1], positive_fps(fps, "", "fps"))
    except PoseDataError as exc:
        raise Invalid(where, exc.problem) from None


# --- arrays -----------------------------------------------------------------------------------------------------

def _keypoint_array(keypoints: np.ndarray) -> np.ndarray:
    """float64 [frames, people, 133, 2|3] (one person gets its people axis)."""
    kps = np.asarray(keypoints)
    if kps.dtype.kind not in "iuf":
        raise Invalid("", f"keypoints have dtype {kps.dtype}", "a numeric array")
    if kps.ndim not in (3, 4) or kps.shape[-2] != 133 or kps.shape[-1] not in (2, 3) or kps.shape[0] == 0:
        raise Invalid("", f"keypoints have shape {kps.shape}", "[frames, people, 133, 2|3] or [frames, 133, 2|3]"
                                                               " with at least one frame")
    if kps.ndim == 3:
        kps = kps[:, None]
    return kps.astype(np.float64)


def _score_array(scores: np.ndarray | None, kps: np.ndarray, single: bool, keypoints: np.ndarray) -> np.ndarray:
    """[frames, people, 133] scores: ``scores`` when given, else the third column, else 1.0 everywhere."""
    if scores is None:
        return kps[..., 2] if kps.shape[-1] == 3 else np.ones(kps.shape[:-1])
    sc = np.asarray(scores)
    if sc.dtype.kind not in "iuf":
        raise Invalid("", f"scores have dtype {sc.dtype}", "a numeric array")
    if single and sc.ndim == 2:
        sc = sc[:, None]
    if sc.shape != kps.shape[:-1]:
        raise Invalid("", f"scores have shape {np.asarray(scores).shape} for keypoints "
                          f"{np.asarray(keypoints).shape}", "one score per keypoint")
    return sc.astype(np.float64)


def from_coco_wholebody(keypoints: np.ndarray, scores: np.ndarray | None, width: int | None, height: int | None,
                        fps: float | None = None, *, input_name: str = "keypoints") -> PoseSequence:
    """COCO-WholeBody-133 arrays (Sapiens, RTMPose, ...) -> ``human`` sequence in OpenPose order (§8.2).

    ``keypoints``: [frames, people, 133, 2|3] or [frames, 133, 2|3] (one person), pixels. Scores come from
    ``scores`` ([frames, (people,) 133]) when given, else the third column, else 1.0 for every point. Scores
    outside [0, 1] are clipped after the neck is computed; score 0 means missing. ``width``/``height`` None:
    the smallest even canvas containing every present point.
    """
    def read() -> PoseSequence:
        kps = _keypoint_array(keypoints)
        sc = _score_array(scores, kps, np.asarray(keypoints).ndim == 3, keypoints)
        points = np.concatenate([kps[..., :2], sc[..., None]], axis=-1)
        if not np.isfinite(points).all():
            raise Invalid("", "keypoints or scores contain NaN or infinite values", "finite numbers")
        return _coco_sequence(points, width, height, fps, "")

    return guarded(input_name, read)


# --- files ------------------------------------------------------------------------------------------------------

def _coco_person(person: Any, where: str) -> np.ndarray:
    """One ``{"keypoints": [[x, y]*133], "keypoint_scores": [s*133]}`` as [133, 3] with raw scores."""
    if not isinstance(person, dict) or "keypoints" not in person:
        raise Invalid(where, f"is {describe(person)}", "an object with 'keypoints' (133 [x, y]) and "
                                                       "'keypoint_scores' (133 numbers)")
    raw = person["keypoints"]
    if not isinstance(raw, list) or len(raw) != 133:
        size = len(raw) if isinstance(raw, list) else describe(raw)
        raise Invalid(where, f"'keypoints' has {size} entries", "133 [x, y] pairs")
    columns = {len(p) if isinstance(p, list) else -1 for p in raw}
    if len(columns) != 1 or columns.pop() not in (2, 3):
        raise Invalid(where, "'keypoints' entries are not all [x, y] (or all [x, y, score]) lists", "133 [x, y]")
    flat = [v for p in raw for v in p]
    for i, value in enumerate(flat):
        if not is_number(value):
            raise Invalid(where, f"'keypoints' entry {i // len(raw[0])} holds {describe(value)}", "numbers")
    points = np.array(flat, dtype=np.float64).reshape(133, -1)
    scores = person.get("keypoint_scores")
    if scores is not None:
        if (not isinstance(scores, list) or len(scores) != 133 or not all(is_number(s) for s in scores)):
            raise Invalid(where, f"'keypoint_scores' is {describe(scores)}", "133 numbers")
        score_col = np.array(scores, dtype=np.float64)
    elif points.shape[1] == 3:
        score_col = points[:, 2]
    else:
        score_col = np.ones(133)
    out = np.concatenate([points[:, :2], score_col[:, None]], axis=1)
    if not np.isfinite(out).all():
        raise Invalid(where, "'keypoints' or 'keypoint_scores' hold NaN or infinite values", "finite numbers")
    return out


def _json_points(path: Path) -> np.ndarray:
    """A COCO-WholeBody JSON file's persons as [frames, people, 133, 3] with raw scores (absent people zero)."""
    data = load_json(path)
    if isinstance(data, dict):
        if "instance_info" not in data:
            raise Invalid(path.name, "is an object without 'instance_info'", "a list over frames of persons")
        data = data["instance_info"]
    if not isinstance(data, list) or not data:
        raise Invalid(path.name, f"holds {describe(data)}", "a non-empty list over frames of lists of persons")
    if all(isinstance(e, dict) and "keypoints" in e for e in data):
        data = [data]  # a single image's persons
    frames: list[list[np.ndarray]] = []
    for f, entry in enumerate(data):
        where = f"'{path.name}' frame {f}"
        if isinstance(entry, dict) and "instances" in entry:
            entry = entry["instances"]
        if not isinstance(entry, list):
            raise Invalid(where, f"is {describe(entry)}", "a list of persons")
        frames.append([_coco_person(p, f"{where}, person {i}") for i, p in enumerate(entry)])
    slots = max(1, max(len(persons) for persons in frames))
    points = np.zeros((len(frames), slots, 133, 3))
    for f, persons in enumerate(frames):
        for p, person in enumerate(persons):
            points[f, p] = person
    return points


def read_coco_wholebody_json(path: str | Path, width: int | None = None, height: int | None = None,
                             fps: float | None = None, *, input_name: str = "pose_file") -> PoseSequence:
    """COCO-WholeBody poses from a file -> ``human`` sequence (see :func:`from_coco_wholebody`).

    ``.npy``: an array [frames, (people,) 133, 3] (x, y, score). JSON (PoseGen/Sapiens style): a list over frames
    of lists of persons ``{"keypoints": [[x, y]*133], "keypoint_scores": [s*133]}``, or a dict whose
    ``instance_info`` holds that list (mmpose's ``{"frame_id", "instances": [...]}`` frame entries work too; a
    plain list of persons is one frame). Missing ``width``/``height``: the smallest even canvas holding every point.
    """
    path = Path(path)

    def read_npy() -> PoseSequence:
        try:
            array = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError) as exc:
            raise Invalid(path.name, f"is not a readable .npy array ({exc})", "a numpy .npy file") from None
        try:
            return from_coco_wholebody(array, None, width, height, fps, input_name=input_name)
        except PoseInputError as exc:
            raise Invalid(path.name, exc.problem, exc.expected) from None

    def read() -> PoseSequence:
        if path.suffix.lower() == ".npy":
            return read_npy()
        return _coco_sequence(_json_points(path), width, height, fps, f"'{path.name}'")

    return guarded(input_name, read)
