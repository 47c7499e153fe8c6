"""OpenPose JSON files (a file or a folder's files in natural order) read as one PoseSequence.

Each file is OpenPose's own per-frame output ``{"version": 1.3, "people": [...]}``, or a whole POSE_KEYPOINT value
as cn_aux's SavePoseKpsAsJsonFile writes it, or one frame of it; all go through the common frame reader.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..sequence import PoseSequence
from .checks import Invalid, describe, given_canvas, guarded, positive_fps
from .files import load_json
from .frames import sequence_from_frames


def _file_frames(path: Path, first_index: int) -> tuple[list[Any], list[str]]:
    """The frames of one file and their labels (numbered on from ``first_index``)."""
    data = load_json(path)
    if isinstance(data, list):
        if not data:
            raise Invalid(path.name, "holds an empty list", "at least one frame")
        return list(data), [f"frame {first_index + i} ('{path.name}' frame {i})" for i in range(len(data))]
    if isinstance(data, dict):
        return [data], [f"frame {first_index} ('{path.name}')"]
    raise Invalid(path.name, f"holds {describe(data)}", "an OpenPose frame object or a POSE_KEYPOINT list")


def read_openpose_json(paths: Sequence[str | Path], width: int | None = None, height: int | None = None, *,
                       fps: float | None = None, input_name: str = "pose_file") -> PoseSequence:
    """Read pose JSON files as one sequence, in the order given (sort with ``files.natural_sorted``).

    Each file is either OpenPose's own per-frame output ``{"version": 1.3, "people": [...]}`` (body COCO-18 = 54
    numbers, or BODY_25 = 75 numbers mapped by ``frames.BODY25_TO_HUMAN``, feet included; face 70; hands 21) or a
    whole POSE_KEYPOINT value (a list of frames, as cn_aux's SavePoseKpsAsJsonFile writes) or one frame of it.
    OpenPose's own files carry no canvas size: ``width``/``height`` when given, else the canvas of the files
    that have one, else the smallest canvas containing every present point (x in [0, W), y in [0, H)), each side
    rounded up to an even number. Normalized coordinates need an explicit or carried canvas.
    """
    def read() -> PoseSequence:
        files = [Path(p) for p in paths]
        if not files:
            raise Invalid("", "no files given", "one or more JSON files")
        canvas = given_canvas(width, height)
        frames: list[Any] = []
        labels: list[str] = []
        for path in files:
            more, names = _file_frames(path, len(frames))
            frames += more
            labels += names
        return sequence_from_frames(frames, labels, canvas=canvas, canvas_optional=True,
                                    fps=positive_fps(fps, "", "fps"))

    return guarded(input_name, read)
