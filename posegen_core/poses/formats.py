"""Pose readers and writers: ComfyUI POSE_KEYPOINT, OpenPose JSON files, COCO-WholeBody arrays (no ComfyUI imports).

Everything is read into, and written from, a :class:`PoseSequence`.

Rules shared by the readers
- A keypoint is missing when its confidence is 0 (an all-zero triple, OpenPose's and cn_aux's "not found"); a
  missing point's x, y are stored as 0. A whole part given as ``null`` is missing.
- Confidences: cn_aux writes 1.0/0.0, other tools real scores. A value within ``SCORE_TOLERANCE`` (0.01) outside
  [0, 1] is float noise and is clamped; anything further out is an error, not silently clipped.
- Coordinates must be finite numbers within ``MAX_COORDINATE`` pixels of the origin (they may lie outside the
  canvas; poses leave the frame).
- Normalized coordinates: DWPose writes pixels, cn_aux's OpenPose preprocessor values in [0, 1]. A sequence is read
  as normalized, and scaled by the canvas size, when every present coordinate of every frame lies in [0, 1] and
  both canvas sides exceed 2 pixels (on a 2x2 canvas pixels and fractions cannot be told apart). Frames written
  by :func:`to_pose_keypoint` say ``"units": "pixels"`` in their ``posegen`` block, which overrides the guess (a
  pose squeezed into the top-left pixel then still round-trips).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import PoseGenInputError
from .sequence import PoseDataError, PoseSequence
from .skeletons import AP10K, BODY18, BUILTIN, HUMAN, Skeleton, SkeletonError

SCORE_TOLERANCE = 0.01
MAX_COORDINATE = 1e6  # pixels; larger values are garbage and would lose all precision in float32
MAX_CANVAS = 65536

# BODY_25 rows -> HUMAN rows. BODY_25 is nose, neck, r-shoulder, r-elbow, r-wrist, l-shoulder, l-elbow, l-wrist,
# mid-hip, r-hip, r-knee, r-ankle, l-hip, l-knee, l-ankle, r-eye, l-eye, r-ear, l-ear, l-big-toe, l-small-toe,
# l-heel, r-big-toe, r-small-toe, r-heel. Rows 0..7 keep their place, mid-hip (8) has no OpenPose-18 counterpart and
# is dropped, 9..18 move down by one to 8..17, and the six feet 19..24 become HUMAN's feet 18..23 (same order).
BODY25_TO_HUMAN: dict[int, int] = {**{i: i for i in range(8)}, **{i: i - 1 for i in range(9, 19)},
                                   **{i: i - 1 for i in range(19, 25)}}
_BODY25_SRC = np.array(sorted(BODY25_TO_HUMAN))
_BODY25_DST = np.array([BODY25_TO_HUMAN[i] for i in sorted(BODY25_TO_HUMAN)])

# Spec 8.2: OpenPose-18 row d takes COCO row COCO_TO_OPENPOSE18[d], counted after the neck is inserted at row 17
COCO_TO_OPENPOSE18 = (0, 17, 6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15, 2, 1, 4, 3)

# cn_aux person arrays: key, HUMAN row where the part starts, accepted point counts
_HUMAN_PARTS: tuple[tuple[str, int, tuple[int, ...]], ...] = (
    ("pose_keypoints_2d", 0, (18, 25)), ("foot_keypoints_2d", 18, (6,)), ("face_keypoints_2d", 24, (70, 68)),
    ("hand_left_keypoints_2d", 94, (21,)), ("hand_right_keypoints_2d", 115, (21,)))
_LIST_KEYS = {"people": "person", "animals": "animal", "subjects": "subject"}


class PoseInputError(PoseGenInputError):
    """Pose data that cannot be read; the message names the frame, person and field and what was expected."""

    def __init__(self, problem: str, expected: str | None = None, *, input_name: str = "pose_keypoint") -> None:
        # the house style: "<input>: <problem>. Expected <what>."
        super().__init__(input_name, problem if problem.endswith(".") else problem + ".", expected)


class _Invalid(Exception):
    """Internal: where and what; the public entry points turn it into PoseInputError with their input name.

    Not a ValueError on purpose, so the safety net for unexpected ValueErrors cannot swallow it.
    """

    def __init__(self, where: str, problem: str, expected: str | None = None) -> None:
        super().__init__(where, problem, expected)
        self.where, self.problem, self.expected = where, problem, expected

    def public(self, input_name: str) -> PoseInputError:
        text = f"{self.where}: {self.problem}" if self.where else self.problem
        return PoseInputError(text, self.expected, input_name=input_name)


def _guarded(input_name: str, read, *args, **kwargs):
    """Run a reader so that nothing but PoseInputError leaves it."""
    try:
        return read(*args, **kwargs)
    except _Invalid as exc:
        raise exc.public(input_name) from None
    except PoseInputError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError, RecursionError) as exc:
        # a shape of garbage the explicit checks did not foresee: still the user's input, still named
        raise PoseInputError(f"unreadable pose data ({type(exc).__name__}: {exc})",
                             "the documented layout", input_name=input_name) from exc


# --- small validators -------------------------------------------------------------------------------------------

def _describe(value: Any) -> str:
    try:
        text = repr(value)
    except (ValueError, RecursionError):  # ints past Python's digit limit, absurdly deep nesting
        return type(value).__name__
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{type(value).__name__} {text}"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool | np.bool_)


def _whole_positive(value: Any, where: str, what: str, limit: int = MAX_CANVAS) -> int:
    if not _is_number(value):
        raise _Invalid(where, f"{what} is {_describe(value)}", f"a whole number of pixels in 1..{limit}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number) or number != int(number) or not 1 <= number <= limit:
        raise _Invalid(where, f"{what} is {_describe(value)}", f"a whole number of pixels in 1..{limit}")
    return int(number)


def _positive_fps(value: Any, where: str, what: str = "'posegen.fps'") -> float | None:
    if value is None:
        return None
    try:
        number = float(value) if _is_number(value) else math.nan
    except OverflowError:
        number = math.inf
    if not math.isfinite(number) or number <= 0:
        raise _Invalid(where, f"{what} is {_describe(value)}", "a positive number or null")
    return number


def _point_floats(values: Sequence[Any], where: str, field: str) -> np.ndarray:
    """[x, y, c, ...] as float64 [n, 3], checked; confidences clamped within tolerance, missing points zeroed."""
    axis = ("x", "y", "confidence")
    for i, value in enumerate(values):
        if type(value) is float or type(value) is int:  # the common case, checked cheaply first
            continue
        if not _is_number(value):
            raise _Invalid(where, f"'{field}' point {i // 3} {axis[i % 3]} is {_describe(value)}", "a number")
    try:
        flat = np.array(values, dtype=np.float64)
    except OverflowError:
        flat = np.array([float(v) if abs(v) < 1e300 else math.inf for v in values], dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(flat))
    if bad.size:
        i = int(bad[0])
        raise _Invalid(where, f"'{field}' point {i // 3} {axis[i % 3]} is {_describe(values[i])}", "a finite number")
    points = flat.reshape(-1, 3)
    far = np.flatnonzero(np.abs(points[:, :2]).max(axis=1) > MAX_COORDINATE) if len(points) else np.array([])
    if far.size:
        i = int(far[0])
        raise _Invalid(where, f"'{field}' point {i} lies at ({points[i, 0]:g}, {points[i, 1]:g})",
                       f"coordinates within +-{MAX_COORDINATE:g} pixels")
    conf = points[:, 2]
    wild = np.flatnonzero((conf < -SCORE_TOLERANCE) | (conf > 1 + SCORE_TOLERANCE))
    if wild.size:
        i = int(wild[0])
        raise _Invalid(where, f"'{field}' point {i} has confidence {conf[i]:g}", "a confidence in [0, 1]")
    points[:, 2] = np.clip(conf, 0.0, 1.0)
    # a score too small for float32 is a missing point too; its position is then meaningless
    points[points[:, 2].astype(np.float32) <= 0] = 0.0
    return points


def _flat_triples(value: Any, where: str, field: str, counts: tuple[int, ...]) -> np.ndarray | None:
    """A flat cn_aux/OpenPose array of one of ``counts`` points, or None for null."""
    expected = " or ".join(f"{n} points ({3 * n} numbers)" for n in counts)
    if value is None:
        return None
    if isinstance(value, np.ndarray) and value.dtype.kind in "iuf":
        value = value.reshape(-1).tolist()
    if not isinstance(value, list | tuple):
        raise _Invalid(where, f"'{field}' is {_describe(value)}", f"a flat list [x, y, c, ...] of {expected}, or null")
    if len(value) % 3:
        raise _Invalid(where, f"'{field}' has {len(value)} numbers, not a multiple of 3 (x, y, confidence per point)",
                       expected)
    if len(value) // 3 not in counts:
        raise _Invalid(where, f"'{field}' has {len(value) // 3} points", expected)
    return _point_floats(value, where, field)


def _nested_triples(value: Any, where: str, field: str, count: int) -> np.ndarray:
    """One animal/subject: ``count`` [x, y, c] lists (null = missing) or a flat list of 3 * count numbers."""
    expected = f"{count} [x, y, c] triples (or a flat list of {3 * count} numbers)"
    if isinstance(value, np.ndarray) and value.dtype.kind in "iuf":
        value = value.reshape(-1).tolist()
    if not isinstance(value, list | tuple):
        raise _Invalid(where, f"'{field}' is {_describe(value)}", expected)
    if len(value) == 3 * count and all(_is_number(v) for v in value):
        return _point_floats(value, where, field)
    if len(value) != count:
        raise _Invalid(where, f"'{field}' has {len(value)} entries", expected)
    flat: list[Any] = []
    for i, triple in enumerate(value):
        if triple is None:
            flat += (0.0, 0.0, 0.0)
        elif isinstance(triple, list | tuple) and len(triple) == 3:
            flat += triple
        else:
            raise _Invalid(where, f"'{field}' point {i} is {_describe(triple)}", "an [x, y, c] triple or null")
    return _point_floats(flat, where, field)


# --- POSE_KEYPOINT ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Meta:
    skeleton: Skeleton | None
    fps: float | None
    inserted: bool
    units: str | None


def _skeleton_ref(raw: Any, where: str) -> Skeleton:
    if isinstance(raw, str):
        if raw not in BUILTIN:
            raise _Invalid(where, f"'posegen.skeleton' names unknown skeleton '{raw}'",
                           f"one of {sorted(BUILTIN)} or a skeleton definition object")
        return BUILTIN[raw]
    if not isinstance(raw, dict):
        raise _Invalid(where, f"'posegen.skeleton' is {_describe(raw)}", "a built-in skeleton name or definition")
    try:
        return Skeleton.from_json(raw)
    except (SkeletonError, TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
        raise _Invalid(where, f"'posegen.skeleton' is not a valid skeleton ({exc})",
                       "a definition as written by Skeleton.to_json") from None


def _meta(raw: Any, where: str, cache: dict[str, Any]) -> _Meta | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise _Invalid(where, f"'posegen' is {_describe(raw)}", "an object {skeleton, fps, inserted, units}")
    skeleton = None
    if raw.get("skeleton") is not None:
        ref = raw["skeleton"]
        # every frame repeats a custom definition: parse it once
        if "raw" in cache and cache["raw"] == ref:
            skeleton = cache["skeleton"]
        else:
            skeleton = _skeleton_ref(ref, where)
            cache.update(raw=ref, skeleton=skeleton)
    fps = _positive_fps(raw.get("fps"), where)
    inserted = raw.get("inserted", False)
    if not isinstance(inserted, bool):
        raise _Invalid(where, f"'posegen.inserted' is {_describe(inserted)}", "true or false")
    units = raw.get("units")
    if units not in (None, "pixels", "normalized"):
        raise _Invalid(where, f"'posegen.units' is {_describe(units)}", "'pixels' or 'normalized'")
    return _Meta(skeleton, fps, inserted, units)


def _frame_kind(frame: Any, where: str) -> str:
    if not isinstance(frame, dict):
        raise _Invalid(where, f"is {_describe(frame)}", "a frame object with 'people', 'canvas_width' and "
                                                        "'canvas_height'")
    for key in ("animals", "subjects", "people"):
        if key in frame:
            return key
    raise _Invalid(where, "has none of 'people', 'animals' or 'subjects'",
                   "a frame object as ComfyUI's POSE_KEYPOINT holds")


def _human_person(person: Any, where: str) -> np.ndarray:
    """A cn_aux/OpenPose person object as HUMAN rows [136, 3]."""
    if not isinstance(person, dict):
        raise _Invalid(where, f"is {_describe(person)}", "an object with 'pose_keypoints_2d' and the other parts")
    if not any(key in person for key, _, _ in _HUMAN_PARTS):
        raise _Invalid(where, "has no keypoint arrays", "'pose_keypoints_2d' (and optionally face/hand/foot arrays)")
    out = np.zeros((HUMAN.num_keypoints, 3))
    for key, start, counts in _HUMAN_PARTS:
        points = _flat_triples(person.get(key), where, key, counts)
        if points is None:
            continue
        if key == "pose_keypoints_2d" and len(points) == 25:
            out[_BODY25_DST] = points[_BODY25_SRC]  # BODY_25 feet land in 18..23; a foot array read later wins
        else:
            out[start:start + len(points)] = points
    return out


def _infer_canvas(xy: np.ndarray, where: str) -> tuple[int, int]:
    """Smallest canvas holding every point (x in [0, W)), each side rounded up to even."""
    sides = []
    for axis, name in ((0, "x"), (1, "y")):
        side = int(math.floor(max(float(xy[:, axis].max()), 0.0))) + 1
        side += side % 2
        if side > MAX_CANVAS:
            raise _Invalid(where, f"points reach {name} = {xy[:, axis].max():g}, too far to infer a canvas from",
                           "width and height given explicitly")
        sides.append(side)
    return sides[0], sides[1]


def infer_canvas(xy: np.ndarray, *, input_name: str = "pose_file") -> tuple[int, int]:
    """The canvas rule of the readers for present points ``xy`` [N, 2], for callers outside this module."""
    return _guarded(input_name, _infer_canvas, xy, "")


def _sequence_from_frames(frames: Sequence[Any], labels: Sequence[str], *, canvas: tuple[int, int] | None = None,
                          canvas_optional: bool = False, fps: float | None = None) -> PoseSequence:
    """The common reader behind POSE_KEYPOINT values and JSON files (one label per frame for messages)."""
    if not frames:
        raise _Invalid("", "the pose data holds no frames", "a list with at least one frame")
    kinds: list[str] = []
    canvases: list[tuple[int, int] | None] = []
    metas: list[_Meta | None] = []
    cache: dict[str, Any] = {}
    for frame, label in zip(frames, labels, strict=True):
        kind = _frame_kind(frame, label)
        if kinds and kind != kinds[0]:
            raise _Invalid(label, f"holds '{kind}' but {labels[0]} holds '{kinds[0]}'", "one format for all frames")
        kinds.append(kind)
        if canvas_optional and "canvas_width" not in frame and "canvas_height" not in frame:
            canvases.append(None)
        else:
            for key in ("canvas_width", "canvas_height"):
                if key not in frame:
                    raise _Invalid(label, f"'{key}' is missing", "the canvas size in pixels, as in POSE_KEYPOINT "
                                                                 "(OpenPose's own files: use read_openpose_json)")
            canvases.append((_whole_positive(frame.get("canvas_width"), label, "'canvas_width'"),
                             _whole_positive(frame.get("canvas_height"), label, "'canvas_height'")))
        metas.append(_meta(frame.get("posegen"), label, cache))
    kind = kinds[0]

    # skeleton: declared by our 'posegen' block, else implied by the format
    declared: Skeleton | None = None
    declared_at = ""
    for meta, label in zip(metas, labels, strict=True):
        if meta is None or meta.skeleton is None:
            continue
        if declared is None:
            declared, declared_at = meta.skeleton, label
        elif meta.skeleton != declared:
            raise _Invalid(label, f"declares skeleton '{meta.skeleton.name}' but {declared_at} declares "
                                  f"'{declared.name}'", "one skeleton for the whole sequence")
    if kind == "people":
        skeleton = declared or HUMAN
        if skeleton != HUMAN and skeleton != BODY18:
            raise _Invalid(declared_at, f"'people' frames hold human poses, not skeleton '{skeleton.name}'",
                           "'human' or 'openpose_body18' (other skeletons use 'subjects')")
    elif kind == "animals":
        skeleton = declared or AP10K
        if skeleton != AP10K:
            raise _Invalid(declared_at, f"'animals' frames hold AP10K poses, not skeleton '{skeleton.name}'",
                           "'ap10k' (other skeletons use 'subjects')")
    else:
        if declared is None:
            raise _Invalid(labels[0], "'subjects' frames need 'posegen.skeleton'",
                           "a built-in skeleton name or definition")
        skeleton = declared

    # canvas: the caller's, else the frames' own (all equal)
    target = canvas
    target_at = "the given width/height"
    for size, label in zip(canvases, labels, strict=True):
        if size is None:
            continue
        if target is None:
            target, target_at = size, label
        elif size != target:
            raise _Invalid(label, f"canvas is {size[0]}x{size[1]} but {target_at} is {target[0]}x{target[1]}",
                           "one canvas size for the whole sequence")

    count = skeleton.num_keypoints
    per_frame: list[list[np.ndarray]] = []
    for frame, label in zip(frames, labels, strict=True):
        entries = frame[kind]
        if not isinstance(entries, list | tuple):
            raise _Invalid(label, f"'{kind}' is {_describe(entries)}", f"a list of {_LIST_KEYS[kind]}s (may be empty)")
        people = []
        for p, entry in enumerate(entries):
            where = f"{label}, {_LIST_KEYS[kind]} {p}"
            if kind == "people":
                people.append(_human_person(entry, where)[:count])
            else:
                people.append(_nested_triples(entry, where, f"{kind}[{p}]", count))
        per_frame.append(people)

    slots = max(1, max(len(people) for people in per_frame))  # nobody anywhere: one all-missing person
    keypoints = np.zeros((len(frames), slots, count, 3))
    for f, people in enumerate(per_frame):
        for p, points in enumerate(people):
            keypoints[f, p] = points
    present = keypoints[..., 2] > 0
    xy = keypoints[..., :2][present]
    in_unit = bool(xy.size) and float(xy.min()) >= 0.0 and float(xy.max()) <= 1.0
    units = next((m.units for m in metas if m is not None and m.units is not None), None)
    if target is None:
        if not xy.size:
            raise _Invalid(labels[0], "no frame has a canvas size nor any keypoint to infer one from",
                           "width and height given explicitly")
        if in_unit and units != "pixels":
            raise _Invalid(labels[0], "coordinates look normalized to [0, 1] and no canvas size is known",
                           "width and height given explicitly")
        target = _infer_canvas(xy, labels[0])
    elif units == "normalized" or (units is None and in_unit and min(target) > 2):
        keypoints[..., 0] *= target[0]
        keypoints[..., 1] *= target[1]

    fps_seen = [(m.fps, label) for m, label in zip(metas, labels, strict=True) if m is not None and m.fps is not None]
    for value, label in fps_seen[1:]:
        if value != fps_seen[0][0]:
            raise _Invalid(label, f"'posegen.fps' is {value:g} but {fps_seen[0][1]} says {fps_seen[0][0]:g}",
                           "one frame rate for the whole sequence")
    if fps is None and fps_seen:
        fps = fps_seen[0][0]
    inserted = tuple(f for f, meta in enumerate(metas) if meta is not None and meta.inserted)
    try:
        return PoseSequence(skeleton, keypoints.astype(np.float32), target[0], target[1], fps, inserted)
    except PoseDataError as exc:
        raise _Invalid("", str(exc)) from None


def _frames_of(data: Any) -> list[Any]:
    if isinstance(data, bytes | bytearray):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _Invalid("", f"the text is not UTF-8 ({exc})", "POSE_KEYPOINT JSON") from None
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise _Invalid("", f"the text is not valid JSON ({exc})", "POSE_KEYPOINT JSON") from None
    if isinstance(data, dict):
        return [data]
    if isinstance(data, list | tuple):
        if not data:
            raise _Invalid("", "the list of frames is empty", "at least one frame")
        return list(data)
    raise _Invalid("", f"got {_describe(data)}", "a list of frame objects (ComfyUI POSE_KEYPOINT), one frame "
                                                 "object, or JSON text of either")


def from_pose_keypoint(data: Any, *, input_name: str = "pose_keypoint") -> PoseSequence:
    """Read ComfyUI's POSE_KEYPOINT (a list of frame dicts, one frame dict, or JSON text of either).

    Frames are cn_aux's human format (``people`` -> skeleton ``human``, or ``openpose_body18`` when our ``posegen``
    block says so), cn_aux's AP10K format (``animals`` -> ``ap10k``) or our ``subjects`` format for any other
    skeleton. Frames may hold different numbers of people: the sequence gets the largest count and absent people
    are all-missing. See the module docstring for confidences and normalized coordinates.
    """
    def read() -> PoseSequence:
        frames = _frames_of(data)
        return _sequence_from_frames(frames, [f"frame {i}" for i in range(len(frames))])

    return _guarded(input_name, read)


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
            people = []
            for points in seq.keypoints[f]:
                person: dict[str, Any] = {"pose_keypoints_2d": _flat(points[0:18])}
                if human:
                    person["face_keypoints_2d"] = _part_or_null(points[24:94])
                    person["hand_left_keypoints_2d"] = _part_or_null(points[94:115])
                    person["hand_right_keypoints_2d"] = _part_or_null(points[115:136])
                    person["foot_keypoints_2d"] = _part_or_null(points[18:24])
                else:
                    person.update(face_keypoints_2d=None, hand_left_keypoints_2d=None, hand_right_keypoints_2d=None)
                people.append(person)
            frame["people"] = people
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


# --- OpenPose JSON files ----------------------------------------------------------------------------------------

def natural_sorted(paths: Iterable[str | Path]) -> list[Path]:
    """Paths in natural order: numbers compare by value (frame_2 before frame_10), text case-insensitively."""
    def key(path: Path) -> tuple[tuple[Any, ...], str]:
        pieces = re.split(r"(\d+)", str(path))
        # split keeps text at even and digits at odd positions, so positions always compare like with like
        return tuple(int(p) if i % 2 else p.casefold() for i, p in enumerate(pieces)), str(path)

    return sorted((Path(p) for p in paths), key=key)


def _load_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise _Invalid(Path(path).name, f"cannot be read ({exc.strerror or exc})", "a readable JSON file") from None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise _Invalid(Path(path).name, f"is not valid JSON ({exc})", "a JSON file") from None


def _given_canvas(width: Any, height: Any) -> tuple[int, int] | None:
    if width is None and height is None:
        return None
    if width is None or height is None:
        raise _Invalid("", "only one of width and height is given", "both or neither")
    return _whole_positive(width, "", "width"), _whole_positive(height, "", "height")


def read_openpose_json(paths: Sequence[str | Path], width: int | None = None, height: int | None = None, *,
                       fps: float | None = None, input_name: str = "pose_file") -> PoseSequence:
    """Read pose JSON files as one sequence, in the order given (sort with :func:`natural_sorted`).

    Each file is either OpenPose's own per-frame output ``{"version": 1.3, "people": [...]}`` (body COCO-18 = 54
    numbers, or BODY_25 = 75 numbers mapped by ``BODY25_TO_HUMAN``, feet included; face 70; hands 21) or a whole
    POSE_KEYPOINT value (a list of frames, as cn_aux's SavePoseKpsAsJsonFile writes) or one frame of it.
    OpenPose's own files carry no canvas size: ``width``/``height`` when given, else the canvas of the files
    that have one, else the smallest canvas containing every present point (x in [0, W), y in [0, H)), each side
    rounded up to an even number. Normalized coordinates need an explicit or carried canvas.
    """
    def read() -> PoseSequence:
        files = [Path(p) for p in paths]
        if not files:
            raise _Invalid("", "no files given", "one or more JSON files")
        canvas = _given_canvas(width, height)
        frames: list[Any] = []
        labels: list[str] = []
        for path in files:
            data = _load_json(path)
            if isinstance(data, list):
                if not data:
                    raise _Invalid(path.name, "holds an empty list", "at least one frame")
                for i, frame in enumerate(data):
                    labels.append(f"frame {len(frames)} ('{path.name}' frame {i})")
                    frames.append(frame)
            elif isinstance(data, dict):
                labels.append(f"frame {len(frames)} ('{path.name}')")
                frames.append(data)
            else:
                raise _Invalid(path.name, f"holds {_describe(data)}",
                               "an OpenPose frame object or a POSE_KEYPOINT list")
        return _sequence_from_frames(frames, labels, canvas=canvas, canvas_optional=True,
                                     fps=_positive_fps(fps, "", "fps"))

    return _guarded(input_name, read)


# --- COCO-WholeBody-133 -----------------------------------------------------------------------------------------

def coco_wholebody_to_human(points: np.ndarray) -> np.ndarray:
    """[..., 133, 3] COCO-WholeBody (x, y, score) -> [..., 136, 3] HUMAN rows, spec 8.2 exactly.

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
        raise _Invalid(where, "coordinates beyond +-1e6 pixels", "pixel coordinates")
    canvas = _given_canvas(width, height)
    if canvas is None:
        xy = human[..., :2][human[..., 2] > 0]
        if not xy.size:
            raise _Invalid(where, "no keypoint to infer the canvas size from", "width and height given explicitly")
        canvas = _infer_canvas(xy, where)
    if human.shape[1] == 0:
        human = np.zeros((human.shape[0], 1, *human.shape[2:]))
    try:
        return PoseSequence(HUMAN, human.astype(np.float32), canvas[0], canvas[1], _positive_fps(fps, "", "fps"))
    except PoseDataError as exc:
        raise _Invalid(where, str(exc)) from None


def from_coco_wholebody(keypoints: np.ndarray, scores: np.ndarray | None, width: int | None, height: int | None,
                        fps: float | None = None, *, input_name: str = "keypoints") -> PoseSequence:
    """COCO-WholeBody-133 arrays (Sapiens, RTMPose, ...) -> ``human`` sequence in OpenPose order (spec 8.2).

    ``keypoints``: [frames, people, 133, 2|3] or [frames, 133, 2|3] (one person), pixels. Scores come from
    ``scores`` ([frames, (people,) 133]) when given, else the third column, else 1.0 for every point. Scores
    outside [0, 1] are clipped after the neck is computed; score 0 means missing. ``width``/``height`` None:
    the smallest even canvas containing every present point.
    """
    def read() -> PoseSequence:
        kps = np.asarray(keypoints)
        if kps.dtype.kind not in "iuf":
            raise _Invalid("", f"keypoints have dtype {kps.dtype}", "a numeric array")
        if kps.ndim not in (3, 4) or kps.shape[-2] != 133 or kps.shape[-1] not in (2, 3) or kps.shape[0] == 0:
            raise _Invalid("", f"keypoints have shape {kps.shape}", "[frames, people, 133, 2|3] or [frames, 133, 2|3]"
                                                                    " with at least one frame")
        single = kps.ndim == 3
        if single:
            kps = kps[:, None]
        kps = kps.astype(np.float64)
        if scores is not None:
            sc = np.asarray(scores)
            if sc.dtype.kind not in "iuf":
                raise _Invalid("", f"scores have dtype {sc.dtype}", "a numeric array")
            if single and sc.ndim == 2:
                sc = sc[:, None]
            if sc.shape != kps.shape[:-1]:
                raise _Invalid("", f"scores have shape {np.asarray(scores).shape} for keypoints "
                                   f"{np.asarray(keypoints).shape}", "one score per keypoint")
            sc = sc.astype(np.float64)
        elif kps.shape[-1] == 3:
            sc = kps[..., 2]
        else:
            sc = np.ones(kps.shape[:-1])
        points = np.concatenate([kps[..., :2], sc[..., None]], axis=-1)
        if not np.isfinite(points).all():
            raise _Invalid("", "keypoints or scores contain NaN or infinite values", "finite numbers")
        return _coco_sequence(points, width, height, fps, "")

    return _guarded(input_name, read)


def _coco_person(person: Any, where: str) -> np.ndarray:
    """One ``{"keypoints": [[x, y]*133], "keypoint_scores": [s*133]}`` as [133, 3] with raw scores."""
    if not isinstance(person, dict) or "keypoints" not in person:
        raise _Invalid(where, f"is {_describe(person)}", "an object with 'keypoints' (133 [x, y]) and "
                                                          "'keypoint_scores' (133 numbers)")
    raw = person["keypoints"]
    if not isinstance(raw, list) or len(raw) != 133:
        size = len(raw) if isinstance(raw, list) else _describe(raw)
        raise _Invalid(where, f"'keypoints' has {size} entries", "133 [x, y] pairs")
    columns = {len(p) if isinstance(p, list) else -1 for p in raw}
    if len(columns) != 1 or columns.pop() not in (2, 3):
        raise _Invalid(where, "'keypoints' entries are not all [x, y] (or all [x, y, score]) lists", "133 [x, y]")
    flat = [v for p in raw for v in p]
    for i, value in enumerate(flat):
        if not _is_number(value):
            raise _Invalid(where, f"'keypoints' entry {i // len(raw[0])} holds {_describe(value)}", "numbers")
    points = np.array(flat, dtype=np.float64).reshape(133, -1)
    scores = person.get("keypoint_scores")
    if scores is not None:
        if (not isinstance(scores, list) or len(scores) != 133 or not all(_is_number(s) for s in scores)):
            raise _Invalid(where, f"'keypoint_scores' is {_describe(scores)}", "133 numbers")
        score_col = np.array(scores, dtype=np.float64)
    elif points.shape[1] == 3:
        score_col = points[:, 2]
    else:
        score_col = np.ones(133)
    out = np.concatenate([points[:, :2], score_col[:, None]], axis=1)
    if not np.isfinite(out).all():
        raise _Invalid(where, "'keypoints' or 'keypoint_scores' hold NaN or infinite values", "finite numbers")
    return out


def read_coco_wholebody_json(path: str | Path, width: int | None = None, height: int | None = None,
                             fps: float | None = None, *, input_name: str = "pose_file") -> PoseSequence:
    """COCO-WholeBody poses from a file -> ``human`` sequence (see :func:`from_coco_wholebody`).

    ``.npy``: an array [frames, (people,) 133, 3] (x, y, score). JSON (PoseGen/Sapiens style): a list over frames
    of lists of persons ``{"keypoints": [[x, y]*133], "keypoint_scores": [s*133]}``, or a dict whose
    ``instance_info`` holds that list (mmpose's ``{"frame_id", "instances": [...]}`` frame entries work too; a
    plain list of persons is one frame). Missing ``width``/``height``: the smallest even canvas holding every point.
    """
    path = Path(path)

    def read() -> PoseSequence:
        if path.suffix.lower() == ".npy":
            try:
                array = np.load(path, allow_pickle=False)
            except (OSError, ValueError, EOFError) as exc:
                raise _Invalid(path.name, f"is not a readable .npy array ({exc})", "a numpy .npy file") from None
            try:
                return from_coco_wholebody(array, None, width, height, fps, input_name=input_name)
            except PoseInputError as exc:
                raise _Invalid(path.name, exc.problem, exc.expected) from None
        data = _load_json(path)
        if isinstance(data, dict):
            if "instance_info" not in data:
                raise _Invalid(path.name, "is an object without 'instance_info'", "a list over frames of persons")
            data = data["instance_info"]
        if not isinstance(data, list) or not data:
            raise _Invalid(path.name, f"holds {_describe(data)}", "a non-empty list over frames of lists of persons")
        if all(isinstance(e, dict) and "keypoints" in e for e in data):
            data = [data]  # a single image's persons
        frames: list[list[np.ndarray]] = []
        for f, entry in enumerate(data):
            where = f"'{path.name}' frame {f}"
            if isinstance(entry, dict) and "instances" in entry:
                entry = entry["instances"]
            if not isinstance(entry, list):
                raise _Invalid(where, f"is {_describe(entry)}", "a list of persons")
            frames.append([_coco_person(p, f"{where}, person {i}") for i, p in enumerate(entry)])
        slots = max(1, max(len(persons) for persons in frames))
        points = np.zeros((len(frames), slots, 133, 3))
        for f, persons in enumerate(frames):
            for p, person in enumerate(persons):
                points[f, p] = person
        return _coco_sequence(points, width, height, fps, f"'{path.name}'")

    return _guarded(input_name, read)


# --- skeleton files ---------------------------------------------------------------------------------------------

def parse_skeleton_file(path: str | Path, *, input_name: str = "skeleton_file") -> Skeleton:
    """A user-defined skeleton from JSON (see Skeleton.from_json), with errors naming the file."""
    name = Path(path).name
    expected = "a JSON object {name, keypoints: [names], edges: [[a, b], ...], parts, colours}"
    try:
        return Skeleton.from_file(Path(path))
    except OSError as exc:
        raise PoseInputError(f"'{name}' cannot be read ({exc.strerror or exc})", "a readable skeleton JSON file",
                             input_name=input_name) from None
    except SkeletonError as exc:
        raise PoseInputError(f"'{name}': {exc}", expected, input_name=input_name) from None
    except (UnicodeDecodeError, TypeError, ValueError, KeyError, AttributeError, IndexError, RecursionError) as exc:
        raise PoseInputError(f"'{name}' is not a valid skeleton ({type(exc).__name__}: {exc})", expected,
                             input_name=input_name) from None
