"""Inputs for the pose example workflow: a real reference photo and a driving pose file.

The reference is scikit-image's bundled, public-domain ``astronaut`` photo (an upper-body portrait, so the
retarget anchors on the neck); the driving poses are the demo's waving figure written as a POSE_KEYPOINT JSON
file, the way comfyui_controlnet_aux's "Save Pose Keypoints" stores DWPose output.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from devtools.demo_inputs import skeleton


def write_reference_photo(path: Path) -> Path:
    from PIL import Image
    from skimage import data

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(data.astronaut()).save(path)
    return path


def face_points(nose: np.ndarray, unit: float, turn: float) -> np.ndarray:
    """70 face landmarks in dlib-68 order + 2 pupils around ``nose`` (image left to right, lids and lips top
    first): jaw 0-16, brows 17-26, nose 27-35, eyes 36-47, lips 48-67, pupils 68-69. ``turn`` in [-1, 1]
    squeezes one side, as a head turning; ``unit`` is the head height."""
    r = 0.35 * unit

    def ring(cx: float, cy: float, rx: float, ry: float, count: int) -> list[tuple[float, float]]:
        # from the left corner along the top (y grows downwards), then back along the bottom
        return [(cx + rx * math.cos(a), cy + ry * math.sin(a))
                for a in np.linspace(math.pi, 3 * math.pi, count, endpoint=False)]

    pts = [(-r * math.cos(a), 0.1 * r + 0.9 * r * math.sin(a)) for a in np.linspace(0.0, math.pi, 17)]  # jaw
    pts += [(-0.6 * r + 0.1 * r * k, -0.55 * r - 0.05 * r * math.sin(k)) for k in range(5)]  # brows
    pts += [(0.2 * r + 0.1 * r * k, -0.55 * r - 0.05 * r * math.sin(k)) for k in range(5)]
    pts += [(0.0, -0.4 * r + 0.1 * r * k) for k in range(4)]  # nose ridge, downwards
    pts += [(-0.1 * r + 0.05 * r * k, 0.0) for k in range(5)]  # nostrils
    pts += ring(-0.35 * r, -0.3 * r, 0.12 * r, 0.05 * r, 6) + ring(0.35 * r, -0.3 * r, 0.12 * r, 0.05 * r, 6)
    pts += ring(0.0, 0.3 * r, 0.25 * r, 0.1 * r, 12) + ring(0.0, 0.3 * r, 0.15 * r, 0.05 * r, 8)  # lips
    pts += [(-0.35 * r, -0.3 * r), (0.35 * r, -0.3 * r)]  # pupils
    xy = np.asarray(pts, dtype=np.float64)
    xy[:, 0] *= 1.0 - 0.3 * turn * np.sign(xy[:, 0])
    return xy + nose


def hand_points(elbow: np.ndarray, wrist: np.ndarray, spread: float) -> np.ndarray:
    """21 hand landmarks (wrist, then 5 fingers of 4 joints) continuing the forearm beyond ``wrist``."""
    forearm = wrist - elbow
    length = float(np.linalg.norm(forearm)) or 1.0
    along, across = forearm / length, np.array([-forearm[1], forearm[0]]) / length
    pts = [wrist]
    for finger in range(5):
        sideways = (finger - 2) * (0.12 + 0.05 * spread) * length
        for joint in range(1, 5):
            pts.append(wrist + along * (0.12 * joint + 0.1) * length + across * sideways * (0.6 + 0.1 * joint))
    return np.asarray(pts, dtype=np.float64)


def _flat(points: np.ndarray) -> list[float]:
    return [v for x, y in points.tolist() for v in (x, y, 1.0)]


def driving_pose_keypoint(frames: int, width: int, height: int, face_and_hands: bool = False) -> list[dict]:
    """cn_aux-style POSE_KEYPOINT frames (pixel coordinates, c = 1.0) of a waving figure; with
    ``face_and_hands`` the 70 face and 2 x 21 hand landmarks DWPose gives (the head turns, the hands open),
    else none."""
    out = []
    for i in range(frames):
        phase = 2 * math.pi * i / frames
        points = skeleton(phase, width, height)
        person: dict = {"pose_keypoints_2d": _flat(points), "face_keypoints_2d": None,
                        "hand_left_keypoints_2d": None, "hand_right_keypoints_2d": None}
        if face_and_hands:
            unit = height / 8.0
            person["face_keypoints_2d"] = _flat(face_points(points[0], unit, 0.5 * math.sin(phase)))
            person["hand_left_keypoints_2d"] = _flat(hand_points(points[6], points[7], math.cos(phase)))
            person["hand_right_keypoints_2d"] = _flat(hand_points(points[3], points[4], 0.0))
        out.append({"people": [person], "canvas_width": width, "canvas_height": height})
    return out


def write_driving_poses(path: Path, frames: int = 33, width: int = 288, height: int = 512,
                        face_and_hands: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(driving_pose_keypoint(frames, width, height, face_and_hands)), encoding="utf-8")
    return path
