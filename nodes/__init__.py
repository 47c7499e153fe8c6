"""The pack's V3 nodes, registered through ``comfy_entrypoint``."""

from __future__ import annotations

from comfy_api.v0_0_2 import ComfyExtension, io

from .clip_vision import PoseGenClipVisionEncode
from .conditioning import PoseGenConditioning
from .distributed import NODES as DISTRIBUTED_NODES
from .long_video_output import NODES as LONG_VIDEO_OUTPUT_NODES
from .longvideo import NODES as LONG_VIDEO_NODES
from .model_loading import ConvertPoseGenCheckpoint, LoadPoseGenModel, PoseGenNumerics, register_model_folder
from .pose_edit import (
    PoseGenDropInsertedFrames,
    PoseGenInsertReferencePose,
    PoseGenPoseSequence,
    PoseGenReferenceFrameSelect,
    PoseGenRetargetPoses,
)
from .pose_io import PoseGenExtractPoses, PoseGenLoadPoses
from .pose_render import PoseGenRenderPoses
from .poseanything import NODES as POSEANYTHING_NODES
from .poseanything import register_poseanything_folder
from .posecrafter import PoseGenFaceHandEditSampler, PoseGenLatentFaceHandEdit, PoseGenReferenceInversion
from .scheduling import PoseGenScheduler

NODES: list[type[io.ComfyNode]] = [
    LoadPoseGenModel,
    ConvertPoseGenCheckpoint,
    PoseGenNumerics,
    PoseGenClipVisionEncode,
    PoseGenConditioning,
    PoseGenScheduler,
    *LONG_VIDEO_NODES,
    *LONG_VIDEO_OUTPUT_NODES,
    *DISTRIBUTED_NODES,
    PoseGenLoadPoses,
    PoseGenExtractPoses,
    PoseGenPoseSequence,
    PoseGenRetargetPoses,
    PoseGenRenderPoses,
    PoseGenReferenceFrameSelect,
    PoseGenInsertReferencePose,
    PoseGenDropInsertedFrames,
    PoseGenReferenceInversion,
    PoseGenLatentFaceHandEdit,
    PoseGenFaceHandEditSampler,
    *POSEANYTHING_NODES,
]


class PoseGenExtension(ComfyExtension):
    async def get_node_list(self) -> list[type[io.ComfyNode]]:
        return NODES


async def comfy_entrypoint() -> PoseGenExtension:
    register_poseanything_folder()
    register_model_folder()  # before ComfyUI asks for the node list, whose combos list models/posegen
    return PoseGenExtension()
