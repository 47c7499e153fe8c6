"""PoseGenStandInImageSlice: any sub-range of an IMAGE batch, including an empty one (core nodes never
produce an empty batch, but other packs' nodes can, and PoseGen's nodes must reject it clearly)."""

from __future__ import annotations

import torch
from comfy_api.v0_0_2 import io

from .common import CATEGORY, STAND_IN_NOTICE


class PoseGenStandInImageSlice(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="PoseGenStandInImageSlice",
            display_name="Image Slice (PoseGen stand-in)",
            category=CATEGORY,
            description=f"{STAND_IN_NOTICE} Returns image[start:start+count]; may be empty.",
            inputs=[
                io.Image.Input("image"),
                io.Int.Input("start", default=0, min=0, max=1_000_000),
                io.Int.Input("count", default=1, min=0, max=1_000_000),
            ],
            outputs=[io.Image.Output(display_name="image")],
        )

    @classmethod
    def execute(cls, image: torch.Tensor, start: int, count: int) -> io.NodeOutput:
        return io.NodeOutput(image[start:start + count])
