"""Pose data the format tests share: random keypoints, cn_aux frames, OpenPose files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np


def random_keypoints(rng: np.random.Generator, shape: tuple[int, ...], width: int, height: int, missing: float,
                     spread: float = 1.0) -> np.ndarray:
    """float32 [..., 3]: coordinates around (and partly outside) the canvas, scores in (0, 1], some missing."""
    kp = np.zeros((*shape, 3), dtype=np.float32)
    kp[..., 0] = rng.uniform(-0.2, 1.2, shape) * width * spread
    kp[..., 1] = rng.uniform(-0.2, 1.2, shape) * height * spread
    kp[..., 2] = np.where(rng.random(shape) < 0.5, 1.0, rng.uniform(1e-6, 1.0, shape))
    kp[rng.random(shape) < missing] = 0.0
    return kp


def good_frame() -> dict[str, Any]:
    return {"people": [{"pose_keypoints_2d": [10.0, 20.0, 1.0] * 18, "face_keypoints_2d": None,
                        "hand_left_keypoints_2d": [1.0, 2.0, 1.0] * 21, "hand_right_keypoints_2d": None}],
            "canvas_width": 512, "canvas_height": 512}


def with_person(**changes: Any) -> dict[str, Any]:
    frame = good_frame()
    frame["people"][0].update(changes)
    return frame


def with_frame(**changes: Any) -> dict[str, Any]:
    frame = good_frame()
    frame.update(changes)
    return frame


def openpose_file(path: Path, people: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"version": 1.3, "people": people}), encoding="utf-8")
    return path


def body25_points() -> list[float]:
    # point i sits at (10 i + 5, 100 + i) with score 0.5 + i / 100, so every row is recognisable
    return [v for i in range(25) for v in (10.0 * i + 5, 100.0 + i, 0.5 + i / 100)]
