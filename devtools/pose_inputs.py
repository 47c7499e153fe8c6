"""Inputs for the pose example workflow: a real reference photo and a driving pose file.

The reference is scikit-image's bundled, public-domain ``astronaut`` photo (an upper-body portrait, so the
retarget anchors on the neck); the driving poses are the demo's waving figure written as a POSE_KEYPOINT JSON
file, the way comfyui_controlnet_aux's "Save Pose Keypoints" stores DWPose output.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from devtools.demo_inputs import skeleton


def write_reference_photo(path: Path) -> Path:
    from PIL import Image
    from skimage import data

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(data.astronaut()).save(path)
    return path


def driving_pose_keypoint(frames: int, width: int, height: int) -> list[dict]:
    """cn_aux-style POSE_KEYPOINT frames (pixel coordinates, c = 1.0, no face or hands) of a waving figure."""
    out = []
    for i in range(frames):
        points = skeleton(2 * math.pi * i / frames, width, height)
        flat = [v for x, y in points.tolist() for v in (x, y, 1.0)]
        out.append({"people": [{"pose_keypoints_2d": flat, "face_keypoints_2d": None,
                                "hand_left_keypoints_2d": None, "hand_right_keypoints_2d": None}],
                    "canvas_width": width, "canvas_height": height})
    return out


def write_driving_poses(path: Path, frames: int = 33, width: int = 288, height: int = 512) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(driving_pose_keypoint(frames, width, height)), encoding="utf-8")
    return path
