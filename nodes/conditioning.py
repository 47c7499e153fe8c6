"""PoseGenConditioning: reference image + pose frames (+ hand normals) -> PoseGen's model conditioning."""

from __future__ import annotations

import comfy.model_management
import comfy.utils
import node_helpers
import nodes as comfy_nodes
import torch
from comfy_api.v0_0_2 import io

from ..posegen_core.poseanything.negative import POSE_VIDEO_KEY, PoseVideoSource
from ..posegen_core.posegen.conditioning import build_segment_conditioning, preprocess_frames
from .checked_node import PoseGenNode

MISSING_HANDS = {
    "black frames": True,  # what PoseGen's own hand video holds where no hand is visible
    "skip hand branch": False,
}


class PoseGenConditioning(PoseGenNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="PoseGenConditioning",
            display_name="PoseGen Conditioning",
            category="PoseGen",
            description="Builds PoseGen's conditioning for one segment: the pose video's VAE latent in the 36-channel "
            "I2V input (with the I2V frame mask), the clean reference latent for the reference tokens, the "
            "hand-normal latent and the CLIP image features. Frames are centre-cropped to width:height and "
            "resized as PoseGen does. Feed positive/negative/latent to a sampler.",
            inputs=[
                io.Conditioning.Input("positive", tooltip="Text conditioning (umT5-XXL, e.g. CLIPTextEncode)."),
                io.Conditioning.Input("negative", tooltip="Negative text conditioning; PoseGen uses Wan's default "
                                      "negative prompt."),
                io.Vae.Input("vae", tooltip="The Wan 2.1 VAE."),
                io.ClipVisionOutput.Input("clip_vision_output",
                                          tooltip="CLIPVisionEncode of the reference image with clip_vision_h "
                                          "(crop: none matches PoseGen's squash-resize)."),
                io.Image.Input("reference_image", tooltip="One image of the subject whose appearance to keep."),
                io.Image.Input("pose_frames", tooltip="Rendered pose frames, exactly `length` of them, drawn on a "
                               "canvas of the reference image's size."),
                io.Int.Input("width", default=720, min=16, max=comfy_nodes.MAX_RESOLUTION, step=16,
                             tooltip="Output width (PoseGen: 720)."),
                io.Int.Input("height", default=1280, min=16, max=comfy_nodes.MAX_RESOLUTION, step=16,
                             tooltip="Output height (PoseGen: 1280)."),
                io.Int.Input("length", default=81, min=1, max=comfy_nodes.MAX_RESOLUTION, step=4,
                             tooltip="Frames in the segment, 4k+1 (PoseGen: 81)."),
                io.Image.Input("hand_frames", optional=True,
                               tooltip="Optional hand surface-normal frames (normals where hands are, black "
                               "elsewhere), same count and size as pose_frames."),
                io.Combo.Input("missing_hands", options=list(MISSING_HANDS), default="black frames", optional=True,
                               tooltip="Without hand_frames: encode black frames (PoseGen's input when no hand is "
                               "visible) or skip the hand embedding entirely."),
            ],
            outputs=[
                io.Conditioning.Output(display_name="positive"),
                io.Conditioning.Output(display_name="negative"),
                io.Latent.Output(display_name="latent"),
                io.Latent.Output(display_name="reference_latent",
                                 tooltip="The reference image's clean latent (for Reference Inversion)."),
            ],
        )

    @classmethod
    def execute(cls, positive, negative, vae, clip_vision_output, reference_image, pose_frames, width: int,
                height: int, length: int, hand_frames=None, missing_hands: str = "black frames") -> io.NodeOutput:
        bar = comfy.utils.ProgressBar(3)
        values, shape = build_segment_conditioning(
            vae, reference_image, pose_frames, hand_frames, clip_vision_output, width, height, length,
            black_hands_when_missing=MISSING_HANDS.get(missing_hands, True),
            progress=lambda done, total: bar.update_absolute(done, total))
        latent = torch.zeros(shape.latent_shape, device=comfy.model_management.intermediate_device())
        # kept so a guider can re-encode a static-pose / camera-moved negative (PoseAnything Guider)
        values[POSE_VIDEO_KEY] = PoseVideoSource.from_images(preprocess_frames(pose_frames, width, height),
                                                             tuple(range(length)), vae, binary=False)
        return io.NodeOutput(node_helpers.conditioning_set_values(positive, values),
                             node_helpers.conditioning_set_values(negative, values),
                             {"samples": latent}, {"samples": values["reference_latents"][0]})
