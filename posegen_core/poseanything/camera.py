"""Experimental camera term for decoupled guidance: a global pan / zoom / rotation applied over time to the pose
frames of the negative branch (§4.3: the released code expresses camera motion only in text; its unused
``motion_v*`` helpers hint at synthetic moving structure in the negative skeleton stream).

The transform grows linearly from none on frame 0 to ``amount`` on the last frame. Camera directions are the
camera's: panning left moves the content to the right of the frame.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import torch

from ..errors import PoseGenInputError

CAMERA_MOTIONS = ("none", "pan_left", "pan_right", "pan_up", "pan_down", "zoom_in", "zoom_out", "rotate_cw",
                  "rotate_ccw")
MAX_ROTATION_DEGREES = 90.0  # at amount 1


def camera_matrix(motion: str, amount: float, progress: float, width: int, height: int) -> np.ndarray:
    """2x3 affine map of the frame content at ``progress`` in [0, 1] of the clip."""
    if motion not in CAMERA_MOTIONS:
        raise PoseGenInputError("camera_motion", f"'{motion}' is unknown.", f"one of {list(CAMERA_MOTIONS)}")
    step = amount * progress
    centre = (width / 2.0, height / 2.0)
    if motion.startswith("pan_"):
        dx = {"pan_left": step * width, "pan_right": -step * width}.get(motion, 0.0)
        dy = {"pan_up": step * height, "pan_down": -step * height}.get(motion, 0.0)
        return np.array([[1.0, 0.0, dx], [0.0, 1.0, dy]])
    if motion.startswith("zoom_"):
        scale = 1.0 + step if motion == "zoom_in" else 1.0 / (1.0 + step)
        return cv2.getRotationMatrix2D(centre, 0.0, scale)
    if motion.startswith("rotate_"):
        degrees = step * MAX_ROTATION_DEGREES * (-1.0 if motion == "rotate_cw" else 1.0)
        return cv2.getRotationMatrix2D(centre, degrees, 1.0)
    return np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


def apply_camera_motion(video: torch.Tensor, posed: Sequence[int], motion: str, amount: float,
                        binary: bool) -> torch.Tensor:
    """``video`` [F, H, W, 3] with each posed frame moved by the camera at its time; un-posed frames stay black.
    ``binary`` re-thresholds white-on-black skeletons after the bilinear warp (the model only saw 0/1 lines)."""
    if not 0.0 <= amount <= 1.0:
        raise PoseGenInputError("camera_amount", f"{amount} is out of range.", "0..1")
    if motion == "none" or amount == 0.0:
        return video
    frames, height, width, _ = video.shape
    out = video.clone()
    for index in posed:
        progress = index / max(frames - 1, 1)
        matrix = camera_matrix(motion, amount, progress, width, height)
        moved = cv2.warpAffine(video[index].numpy(), matrix, (width, height), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        moved_t = torch.from_numpy(moved)
        out[index] = (moved_t > 0.5).to(video.dtype) if binary else moved_t
    return out
