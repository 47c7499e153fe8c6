"""Pose files in ComfyUI's input folder: which ones there are, and reading one into a PoseSequence.

Sources are JSON files (a POSE_KEYPOINT list as comfyui_controlnet_aux saves it, OpenPose per-frame output, or
COCO-WholeBody/Sapiens persons), folders of per-frame OpenPose JSON files, ``.npy`` arrays (COCO-WholeBody
[frames, (people,) 133, 3], or any user skeleton's [frames, (people,) K, 2|3] with a skeleton file), and skeleton
JSON files. Names are paths relative to the input folder; nothing outside it is read.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import PoseGenInputError
from .formats.checks import infer_canvas
from .formats.coco import read_coco_wholebody_json
from .formats.files import natural_sorted, parse_skeleton_file
from .formats.openpose import read_openpose_json
from .sequence import PoseDataError, PoseSequence
from .skeletons import Skeleton

FORMATS = ("auto", "pose_keypoint / openpose", "coco_wholebody", "array + skeleton file")
_POSE_SUFFIXES = (".json", ".npy")


def list_pose_sources(root: Path) -> list[str]:
    """JSON/npy files and folders of JSON files, up to two levels below ``root``, as ``/`` paths."""
    root = Path(root)
    if not root.is_dir():
        return []
    found: set[str] = set()
    for pattern in ("*", "*/*"):
        for path in root.glob(pattern):
            if path.is_file() and path.suffix.lower() in _POSE_SUFFIXES:
                found.add(path.relative_to(root).as_posix())
            elif path.is_dir() and any(p.suffix.lower() == ".json" for p in path.iterdir() if p.is_file()):
                found.add(path.relative_to(root).as_posix() + "/")
    return sorted(found)


def resolve_source(root: Path, name: str, input_name: str) -> Path:
    """``root/name`` if it is inside ``root`` and exists."""
    clean = name.rstrip("/")
    if not clean or Path(clean).is_absolute() or ".." in Path(clean).parts:
        raise PoseGenInputError(input_name, f"'{name}' is not a file in ComfyUI's input folder.")
    root = Path(root).resolve()
    path = (root / clean).resolve()
    if not path.is_relative_to(root) or not path.exists():
        raise PoseGenInputError(input_name, f"'{name}' was not found in ComfyUI's input folder.",
                                "a pose JSON/npy file or a folder of OpenPose JSON files there")
    return path


def _looks_like_coco(path: Path) -> bool:
    if path.suffix.lower() == ".npy":
        return True
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False  # the reader will say what is wrong
    if isinstance(data, dict):
        return "instance_info" in data
    first = data[0] if isinstance(data, list) and data else None
    if isinstance(first, list):
        first = first[0] if first else None
    if isinstance(first, dict) and "instances" in first:
        return True
    return isinstance(first, dict) and "keypoints" in first and "keypoint_scores" in first


def _read_array(path: Path, skeleton: Skeleton, width: int | None, height: int | None,
                fps: float | None, input_name: str) -> PoseSequence:
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise PoseGenInputError(input_name, f"'{path.name}' is not a readable .npy array ({exc}).") from None
    if array.ndim == 3:
        array = array[:, None]
    if array.ndim != 4 or array.shape[2] != skeleton.num_keypoints or array.shape[3] not in (2, 3):
        raise PoseGenInputError(input_name, f"'{path.name}' has shape {array.shape}.",
                                f"[frames, (people,) {skeleton.num_keypoints}, 2 or 3] for skeleton '{skeleton.name}'")
    if not np.issubdtype(array.dtype, np.number) or not np.isfinite(array).all():
        raise PoseGenInputError(input_name, f"'{path.name}' holds non-numeric or non-finite values.")
    if array.shape[3] == 2:
        array = np.concatenate([array, np.ones(array.shape[:3] + (1,))], axis=3)
    array = array.astype(np.float32)
    if width is None or height is None:
        present = array[..., :2][array[..., 2] > 0]
        if present.size == 0:
            raise PoseGenInputError("width", f"'{path.name}' has no present point to infer the canvas from.",
                                    "width and height set on the node")
        width, height = infer_canvas(present, input_name=input_name)
    try:
        return PoseSequence(skeleton, array, width, height, fps)
    except PoseDataError as exc:
        raise PoseGenInputError(input_name, f"'{path.name}': {exc.problem}.") from None


def load_pose_source(path: Path, fmt: str = "auto", *, width: int | None = None, height: int | None = None,
                     fps: float | None = None, skeleton_path: Path | None = None,
                     input_name: str = "source") -> PoseSequence:
    """Read a pose file or folder in ``fmt`` (``auto`` recognises the JSON kinds; arrays need ``fmt``)."""
    if fmt not in FORMATS:
        raise PoseGenInputError("format", f"'{fmt}' is unknown.", f"one of {FORMATS}")
    path = Path(path)
    if fmt == "array + skeleton file" or (fmt == "auto" and skeleton_path is not None):
        if skeleton_path is None:
            raise PoseGenInputError("skeleton_file", "no skeleton file was chosen.",
                                    "a skeleton JSON in the input folder for an array of a custom skeleton")
        if path.suffix.lower() != ".npy":
            raise PoseGenInputError(input_name, f"'{path.name}' is not a .npy array.", "a .npy file")
        return _read_array(path, parse_skeleton_file(skeleton_path), width, height, fps, input_name)
    if path.is_dir():
        files = natural_sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() == ".json")
        return read_openpose_json(files, width, height, fps=fps, input_name=input_name)
    if fmt == "coco_wholebody" or (fmt == "auto" and _looks_like_coco(path)):
        return read_coco_wholebody_json(path, width, height, fps, input_name=input_name)
    return read_openpose_json([path], width, height, fps=fps, input_name=input_name)

