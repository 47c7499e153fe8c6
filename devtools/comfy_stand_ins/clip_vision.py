"""PoseGenStandInClipVisionEncode: CLIP-ViT-H-shaped CLIP_VISION_OUTPUT from fixed random projections."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from comfy_api.v0_0_2 import io

from .common import CATEGORY, STAND_IN_NOTICE, require_int, seeded_generator, stable_seed

MAX_TOKENS = 4096
MAX_WIDTH = 8192
# The image is summarised as a GRID x GRID RGB thumbnail: coarse, but enough that different pictures
# give different features while the projections stay small.
GRID = 8
FEATURES = 3 * GRID * GRID


def _projection(name: str, rows: int, cols: int) -> torch.Tensor:
    # One generator per matrix, so e.g. the width projection does not change when `tokens` changes.
    gen = seeded_generator(stable_seed("clip_vision", name, str(rows), str(cols)))
    return torch.randn((rows, cols), generator=gen, dtype=torch.float32)


def _check_image(image: object) -> torch.Tensor:
    if not isinstance(image, torch.Tensor):
        raise ValueError(
            f"image: expected an IMAGE tensor (batch, height, width, channels), got {type(image).__name__}"
        )
    if image.ndim != 4:
        raise ValueError(
            f"image: expected 4 dimensions (batch, height, width, channels), got shape {tuple(image.shape)}"
        )
    batch, height, width, channels = image.shape
    if batch == 0:
        raise ValueError("image: the batch is empty (0 images); connect at least one image")
    if height == 0 or width == 0:
        raise ValueError(f"image: has zero size {height}x{width}")
    if channels < 3:
        raise ValueError(f"image: expected at least 3 channels (RGB), got {channels}")
    return image


def stand_in_clip_vision_features(image: torch.Tensor, tokens: int = 257, width: int = 1280) -> dict[str, torch.Tensor]:
    """Deterministic CLIP-vision-like features of the FIRST image of the batch, as float32 CPU tensors:
    ``penultimate_hidden_states`` and ``last_hidden_state`` (1, tokens, width), ``image_embeds`` (1, width)."""
    image = _check_image(image)
    require_int("tokens", tokens, 1)
    require_int("width", width, 1)
    # Like real CLIP preprocessing: alpha is dropped, values are taken as 0..1 RGB.
    rgb = image[:1, :, :, :3].detach().to(device="cpu", dtype=torch.float32).movedim(-1, 1)
    thumb = F.adaptive_avg_pool2d(rgb, GRID).reshape(1, FEATURES) * 2.0 - 1.0  # (1, FEATURES) in [-1, 1]
    scale = 1.0 / math.sqrt(FEATURES)
    token_mix = _projection("token_mix", tokens, FEATURES)  # each token looks at the thumbnail differently
    hidden = ((token_mix * thumb) @ _projection("hidden", FEATURES, width)) * scale  # (tokens, width)
    penultimate = hidden.unsqueeze(0)
    return {
        "penultimate_hidden_states": penultimate,
        "last_hidden_state": torch.tanh(penultimate),
        "image_embeds": (thumb @ _projection("embeds", FEATURES, width)) * scale,
    }


class PoseGenStandInClipVisionEncode(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="PoseGenStandInClipVisionEncode",
            display_name="PoseGen Stand-in CLIP Vision Encode (tests only)",
            category=CATEGORY,
            description=(
                f"{STAND_IN_NOTICE} Replaces CLIP-ViT-H vision encoding: pools the first image to an 8x8 "
                "thumbnail and multiplies it by fixed seeded random matrices. Outputs CLIP_VISION_OUTPUT with "
                "penultimate_hidden_states and last_hidden_state (1, tokens, width) and image_embeds (1, width), "
                "float32. Same image, same features; different images, different features."
            ),
            inputs=[
                io.Image.Input("image", tooltip="Only the first image of the batch is used."),
                io.Int.Input("tokens", default=257, min=1, max=MAX_TOKENS, tooltip="Sequence length (ViT-H/14: 257)."),
                io.Int.Input("width", default=1280, min=1, max=MAX_WIDTH, tooltip="Hidden width (ViT-H: 1280)."),
            ],
            outputs=[io.ClipVisionOutput.Output()],
        )

    @classmethod
    def execute(cls, image: torch.Tensor, tokens: int = 257, width: int = 1280) -> io.NodeOutput:
        # Imported here: both probe devices on import, which the pure function above avoids.
        import comfy.clip_vision
        import comfy.model_management

        features = stand_in_clip_vision_features(image, tokens, width)
        device = comfy.model_management.intermediate_device()
        out = comfy.clip_vision.Output()
        for key, value in features.items():
            out[key] = value.to(device)
        out["mm_projected"] = None  # what CLIP-H's real encode_image sets too
        return io.NodeOutput(out)
