"""PoseGen's CLIP image features (§3.6): the transformed reference squashed to 224x224, no crop.

PoseGen (DiffSynth's ``WanImageEncoder``) takes the reference after its crop/resize transform, in [-1, 1],
resizes it bicubically to the CLIP size without antialiasing, maps it to [0, 1] and normalises it; the ViT-H
penultimate block's tokens are the features. ComfyUI's ``clip_preprocess`` instead antialiases, rounds to 8 bits
and centre-crops unless told not to, so PoseGenClipVisionEncode prepares the pixels itself and runs ComfyUI's
vision model on them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from .conditioning import check_image, preprocess_frames


def posegen_clip_pixels(
    image: torch.Tensor, width: int, height: int, size: int, mean: Sequence[float], std: Sequence[float],
) -> torch.Tensor:
    """``[1, 3, size, size]`` CLIP input from a ComfyUI IMAGE, exactly as PoseGen's pipeline builds it."""
    frames = preprocess_frames(check_image(image, "image")[:1], width, height)  # the reference transform
    signed = frames.movedim(-1, 1).float() * 2 - 1  # PoseGen holds frames in [-1, 1]
    squashed = F.interpolate(signed, size=(size, size), mode="bicubic", align_corners=False)
    unit = squashed * 0.5 + 0.5
    mean_t = torch.tensor(mean, dtype=unit.dtype, device=unit.device).view(1, 3, 1, 1)
    std_t = torch.tensor(std, dtype=unit.dtype, device=unit.device).view(1, 3, 1, 1)
    return (unit - mean_t) / std_t


def encode_reference(clip_vision: Any, image: torch.Tensor, width: int, height: int) -> Any:
    """CLIP_VISION_OUTPUT for the reference, through ComfyUI's loaded vision model."""
    import comfy.clip_vision
    import comfy.model_management

    comfy.model_management.load_model_gpu(clip_vision.patcher)
    pixels = posegen_clip_pixels(image, width, height, clip_vision.image_size, clip_vision.image_mean,
                                 clip_vision.image_std).to(clip_vision.load_device)
    with torch.no_grad():
        last, penultimate, embeds, projected = clip_vision.model(pixel_values=pixels, intermediate_output=-2)
    device = comfy.model_management.intermediate_device()
    output = comfy.clip_vision.Output()
    output["last_hidden_state"] = last.to(device)
    output["penultimate_hidden_states"] = penultimate.to(device)
    output["image_embeds"] = embeds.to(device)
    output["mm_projected"] = projected
    return output
