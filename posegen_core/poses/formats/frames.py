"""Frame objects -> PoseSequence: cn_aux's ``people`` (OpenPose layout), AP10K ``animals``, posegen ``subjects``.

The one reader behind POSE_KEYPOINT values and OpenPose JSON files. Each frame is a dict with one of those lists,
usually ``canvas_width``/``canvas_height`` and, when this pack wrote it, a ``posegen`` block (skeleton, fps,
inserted flag, units). All frames of a sequence must agree on format, skeleton, canvas and frame rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..sequence import PoseDataError, PoseSequence
from ..skeletons import AP10K, BODY18, BUILTIN, HUMAN, Skeleton, SkeletonError
from .checks import Invalid, canvas_holding, describe, flat_triples, nested_triples, positive_fps, whole_positive

# BODY_25 rows -> HUMAN rows. BODY_25 is nose, neck, r-shoulder, r-elbow, r-wrist, l-shoulder, l-elbow, l-wrist,
# mid-hip, r-hip, r-knee, r-ankle, l-hip, l-knee, l-ankle, r-eye, l-eye, r-ear, l-ear, l-big-toe, l-small-toe,
# l-heel, r-big-toe, r-small-toe, r-heel. Rows 0..7 keep their place, mid-hip (8) has no OpenPose-18 counterpart and
# is dropped, 9..18 move down by one to 8..17, and the six feet 19..24 become HUMAN's feet 18..23 (same order).
BODY25_TO_HUMAN: dict[int, int] = {**{i: i for i in range(8)}, **{i: i - 1 for i in range(9, 19)},
                                   **{i: i - 1 for i in range(19, 25)}}
_BODY25_SRC = np.array(sorted(BODY25_TO_HUMAN))
_BODY25_DST = np.array([BODY25_TO_HUMAN[i] for i in sorted(BODY25_TO_HUMAN)])

# cn_aux person arrays: key, HUMAN row where the part starts, accepted point counts
_HUMAN_PARTS: tuple[tuple[str, int, tuple[int, ...]], ...] = (
    ("pose_keypoints_2d", 0, (18, 25)), ("foot_keypoints_2d", 18, (6,)), ("face_keypoints_2d", 24, (70, 68)),
    ("hand_left_keypoints_2d", 94, (21,)), ("hand_right_keypoints_2d", 115, (21,)))
_LIST_KEYS = {"people": "person", "animals": "animal", "subjects": "subject"}


@dataclass(frozen=True)
class _Meta:
    """A frame's ``posegen`` block."""

    skeleton: Skeleton | None
    fps: float | None
    inserted: bool
    units: str | None


@dataclass(frozen=True)
class _Headers:
    """What the frames say about themselves, before their keypoints are read (one entry per frame)."""

    kind: str  # "people", "animals" or "subjects"
    canvases: list[tuple[int, int] | None]
    metas: list[_Meta | None]


# --- one frame --------------------------------------------------------------------------------------------------

def _skeleton_ref(raw: Any, where: str) -> Skeleton:
    if isinstance(raw, str):
        if raw not in BUILTIN:
            raise Invalid(where, f"'posegen.skeleton' names unknown skeleton '{raw}'",
                          f"one of {sorted(BUILTIN)} or a skeleton definition object")
        return BUILTIN[raw]
    if not isinstance(raw, dict):
        raise Invalid(where, f"'posegen.skeleton' is {describe(raw)}", "a built-in skeleton name or definition")
    try:
        return Skeleton.from_json(raw)
    except SkeletonError as exc:
        raise Invalid(where, f"'posegen.skeleton' is not a valid skeleton ({exc.problem})",
                      "a definition as written by Skeleton.to_json") from None
    except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
        raise Invalid(where, f"'posegen.skeleton' is not a valid skeleton ({exc})",
                      "a definition as written by Skeleton.to_json") from None


def _meta(raw: Any, where: str, cache: dict[str, Any]) -> _Meta | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise Invalid(where, f"'posegen' is {describe(raw)}", "an object {skeleton, fps, inserted, units}")
    skeleton = None
    if raw.get("skeleton") is not None:
        ref = raw["skeleton"]
        # every frame repeats a custom definition: parse it once
        if "raw" in cache and cache["raw"] == ref:
            skeleton = cache["skeleton"]
        else:
            skeleton = _skeleton_ref(ref, where)
            cache.update(raw=ref, skeleton=skeleton)
    fps = positive_fps(raw.get("fps"), where)
    inserted = raw.get("inserted", False)
    if not isinstance(inserted, bool):
        raise Invalid(where, f"'posegen.inserted' is {describe(inserted)}", "true or false")
    units = raw.get("units")
    if units not in (None, "pixels", "normalized"):
        raise Invalid(where, f"'posegen.units' is {describe(units)}", "'pixels' or 'normalized'")
    return _Meta(skeleton, fps, inserted, units)


def _frame_kind(frame: Any, where: str) -> str:
    if not isinstance(frame, dict):
        raise Invalid(where, f"is {describe(frame)}", "a frame object with 'people', 'canvas_width' and "
                                                      "'canvas_height'")
    for key in ("animals", "subjects", "people"):
        if key in frame:
            return key
    raise Invalid(where, "has none of 'people', 'animals' or 'subjects'",
                  "a frame object as ComfyUI's POSE_KEYPOINT holds")


def _frame_canvas(frame: dict[str, Any], where: str, canvas_optional: bool) -> tuple[int, int] | None:
    """The frame's own canvas; None when it has none and may lack one (OpenPose's own files)."""
    if canvas_optional and "canvas_width" not in frame and "canvas_height" not in frame:
        return None
    for key in ("canvas_width", "canvas_height"):
        if key not in frame:
            raise Invalid(where, f"'{key}' is missing", "the canvas size in pixels, as in POSE_KEYPOINT "
                                                        "(OpenPose's own files: use read_openpose_json)")
    return (whole_positive(frame.get("canvas_width"), where, "'canvas_width'"),
            whole_positive(frame.get("canvas_height"), where, "'canvas_height'"))


def _human_person(person: Any, where: str) -> np.ndarray:
    """A cn_aux/OpenPose person object as HUMAN rows [136, 3]."""
    if not isinstance(person, dict):
        raise Invalid(where, f"is {describe(person)}", "an object with 'pose_keypoints_2d' and the other parts")
    if not any(key in person for key, _, _ in _HUMAN_PARTS):
        raise Invalid(where, "has no keypoint arrays", "'pose_keypoints_2d' (and optionally face/hand/foot arrays)")
    out = np.zeros((HUMAN.num_keypoints, 3))
    for key, start, counts in _HUMAN_PARTS:
        points = flat_triples(person.get(key), where, key, counts)
        if points is None:
            continue
        if key == "pose_keypoints_2d" and len(points) == 25:
            out[_BODY25_DST] = points[_BODY25_SRC]  # BODY_25 feet land in 18..23; a foot array read later wins
        else:
            out[start:start + len(points)] = points
    return out


def _frame_people(frame: dict[str, Any], label: str, kind: str, count: int) -> list[np.ndarray]:
    """Every person (animal, subject) of one frame as [count, 3] rows."""
    entries = frame[kind]
    if not isinstance(entries, list | tuple):
        raise Invalid(label, f"'{kind}' is {describe(entries)}", f"a list of {_LIST_KEYS[kind]}s (may be empty)")
    people = []
    for p, entry in enumerate(entries):
        where = f"{label}, {_LIST_KEYS[kind]} {p}"
        if kind == "people":
            people.append(_human_person(entry, where)[:count])
        else:
            people.append(nested_triples(entry, where, f"{kind}[{p}]", count))
    return people


# --- the whole sequence: each step checks that the frames agree -------------------------------------------------

def _read_headers(frames: Sequence[Any], labels: Sequence[str], canvas_optional: bool) -> _Headers:
    """Format, canvas and posegen block of every frame, frame by frame; all frames must share the format."""
    kinds: list[str] = []
    canvases: list[tuple[int, int] | None] = []
    metas: list[_Meta | None] = []
    cache: dict[str, Any] = {}
    for frame, label in zip(frames, labels, strict=True):
        kind = _frame_kind(frame, label)
        if kinds and kind != kinds[0]:
            raise Invalid(label, f"holds '{kind}' but {labels[0]} holds '{kinds[0]}'", "one format for all frames")
        kinds.append(kind)
        canvases.append(_frame_canvas(frame, label, canvas_optional))
        metas.append(_meta(frame.get("posegen"), label, cache))
    return _Headers(kinds[0], canvases, metas)


def _declared_skeleton(metas: Sequence[_Meta | None], labels: Sequence[str]) -> tuple[Skeleton | None, str]:
    """The skeleton the posegen blocks declare (one for all frames) and the first frame declaring it."""
    declared: Skeleton | None = None
    declared_at = ""
    for meta, label in zip(metas, labels, strict=True):
        if meta is None or meta.skeleton is None:
            continue
        if declared is None:
            declared, declared_at = meta.skeleton, label
        elif meta.skeleton != declared:
            raise Invalid(label, f"declares skeleton '{meta.skeleton.name}' but {declared_at} declares "
                                 f"'{declared.name}'", "one skeleton for the whole sequence")
    return declared, declared_at


def _sequence_skeleton(headers: _Headers, labels: Sequence[str]) -> Skeleton:
    """Declared by our posegen block, else implied by the format; the two must fit."""
    declared, declared_at = _declared_skeleton(headers.metas, labels)
    if headers.kind == "people":
        skeleton = declared or HUMAN
        if skeleton != HUMAN and skeleton != BODY18:
            raise Invalid(declared_at, f"'people' frames hold human poses, not skeleton '{skeleton.name}'",
                          "'human' or 'openpose_body18' (other skeletons use 'subjects')")
        return skeleton
    if headers.kind == "animals":
        skeleton = declared or AP10K
        if skeleton != AP10K:
            raise Invalid(declared_at, f"'animals' frames hold AP10K poses, not skeleton '{skeleton.name}'",
                          "'ap10k' (other skeletons use 'subjects')")
        return skeleton
    if declared is None:
        raise Invalid(labels[0], "'subjects' frames need 'posegen.skeleton'", "a built-in skeleton name or definition")
    return declared


def _common_canvas(canvas: tuple[int, int] | None, canvases: Sequence[tuple[int, int] | None],
                   labels: Sequence[str]) -> tuple[int, int] | None:
    """The caller's canvas, else the frames' own (all equal); None when nobody gives one."""
    target = canvas
    target_at = "the given width/height"
    for size, label in zip(canvases, labels, strict=True):
        if size is None:
            continue
        if target is None:
            target, target_at = size, label
        elif size != target:
            raise Invalid(label, f"canvas is {size[0]}x{size[1]} but {target_at} is {target[0]}x{target[1]}",
                          "one canvas size for the whole sequence")
    return target


def _stacked_keypoints(frames: Sequence[Any], labels: Sequence[str], kind: str, count: int) -> np.ndarray:
    """[frames, people, count, 3] float64; frames with fewer people get all-missing slots."""
    per_frame = [_frame_people(frame, label, kind, count) for frame, label in zip(frames, labels, strict=True)]
    slots = max(1, max(len(people) for people in per_frame))  # nobody anywhere: one all-missing person
    keypoints = np.zeros((len(frames), slots, count, 3))
    for f, people in enumerate(per_frame):
        for p, points in enumerate(people):
            keypoints[f, p] = points
    return keypoints


def _place_on_canvas(keypoints: np.ndarray, metas: Sequence[_Meta | None], target: tuple[int, int] | None,
                     first_label: str) -> tuple[int, int]:
    """The sequence's canvas: ``target``, else inferred from the points. Normalized coordinates (declared, or all in
    [0, 1] without a 'pixels' declaration) are scaled to the canvas in place."""
    present = keypoints[..., 2] > 0
    xy = keypoints[..., :2][present]
    in_unit = bool(xy.size) and float(xy.min()) >= 0.0 and float(xy.max()) <= 1.0
    units = next((m.units for m in metas if m is not None and m.units is not None), None)
    if target is None:
        if not xy.size:
            raise Invalid(first_label, "no frame has a canvas size nor any keypoint to infer one from",
                          "width and height given explicitly")
        if in_unit and units != "pixels":
            raise Invalid(first_label, "coordinates look normalized to [0, 1] and no canvas size is known",
                          "width and height given explicitly")
        return canvas_holding(xy, first_label)
    if units == "normalized" or (units is None and in_unit and min(target) > 2):
        keypoints[..., 0] *= target[0]
        keypoints[..., 1] *= target[1]
    return target


def _common_fps(metas: Sequence[_Meta | None], labels: Sequence[str], fps: float | None) -> float | None:
    """The caller's fps, else the one the frames agree on (None when none says)."""
    fps_seen = [(m.fps, label) for m, label in zip(metas, labels, strict=True) if m is not None and m.fps is not None]
    for value, label in fps_seen[1:]:
        if value != fps_seen[0][0]:
            raise Invalid(label, f"'posegen.fps' is {value:g} but {fps_seen[0][1]} says {fps_seen[0][0]:g}",
                          "one frame rate for the whole sequence")
    if fps is None and fps_seen:
        return fps_seen[0][0]
    return fps


def sequence_from_frames(frames: Sequence[Any], labels: Sequence[str], *, canvas: tuple[int, int] | None = None,
                         canvas_optional: bool = False, fps: float | None = None) -> PoseSequence:
    """The common reader behind POSE_KEYPOINT values and JSON files (one label per frame for messages).

    ``canvas``: the caller's size, which the frames' own must match; ``canvas_optional``: frames may lack one
    (it is then inferred from the points); ``fps``: the caller's frame rate, else the frames'.
    """
    if not frames:
        raise Invalid("", "the pose data holds no frames", "a list with at least one frame")
    headers = _read_headers(frames, labels, canvas_optional)
    skeleton = _sequence_skeleton(headers, labels)
    target = _common_canvas(canvas, headers.canvases, labels)
    keypoints = _stacked_keypoints(frames, labels, headers.kind, skeleton.num_keypoints)
    width, height = _place_on_canvas(keypoints, headers.metas, target, labels[0])
    fps = _common_fps(headers.metas, labels, fps)
    inserted = tuple(f for f, meta in enumerate(headers.metas) if meta is not None and meta.inserted)
    try:
        return PoseSequence(skeleton, keypoints.astype(np.float32), width, height, fps, inserted)
    except PoseDataError as exc:
        raise Invalid("", exc.problem) from None
