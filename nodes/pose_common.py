"""What every pose node shares: the POSE_KEYPOINT socket, conversions, and the preview it sends."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from comfy_api.v0_0_2 import io

from ..posegen_core.poses.formats.keypoint import from_pose_keypoint, to_pose_keypoint
from ..posegen_core.poses.preview import PREVIEW_KEY, preview_payload
from ..posegen_core.poses.sequence import PoseSequence

# comfyui_controlnet_aux's type name, so its nodes connect to ours both ways
PoseKeypoint = io.Custom("POSE_KEYPOINT")


def pose_input(name: str = "pose_keypoint", tooltip: str | None = None, optional: bool = False) -> io.Input:
    return PoseKeypoint.Input(name, optional=optional, tooltip=tooltip or (
        "POSE_KEYPOINT: from these nodes or comfyui_controlnet_aux (DWPose/OpenPose pixel or normalized "
        "coordinates, AP10K animals)."))


def read_poses(value: Any, input_name: str = "pose_keypoint") -> PoseSequence:
    return from_pose_keypoint(value, input_name=input_name)


def preview_ui(seq: PoseSequence) -> dict[str, list[dict[str, Any]]]:
    """The node's UI output: the animated preview of ``seq`` for the frontend."""
    return {PREVIEW_KEY: [preview_payload(seq)]}


def pose_output(seq: PoseSequence, *extra: Any) -> io.NodeOutput:
    """POSE_KEYPOINT first (plus ``extra`` outputs), with the preview."""
    return io.NodeOutput(to_pose_keypoint(seq), *extra, ui=preview_ui(seq))


def images_to_uint8(images: torch.Tensor) -> np.ndarray:
    """ComfyUI IMAGE [F, H, W, C] in [0, 1] -> uint8 RGB numpy."""
    return (images[..., :3].clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()


def uint8_to_images(frames: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(frames).float().div(255)
