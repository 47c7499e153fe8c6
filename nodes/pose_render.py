"""PoseGenRenderPoses: POSE_KEYPOINT -> IMAGE in PoseGen's, OpenPose's or PoseAnything's style."""

from __future__ import annotations

import comfy.utils
import nodes as comfy_nodes
from comfy_api.v0_0_2 import io

from ..posegen_core.errors import PoseGenInputError
from ..posegen_core.poses.render import STYLES, render_sequence, skeleton_supports
from .checked_node import PoseGenNode
from .pose_common import pose_input, read_poses, uint8_to_images


class PoseGenRenderPoses(PoseGenNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="PoseGenRenderPoses",
            display_name="Render Poses",
            category="PoseGen/poses",
            description="Draws pose frames. posegen: exactly what PoseGen's model was fed (body + feet + hands, no "
            "face, its thresholds, widths and channel-swapped colours); openpose: the familiar OpenPose/DWPose "
            "look; mono: white lines on black for any skeleton (PoseAnything). The canvas is fitted into "
            "width x height keeping its aspect.",
            inputs=[
                pose_input(),
                io.Combo.Input("style", options=list(STYLES), default="posegen",
                               tooltip="posegen for PoseGen, mono for non-human skeletons / PoseAnything."),
                io.Int.Input("width", default=0, min=0, max=comfy_nodes.MAX_RESOLUTION,
                             tooltip="Output width; 0 = the pose canvas."),
                io.Int.Input("height", default=0, min=0, max=comfy_nodes.MAX_RESOLUTION,
                             tooltip="Output height; 0 = the pose canvas."),
            ],
            outputs=[io.Image.Output(display_name="images")],
        )

    @classmethod
    def execute(cls, pose_keypoint, style: str, width: int, height: int) -> io.NodeOutput:
        seq = read_poses(pose_keypoint)
        if style not in STYLES or not skeleton_supports(style, seq.skeleton):
            raise PoseGenInputError("style", f"'{style}' cannot draw skeleton '{seq.skeleton.name}'.",
                                    "posegen for the human layout, openpose or mono for any skeleton")
        bar = comfy.utils.ProgressBar(seq.num_frames)
        frames = render_sequence(seq, style, width or None, height or None,
                                 progress=lambda done, total: bar.update_absolute(done, total))
        return io.NodeOutput(uint8_to_images(frames))
