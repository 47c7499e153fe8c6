"""PoseGenStandInImageCorrupt: an IMAGE or MASK made wrong in one of the ways other packs' nodes can make it (NaN,
infinity, 8-bit values, values far outside 0..1, an alpha channel), so the pack's input checks can be driven
through the API."""

from __future__ import annotations

import torch
from comfy_api.v0_0_2 import io

from .common import CATEGORY, STAND_IN_NOTICE

FAULTS = ("nan", "inf", "times_255", "times_7", "alpha_channel", "none")


def corrupt(image: torch.Tensor, fault: str) -> torch.Tensor:
    out = image.clone().float()
    if fault == "nan":
        out.view(-1)[out.numel() // 2] = float("nan")
    elif fault == "inf":
        out.view(-1)[-1] = float("inf")
    elif fault == "times_255":
        out = out * 255
    elif fault == "times_7":
        out = out * 7
    elif fault == "alpha_channel":
        out = torch.cat([out, torch.ones_like(out[..., :1])], dim=-1)
    return out


class PoseGenStandInImageCorrupt(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="PoseGenStandInImageCorrupt",
            display_name="Image Corrupt (PoseGen stand-in)",
            category=CATEGORY,
            description=f"{STAND_IN_NOTICE} Breaks an IMAGE on purpose (NaN, inf, x255, x7, an alpha channel); "
            "mask_out is the first channel of the result.",
            inputs=[io.Image.Input("image"), io.Combo.Input("fault", options=list(FAULTS))],
            outputs=[io.Image.Output(display_name="image"), io.Mask.Output(display_name="mask_out")],
        )

    @classmethod
    def execute(cls, image: torch.Tensor, fault: str) -> io.NodeOutput:
        broken = corrupt(image, fault)
        return io.NodeOutput(broken, broken[..., 0])
