"""PoseCrafter's inference techniques as nodes: Reference Inversion, Latent Face/Hand Edit and its sampler.

Reference-pose insertion lives in the pose nodes (Insert Reference Pose / Drop Inserted Frames) and in PoseCrafter
Options (long video), with the inverted start; the edit sampler also plugs into the Segment Sampler's SAMPLER.
"""

from __future__ import annotations

import logging

import comfy.model_management
import comfy.utils
import nodes as comfy_nodes
import torch
from comfy_api.v0_0_2 import io

from ..posegen_core.errors import PoseGenInputError
from ..posegen_core.posecrafter.edit_sampler import FaceHandEditSampler
from ..posegen_core.posecrafter.face_hand import FaceHandEdit
from ..posegen_core.posecrafter.inversion import METHODS, invert_to_noise
from ..posegen_core.posecrafter.latent_edit import PART_NAMES
from ..posegen_core.posecrafter.start_noise import InvertedNoise
from ..posegen_core.posegen.conditioning import latent_frames
from .checked_node import PoseGenNode
from .pose_common import pose_input, read_poses

log = logging.getLogger("posegen")

# the edit travels from the edit node to the edit sampler
FaceHandEditType = io.Custom("POSEGEN_FACE_HAND_EDIT")


class PoseGenReferenceInversion(PoseGenNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="PoseGenReferenceInversion",
            display_name="Reference Inversion (PoseCrafter)",
            category="PoseGen/PoseCrafter",
            description="Runs ComfyUI's Euler sampler backwards from the clean reference latent to the schedule's "
            "start, with the same model, conditioning and CFG, so that sampling the result forwards gives the "
            "reference back. The result starts generation instead of random noise (PoseCrafter): as NOISE (it is "
            "the start state; one inverted frame is copied over every frame of the video), with the SIGMAS to "
            "sample it with and an empty LATENT of `length` frames. Works with any ComfyUI MODEL. For PoseGen: "
            "condition on the reference's own pose (PoseGen Conditioning with length 1) and invert its "
            "reference_latent.",
            inputs=[
                io.Model.Input("model", tooltip="The model that will sample (PoseGen base for long videos)."),
                io.Conditioning.Input("positive", tooltip="Conditioning for the reference frame (its own pose)."),
                io.Conditioning.Input("negative", tooltip="The negative conditioning of the same frame."),
                io.Latent.Input("latent", tooltip="The clean reference latent (PoseGen Conditioning's "
                                "reference_latent, or VAE Encode)."),
                io.Sigmas.Input("sigmas", tooltip="The sampling schedule (PoseGen Scheduler; denoise < 1 inverts "
                                "only part of the way)."),
                io.Float.Input("cfg", default=5.0, min=0.0, max=100.0, step=0.1,
                               tooltip="CFG of the inversion; the same as sampling reconstructs best (PoseGen: 5)."),
                io.Combo.Input("method", options=list(METHODS), default="euler",
                               tooltip="euler: the exact inverse of ComfyUI's euler sampler (with refine); heun: "
                               "backward Heun, matches the heun sampler only approximately."),
                io.Int.Input("refine", default=5, min=0, max=50,
                             tooltip="Fixed-point iterations per step (each one more pass of the single reference "
                             "frame): 0 = plain backward Euler. Round-trip error on the tiny model at 25 steps, "
                             "cfg 5: 0.47 (0), 2.4e-2 (2), 2.0e-3 (4), 1.5e-4 (6); each iteration gains ~4x."),
                io.Int.Input("length", default=81, min=1, max=comfy_nodes.MAX_RESOLUTION, step=4,
                             tooltip="Frames of the empty LATENT output (the segment to generate, 4k+1)."),
            ],
            outputs=[
                io.Noise.Output(display_name="noise"),
                io.Sigmas.Output(display_name="sigmas"),
                io.Latent.Output(display_name="latent"),
                io.String.Output(display_name="report"),
            ],
        )

    @classmethod
    def execute(cls, model, positive, negative, latent, sigmas, cfg: float, method: str, refine: int,
                length: int) -> io.NodeOutput:
        samples = latent.get("samples") if isinstance(latent, dict) else None
        if samples is None or samples.dim() != 5:
            shape = None if samples is None else tuple(samples.shape)
            raise PoseGenInputError("latent", f"shape {shape}.", "a video LATENT [B, C, T, h, w] (Wan)")
        sigmas = sigmas.float().cpu()
        steps = max(len(sigmas) - 1, 1)
        bar = comfy.utils.ProgressBar(steps)
        # invert_to_noise names its parameters, and latent, sigmas, method and refine are this node's names too
        noise = invert_to_noise(model, positive, negative, samples, sigmas, cfg, method, refine,
                                progress=lambda done, total: bar.update_absolute(done, total))
        b, c, _, h, w = samples.shape
        empty = torch.zeros((b, c, latent_frames(length), h, w), device=comfy.model_management.intermediate_device())
        calls = steps * (1 if method == "heun" else 1 + refine) * (2 if cfg != 1.0 else 1)
        report = (f"inverted {samples.shape[2]} latent frame(s) of {w}x{h} from σ=0 to σ={float(sigmas[0]):.4g} "
                  f"over {steps} steps ({method}, refine {refine}, cfg {cfg:g}): about {calls} model passes")
        return io.NodeOutput(InvertedNoise(noise, sigmas), sigmas, {"samples": empty}, report, ui={"text": [report]})


def _edit_inputs() -> list[io.Input]:
    return [
        pose_input("reference_pose", "The reference frame's pose with face and hand landmarks (first frame used), "
                   "on the reference image's canvas."),
        io.Boolean.Input("face", default=True, tooltip="Edit the face (70 landmarks)."),
        io.Boolean.Input("left_hand", default=True, tooltip="Edit the left hand (21 landmarks)."),
        io.Boolean.Input("right_hand", default=True, tooltip="Edit the right hand (21 landmarks)."),
        io.Float.Input("min_confidence", default=0.5, min=0.0, max=1.0, step=0.01,
                       tooltip="Landmarks below this confidence count as missing; a part with fewer than 4 "
                       "landmarks present in both poses is skipped for that frame."),
        io.Boolean.Input("robust", default=False, tooltip="Fit the affine robustly (iteratively reweighted, "
                         "ignores outlier landmarks) instead of plain least squares."),
        io.Float.Input("box_padding", default=0.15, min=0.0, max=2.0, step=0.01,
                       tooltip="Pad each part's box by this fraction of its larger side."),
        io.Float.Input("feather", default=1.0, min=0.0, max=16.0, step=0.5,
                       tooltip="Blend over this many latent pixels inside the box edge (0 = hard paste)."),
        io.Int.Input("at_step", default=0, min=0, max=1000,
                     tooltip="Edit before this sampler step: 0 = before sampling (PoseCrafter's choice)."),
    ]


class PoseGenLatentFaceHandEdit(PoseGenNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="PoseGenLatentFaceHandEdit",
            display_name="Latent Face/Hand Edit (PoseCrafter)",
            category="PoseGen/PoseCrafter",
            description="PoseCrafter's face and hand editing: for every target frame, the least-squares affine from "
            "the reference's face / hand landmarks to the target's warps the inverted reference in the latent, "
            "and the target's face / hand boxes are pasted from it, at the chosen step. Connect to Face/Hand Edit "
            "Sampler.",
            inputs=_edit_inputs(),
            outputs=[FaceHandEditType.Output(display_name="face_hand_edit")],
        )

    @classmethod
    def execute(cls, reference_pose, face: bool, left_hand: bool, right_hand: bool, min_confidence: float,
                robust: bool, box_padding: float, feather: float, at_step: int) -> io.NodeOutput:
        parts = tuple(p for p, on in zip(PART_NAMES, (face, left_hand, right_hand), strict=True) if on)
        reference = read_poses(reference_pose, "reference_pose").frames([0])
        return io.NodeOutput(FaceHandEdit(reference=reference, parts=parts, min_confidence=min_confidence,
                                          robust=robust, box_padding=box_padding, feather=feather, at_step=at_step))


class PoseGenFaceHandEditSampler(PoseGenNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="PoseGenFaceHandEditSampler",
            display_name="Face/Hand Edit Sampler (PoseCrafter)",
            category="PoseGen/PoseCrafter",
            description="ComfyUI's Euler sampler with the face/hand edit applied to the latent before its step, for "
            "SamplerCustomAdvanced with Reference Inversion's noise and sigmas (one segment), or for the Segment "
            "Sampler, which plans it for every base segment on that segment's poses. The edit is planned when "
            "sampling starts, on the latent's own size; the plan is logged (and in the Segment Sampler's report).",
            inputs=[
                FaceHandEditType.Input("face_hand_edit", tooltip="From Latent Face/Hand Edit."),
                pose_input("target_poses", "The poses of the segment, one per video frame (with an inserted "
                           "reference pose if the pose frames have one); for the Segment Sampler, the whole driving "
                           "poses, one per pose frame."),
            ],
            outputs=[io.Sampler.Output(display_name="sampler")],
        )

    @classmethod
    def execute(cls, face_hand_edit: FaceHandEdit, target_poses) -> io.NodeOutput:
        targets = read_poses(target_poses, "target_poses")
        return io.NodeOutput(FaceHandEditSampler(face_hand_edit, targets,
                                                 on_plan=lambda plan: log.info("PoseGen: %s", plan.summary())))
