"""PoseGen stand-in nodes: a separate, test/demo-only ComfyUI custom-node package (V3 schema).

Real umT5-XXL and CLIP-ViT-H weights cannot be downloaded in tests or CI, so these nodes produce ComfyUI's
standard CONDITIONING and CLIP_VISION_OUTPUT values from small, seeded random projections instead. They carry
no meaning at all; they only have the right types, shapes, dtypes and determinism. ``PoseGenStandInSleep``
is a controllable slow node for exercising progress, previews, interrupts and errors; ``PoseGenStandInPosePreview``
sends a synthetic waving pose sequence to the frontend's pose preview.

The package registers only through ``comfy_entrypoint`` (ComfyUI ignores the entrypoint of a module that
also exports NODE_CLASS_MAPPINGS, so this one must not). Link it into a ComfyUI custom_nodes folder as
e.g. ``posegen_stand_ins``; it is never part of the PoseGen pack itself.
"""

from __future__ import annotations

from comfy_api.v0_0_2 import ComfyExtension, io
from typing_extensions import override

from .clip_vision import PoseGenStandInClipVisionEncode, stand_in_clip_vision_features
from .common import CATEGORY, ensure_repo_on_path
from .fail_on_workers import PoseGenStandInFailOnWorkers
from .image_corrupt import PoseGenStandInImageCorrupt
from .image_slice import PoseGenStandInImageSlice
from .pose_preview import PoseGenStandInPosePreview, waving_sequence
from .sleep import PoseGenStandInSleep
from .text_encode import PoseGenStandInTextEncode, stand_in_text_embedding, stand_in_token_count

ensure_repo_on_path()  # stand-ins reuse posegen_core's pure helpers

STAND_IN_NODES: list[type[io.ComfyNode]] = [
    PoseGenStandInTextEncode,
    PoseGenStandInClipVisionEncode,
    PoseGenStandInSleep,
    PoseGenStandInImageSlice,
    PoseGenStandInImageCorrupt,
    PoseGenStandInPosePreview,
    PoseGenStandInFailOnWorkers,
]


class PoseGenStandInsExtension(ComfyExtension):
    @override
    async def get_node_list(self) -> list[type[io.ComfyNode]]:
        return list(STAND_IN_NODES)


async def comfy_entrypoint() -> PoseGenStandInsExtension:
    return PoseGenStandInsExtension()


__all__ = [
    "CATEGORY",
    "STAND_IN_NODES",
    "PoseGenStandInClipVisionEncode",
    "PoseGenStandInFailOnWorkers",
    "PoseGenStandInImageSlice",
    "PoseGenStandInImageCorrupt",
    "PoseGenStandInPosePreview",
    "PoseGenStandInSleep",
    "PoseGenStandInTextEncode",
    "PoseGenStandInsExtension",
    "comfy_entrypoint",
    "stand_in_clip_vision_features",
    "stand_in_text_embedding",
    "stand_in_token_count",
    "waving_sequence",
]
