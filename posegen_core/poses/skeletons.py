"""Skeleton definitions: keypoint names, edges, colours and body parts (no ComfyUI imports).

Built-ins cover the human layouts users arrive with (OpenPose-18 body, its feet, 68/70-point faces, 21-point
hands, COCO-WholeBody-133) and the AP10K animal skeleton. ``HUMAN`` is the pack's canonical whole-body layout,
the one PoseGen draws from: OpenPose-18 body, 6 feet points, 70 face points, left hand, right hand (136 points).
Anything else (a horse, a robot arm) is a user-defined skeleton from a small JSON file.
"""

from __future__ import annotations

import colorsys
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import PoseGenInputError

RGB = tuple[int, int, int]


class SkeletonError(PoseGenInputError):
    """A skeleton definition that is not one; ``problem`` says what, and readers name their input with it."""

    def __init__(self, problem: str, *, input_name: str = "skeleton") -> None:
        super().__init__(input_name, problem)


@dataclass(frozen=True)
class Skeleton:
    """A keypoint layout. Colours are RGB as shown on screen; ``parts`` name keypoint index groups."""

    name: str
    keypoints: tuple[str, ...]
    edges: tuple[tuple[int, int], ...]
    parts: dict[str, tuple[int, ...]] = field(default_factory=dict)
    edge_colors: tuple[RGB, ...] | None = None
    keypoint_colors: tuple[RGB, ...] | None = None
    flip_pairs: tuple[tuple[int, int], ...] = ()  # left/right twins, for mirroring

    def __post_init__(self) -> None:
        n = len(self.keypoints)
        if n == 0:
            raise SkeletonError(f"skeleton '{self.name}' has no keypoints")
        if len(set(self.keypoints)) != n:
            raise SkeletonError(f"skeleton '{self.name}' repeats keypoint names")
        for a, b in self.edges:
            if not (0 <= a < n and 0 <= b < n) or a == b:
                raise SkeletonError(f"skeleton '{self.name}': edge ({a}, {b}) does not join two of its {n} keypoints")
        for part, indices in self.parts.items():
            if any(not 0 <= i < n for i in indices):
                raise SkeletonError(f"skeleton '{self.name}': part '{part}' names a keypoint outside 0..{n - 1}")
        if self.edge_colors is not None and len(self.edge_colors) != len(self.edges):
            raise SkeletonError(f"skeleton '{self.name}': {len(self.edge_colors)} edge colours for "
                                f"{len(self.edges)} edges")
        if self.keypoint_colors is not None and len(self.keypoint_colors) != n:
            raise SkeletonError(f"skeleton '{self.name}': {len(self.keypoint_colors)} keypoint colours for {n} "
                                "keypoints")

    @property
    def num_keypoints(self) -> int:
        return len(self.keypoints)

    def index(self, name: str) -> int:
        return self.keypoints.index(name)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "keypoints": list(self.keypoints),
                               "edges": [list(e) for e in self.edges]}
        if self.parts:
            out["parts"] = {k: list(v) for k, v in self.parts.items()}
        if self.edge_colors is not None:
            out["edge_colors"] = [list(c) for c in self.edge_colors]
        if self.keypoint_colors is not None:
            out["keypoint_colors"] = [list(c) for c in self.keypoint_colors]
        if self.flip_pairs:
            out["flip_pairs"] = [list(p) for p in self.flip_pairs]
        return out

    @classmethod
    def from_json(cls, data: Any) -> Skeleton:
        """A skeleton from its JSON form; edges may name keypoints by index or by name."""
        if not isinstance(data, dict):
            raise SkeletonError("a skeleton definition must be a JSON object")
        name = data.get("name", "custom")
        names = data.get("keypoints")
        if not isinstance(name, str) or not isinstance(names, list) or not all(isinstance(k, str) for k in names):
            raise SkeletonError("a skeleton needs 'name' (text) and 'keypoints' (a list of names)")

        def ref(value: Any) -> int:
            if isinstance(value, str):
                if value not in names:
                    raise SkeletonError(f"skeleton '{name}': edge names unknown keypoint '{value}'")
                return names.index(value)
            if isinstance(value, bool) or not isinstance(value, int):
                raise SkeletonError(f"skeleton '{name}': edge endpoints must be indices or names, got {value!r}")
            return value

        raw_edges = data.get("edges", [])
        if not isinstance(raw_edges, list) or not all(isinstance(e, list | tuple) and len(e) == 2 for e in raw_edges):
            raise SkeletonError(f"skeleton '{name}': 'edges' must be a list of [a, b] pairs")
        edges = tuple((ref(a), ref(b)) for a, b in raw_edges)
        parts = {str(k): tuple(ref(i) for i in v) for k, v in (data.get("parts") or {}).items()}

        def colors(key: str) -> tuple[RGB, ...] | None:
            raw = data.get(key)
            if raw is None:
                return None
            if not isinstance(raw, list) or not all(
                    isinstance(c, list | tuple) and len(c) == 3 and all(isinstance(v, int) and 0 <= v <= 255 for v in c)
                    for c in raw):
                raise SkeletonError(f"skeleton '{name}': '{key}' must be a list of [r, g, b] in 0..255")
            return tuple(tuple(c) for c in raw)  # type: ignore[misc]

        flips = tuple((ref(a), ref(b)) for a, b in data.get("flip_pairs", []))
        return cls(name=name, keypoints=tuple(names), edges=edges, parts=parts, edge_colors=colors("edge_colors"),
                   keypoint_colors=colors("keypoint_colors"), flip_pairs=flips)

    @classmethod
    def from_file(cls, path: Path) -> Skeleton:
        try:
            return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))
        except json.JSONDecodeError as exc:
            raise SkeletonError(f"'{Path(path).name}' is not valid JSON ({exc})") from exc


# --- OpenPose-18 body -------------------------------------------------------------------------------------------

BODY18_NAMES = ("nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
                "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
                "right_eye", "left_eye", "right_ear", "left_ear")
# OpenPose's limb order (1-based pairs in the original code), with its colours
BODY18_EDGES = ((1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11), (11, 12), (12, 13),
                (1, 0), (0, 14), (14, 16), (0, 15), (15, 17))
OPENPOSE_COLORS: tuple[RGB, ...] = (
    (255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0), (0, 255, 0),
    (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255), (0, 0, 255), (85, 0, 255),
    (170, 0, 255), (255, 0, 255), (255, 0, 170), (255, 0, 85))
BODY18_FLIPS = ((2, 5), (3, 6), (4, 7), (8, 11), (9, 12), (10, 13), (14, 15), (16, 17))

BODY18 = Skeleton(
    name="openpose_body18", keypoints=BODY18_NAMES, edges=BODY18_EDGES,
    parts={"head": (0, 14, 15, 16, 17), "torso": (1, 2, 5, 8, 11), "right_arm": (2, 3, 4), "left_arm": (5, 6, 7),
           "right_leg": (8, 9, 10), "left_leg": (11, 12, 13)},
    edge_colors=OPENPOSE_COLORS[:17], keypoint_colors=OPENPOSE_COLORS, flip_pairs=BODY18_FLIPS)

# Feet in PoseGen's/DWPose's order (COCO-WholeBody 17..22)
FEET_NAMES = ("left_big_toe", "left_small_toe", "left_heel", "right_big_toe", "right_small_toe", "right_heel")

# --- hands and faces --------------------------------------------------------------------------------------------

HAND_NAMES = ("wrist", *(f"{finger}_{i}" for finger in ("thumb", "index", "middle", "ring", "pinky")
                         for i in range(1, 5)))
HAND_EDGES = tuple(edge for f in range(5) for edge in ((0, 1 + 4 * f), (1 + 4 * f, 2 + 4 * f),
                                                       (2 + 4 * f, 3 + 4 * f), (3 + 4 * f, 4 + 4 * f)))
HAND21 = Skeleton(name="hand21", keypoints=HAND_NAMES, edges=HAND_EDGES,
                  parts={"palm": (0, 1, 5, 9, 13, 17), **{f: tuple(range(1 + 4 * i, 5 + 4 * i)) for i, f in
                                                          enumerate(("thumb", "index", "middle", "ring", "pinky"))}})

# 68-point (iBUG/dlib) face: jaw 0-16, brows 17-26, nose 27-35, eyes 36-47, mouth 48-67; 70 adds the pupils
_FACE_RUNS = ((0, 16, False), (17, 21, False), (22, 26, False), (27, 30, False), (31, 35, False), (36, 41, True),
              (42, 47, True), (48, 59, True), (60, 67, True))
FACE68_EDGES = tuple((i, i + 1) for start, end, _ in _FACE_RUNS for i in range(start, end)) + tuple(
    (end, start) for start, end, closed in _FACE_RUNS if closed)
FACE68 = Skeleton(
    name="face68", keypoints=tuple(f"face_{i}" for i in range(68)), edges=FACE68_EDGES,
    parts={"jaw": tuple(range(17)), "right_brow": tuple(range(17, 22)), "left_brow": tuple(range(22, 27)),
           "nose": tuple(range(27, 36)), "right_eye": tuple(range(36, 42)), "left_eye": tuple(range(42, 48)),
           "mouth": tuple(range(48, 68))})
FACE70 = Skeleton(name="face70", keypoints=(*FACE68.keypoints, "right_pupil", "left_pupil"), edges=FACE68_EDGES,
                  parts={**FACE68.parts, "pupils": (68, 69)})

# --- the canonical human layout ---------------------------------------------------------------------------------


def _offset(edges: tuple[tuple[int, int], ...], by: int) -> tuple[tuple[int, int], ...]:
    return tuple((a + by, b + by) for a, b in edges)


HUMAN_BODY = slice(0, 18)
HUMAN_FEET = slice(18, 24)
HUMAN_FACE = slice(24, 94)
HUMAN_LEFT_HAND = slice(94, 115)
HUMAN_RIGHT_HAND = slice(115, 136)
# ankle -> foot links in PoseGen's order: left ankle (13) to 18..20, right ankle (10) to 21..23
FEET_EDGES = ((13, 18), (13, 19), (13, 20), (10, 21), (10, 22), (10, 23))

def _hand_link_colors() -> tuple[RGB, ...]:
    # the OpenPose hand palette: link k of 20 at hue k/20
    return tuple(tuple(round(255 * v) for v in colorsys.hsv_to_rgb(k / 20, 1.0, 1.0)) for k in range(20))  # type: ignore[misc]


FACE_LINE_COLOR: RGB = (255, 255, 255)
FOOT_COLOR: RGB = (255, 128, 0)

HUMAN = Skeleton(
    name="human",
    keypoints=(*BODY18_NAMES, *FEET_NAMES, *FACE70.keypoints, *(f"left_hand_{n}" for n in HAND_NAMES),
               *(f"right_hand_{n}" for n in HAND_NAMES)),
    edges=(*BODY18_EDGES, *FEET_EDGES, *_offset(FACE68_EDGES, 24), *_offset(HAND_EDGES, 94),
           *_offset(HAND_EDGES, 115)),
    parts={**BODY18.parts, "feet": tuple(range(18, 24)), "face": tuple(range(24, 94)),
           "left_hand": tuple(range(94, 115)), "right_hand": tuple(range(115, 136))},
    flip_pairs=(*BODY18_FLIPS, (18, 21), (19, 22), (20, 23), *((94 + i, 115 + i) for i in range(21))),
    edge_colors=(*OPENPOSE_COLORS[:17], *(FOOT_COLOR,) * 6, *(FACE_LINE_COLOR,) * len(FACE68_EDGES),
                 *_hand_link_colors(), *_hand_link_colors()),
)

# --- COCO-WholeBody-133 (PoseGen's source format: Sapiens) ------------------------------------------------------

COCO17_NAMES = ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
                "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
                "right_knee", "left_ankle", "right_ankle")
COCO17_EDGES = ((15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7), (6, 8), (7, 9),
                (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6))
COCO_WHOLEBODY = Skeleton(
    name="coco_wholebody133",
    keypoints=(*COCO17_NAMES, *FEET_NAMES, *(f"face_{i}" for i in range(68)),
               *(f"left_hand_{n}" for n in HAND_NAMES), *(f"right_hand_{n}" for n in HAND_NAMES)),
    edges=(*COCO17_EDGES, (15, 17), (15, 18), (15, 19), (16, 20), (16, 21), (16, 22), *_offset(FACE68_EDGES, 23),
           *_offset(HAND_EDGES, 91), *_offset(HAND_EDGES, 112)),
    parts={"body": tuple(range(17)), "feet": tuple(range(17, 23)), "face": tuple(range(23, 91)),
           "left_hand": tuple(range(91, 112)), "right_hand": tuple(range(112, 133))},
)

# --- AP10K animals ----------------------------------------------------------------------------------------------

AP10K = Skeleton(
    name="ap10k",
    keypoints=("left_eye", "right_eye", "nose", "neck", "root_of_tail", "left_shoulder", "left_elbow",
               "left_front_paw", "right_shoulder", "right_elbow", "right_front_paw", "left_hip", "left_knee",
               "left_back_paw", "right_hip", "right_knee", "right_back_paw"),
    edges=((0, 1), (0, 2), (1, 2), (2, 3), (3, 4), (3, 5), (5, 6), (6, 7), (3, 8), (8, 9), (9, 10), (4, 11), (11, 12),
           (12, 13), (4, 14), (14, 15), (15, 16)),
    parts={"head": (0, 1, 2), "spine": (3, 4), "left_front_leg": (5, 6, 7), "right_front_leg": (8, 9, 10),
           "left_back_leg": (11, 12, 13), "right_back_leg": (14, 15, 16)},
    flip_pairs=((0, 1), (5, 8), (6, 9), (7, 10), (11, 14), (12, 15), (13, 16)),
)

BUILTIN: dict[str, Skeleton] = {s.name: s for s in (HUMAN, BODY18, HAND21, FACE68, FACE70, COCO_WHOLEBODY, AP10K)}


def builtin(name: str) -> Skeleton:
    try:
        return BUILTIN[name]
    except KeyError:
        raise SkeletonError(f"unknown skeleton '{name}'; built-in ones are {sorted(BUILTIN)}") from None
