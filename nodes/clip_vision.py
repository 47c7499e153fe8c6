"""PoseGenClipVisionEncode: CLIP-H features of the reference, preprocessed as PoseGen does."""

from __future__ import annotations

import nodes as comfy_nodes
from comfy_api.v0_0_2 import io

from ..posegen_core.posegen.clip_vision import encode_reference
from .checked_node import PoseGenNode


class PoseGenClipVisionEncode(PoseGenNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="PoseGenClipVisionEncode",
            display_name="PoseGen CLIP Vision Encode",
            category="PoseGen",
            description="CLIP vision features of the reference image as PoseGen computes them: the image cropped "
            "and resized to the segment size like the video, then squashed (not cropped) to 224x224 with "
            "plain bicubic resampling and no 8-bit rounding. Core CLIPVisionEncode (crop: none) is close; this "
            "matches PoseGen exactly.",
            inputs=[
                io.ClipVision.Input("clip_vision", tooltip="clip_vision_h (ViT-H/14), from CLIPVisionLoader."),
                io.Image.Input("image", tooltip="The reference image (the first image of a batch is used)."),
                io.Int.Input("width", default=720, min=16, max=comfy_nodes.MAX_RESOLUTION, step=16,
                             tooltip="The segment width given to PoseGen Conditioning."),
                io.Int.Input("height", default=1280, min=16, max=comfy_nodes.MAX_RESOLUTION, step=16,
                             tooltip="The segment height given to PoseGen Conditioning."),
            ],
            outputs=[io.ClipVisionOutput.Output(display_name="clip_vision_output")],
        )

    @classmethod
    def execute(cls, clip_vision, image, width: int, height: int) -> io.NodeOutput:
        return io.NodeOutput(encode_reference(clip_vision, image, width, height))
