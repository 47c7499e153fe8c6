"""ComfyUI's POSE_KEYPOINT value, as comfyui_controlnet_aux defines it, read into and written from a PoseSequence.

Frames are cn_aux's human format (``people``), its AP10K format (``animals``) or this pack's ``subjects`` format for
any other skeleton, each with an optional ``posegen`` block (see :mod:`.frames`).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from ..sequence import PoseSequence
from ..skeletons import AP10K, BODY18, BUILTIN, HUMAN
from .checks import Invalid, describe, guarded
from .frames import sequence_from_frames


def _frames_of(data: Any) -> list[Any]:
    """The frames of a POSE_KEYPOINT value: a list of frames, one frame, or JSON text (or bytes) of either."""
    if isinstance(data, bytes | bytearray):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise Invalid("", f"the text is not UTF-8 ({exc})", "POSE_KEYPOINT JSON") from None
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise Invalid("", f"the text is not valid JSON ({exc})", "POSE_KEYPOINT JSON") from None
    if isinstance(data, dict):
        return [data]
    if isinstance(data, list | tuple):
        if not data:
            raise Invalid("", "the list of frames is empty", "at least one frame")
        return list(data)
    raise Invalid("", f"got {describe(data)}", "a list of frame objects (ComfyUI POSE_KEYPOINT), one frame "
                                               "object, or JSON text of either")


def from_pose_keypoint(data: Any, *, input_name: str = "pose_keypoint") -> PoseSequence:
    """Read ComfyUI's POSE_KEYPOINT (a list of frame dicts, one frame dict, or JSON text of either).

    Frames are cn_aux's human format (``people`` -> skeleton ``human``, or ``openpose_body18`` when our ``posegen``
    block says so), cn_aux's AP10K format (``animals`` -> ``ap10k``) or our ``subjects`` format for any other
    skeleton. Frames may hold different numbers of people: the sequence gets the largest count and absent people
    are all-missing. See the package docstring for confidences and normalized coordinates.
    """
    def read() -> PoseSequence:
        frames = _frames_of(data)
        return sequence_from_frames(frames, [f"frame {i}" for i in range(len(frames))])

    return guarded(input_name, read)


# --- writing ----------------------------------------------------------------------------------------------------

def _flat(points: np.ndarray) -> list[float]:
    """float32 [n, 3] as Python floats (exact), missing points as zero triples."""
    out = points.astype(np.float64)
    out[out[:, 2] <= 0] = 0.0
    return out.reshape(-1).tolist()


def _nested(points: np.ndarray) -> list[list[float]]:
    out = points.astype(np.float64)
    out[out[:, 2] <= 0] = 0.0
    return out.tolist()


def _part_or_null(points: np.ndarray) -> list[float] | None:
    return _flat(points) if (points[:, 2] > 0).any() else None


def _person(points: np.ndarray, human: bool) -> dict[str, Any]:
    """One cn_aux person: the body always, the other parts ``null`` when they have no point."""
    person: dict[str, Any] = {"pose_keypoints_2d": _flat(points[0:18])}
    if human:
        person["face_keypoints_2d"] = _part_or_null(points[24:94])
        person["hand_left_keypoints_2d"] = _part_or_null(points[94:115])
        person["hand_right_keypoints_2d"] = _part_or_null(points[115:136])
        person["foot_keypoints_2d"] = _part_or_null(points[18:24])
    else:
        person.update(face_keypoints_2d=None, hand_left_keypoints_2d=None, hand_right_keypoints_2d=None)
    return person


def to_pose_keypoint(seq: PoseSequence) -> list[dict[str, Any]]:
    """The sequence as ComfyUI POSE_KEYPOINT, readable by cn_aux's nodes and back by :func:`from_pose_keypoint`.

    ``human``/``openpose_body18`` use cn_aux's people format in pixels (body always present, other parts ``null``
    when they have no point; our extra ``foot_keypoints_2d``); ``ap10k`` the ``animals`` format; anything else the
    ``subjects`` format. Every frame carries a ``posegen`` block with the skeleton, fps, inserted flag and units.
    Every person slot is written, even an empty one, so the people count survives the round trip.
    """
    skeleton = seq.skeleton
    builtin_match = BUILTIN.get(skeleton.name) == skeleton
    human = skeleton == HUMAN
    kind = "people" if human or skeleton == BODY18 else "animals" if skeleton == AP10K else "subjects"
    inserted = set(seq.inserted)
    frames: list[dict[str, Any]] = []
    for f in range(seq.num_frames):
        frame: dict[str, Any] = {}
        if kind == "people":
            frame["people"] = [_person(points, human) for points in seq.keypoints[f]]
        else:
            frame["version"] = "ap10k" if kind == "animals" else "posegen"
            frame[kind] = [_nested(points) for points in seq.keypoints[f]]
        frame["canvas_height"] = int(seq.height)
        frame["canvas_width"] = int(seq.width)
        frame["posegen"] = {"skeleton": skeleton.name if builtin_match else skeleton.to_json(),
                            "fps": None if seq.fps is None else float(seq.fps), "inserted": f in inserted,
                            "units": "pixels"}
        frames.append(frame)
    return frames


def same_poses(a: PoseSequence, b: PoseSequence) -> bool:
    """Equal skeleton, canvas, fps, inserted frames, confidences and present points' positions (x, y of missing
    points are meaningless and ignored); compared exactly in float32."""
    if (a.skeleton != b.skeleton or (a.width, a.height, a.fps, a.inserted) != (b.width, b.height, b.fps, b.inserted)
            or a.keypoints.shape != b.keypoints.shape):
        return False
    if not np.array_equal(a.confidence, b.confidence):
        return False
    present = a.confidence > 0
    return bool(np.array_equal(a.xy[present], b.xy[present]))
