"""PoseAnything nodes: loading, conditioning, part masks, the guider (PTCM + decoupled guidance) and skeletons from
subject masks. Thin V3 nodes over ``posegen_core.poseanything``."""

from __future__ import annotations

from pathlib import Path

import comfy.model_management
import comfy.utils
import node_helpers
import numpy as np
import torch
from comfy_api.v0_0_2 import io

from ..posegen_core.errors import PoseGenInputError
from ..posegen_core.poseanything.camera import CAMERA_MOTIONS
from ..posegen_core.poseanything.checkpoint import SHARD_PREFIX, load_checkpoint
from ..posegen_core.poseanything.comfy_model import load_model, poseanything_info, write_converted_file
from ..posegen_core.poseanything.conditioning import build_inputs
from ..posegen_core.poseanything.config import CONFIG_FILE
from ..posegen_core.poseanything.correspondence import MATCH_MODES
from ..posegen_core.poseanything.guidance import PTCMSettings, make_guider
from ..posegen_core.poseanything.negative import NEGATIVE_POSES, POSE_VIDEO_KEY, decoupled_negative
from ..posegen_core.poseanything.part_plan import parts_preview, video_parts
from ..posegen_core.poseanything.skeleton_from_mask import SkeletonFromMaskSettings, skeleton_frames_from_masks
from ..posegen_core.wan.model_files import list_checkpoints, output_file, resolve_checkpoint
from .checked_node import PoseGenNode
from .model_loading import CONVERT_DTYPES, WEIGHT_DTYPES, model_roots, register_model_folder

MODEL_FOLDER = "poseanything"
PartsType = io.Custom("POSEANYTHING_PARTS")


def register_poseanything_folder() -> None:
    """models/poseanything: the released folder (e.g. Pony/ with its two shards) or converted single files."""
    register_model_folder(MODEL_FOLDER)


def _roots() -> list[Path]:
    return model_roots(MODEL_FOLDER)


def _is_checkpoint_folder(folder: Path) -> bool:
    return (folder / CONFIG_FILE).is_file() or any(folder.glob(f"{SHARD_PREFIX}*.safetensors"))


def _checkpoint_input() -> io.Combo.Input:
    return io.Combo.Input(
        "checkpoint", options=list_checkpoints(_roots(), _is_checkpoint_folder),
        tooltip=f"A PoseAnything checkpoint in models/{MODEL_FOLDER}: the released folder (Ryan241005/PoseAnything, "
        "two diffusion_pytorch_model-*.safetensors shards, with PTCM), its tiktok/ file (no PTCM), or a file made "
        "by Convert PoseAnything Checkpoint.")


def _resolve(name: str) -> Path:
    return resolve_checkpoint(_roots(), name, model_folder=MODEL_FOLDER)


class LoadPoseAnythingModel(PoseGenNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LoadPoseAnythingModel",
            display_name="Load PoseAnything Model",
            category="PoseGen/PoseAnything",
            description="Loads PoseAnything (Wan2.2-TI2V-5B with a 96-channel input and, in the main release, PTCM "
            "part cross-attention) into ComfyUI's own Wan 2.2 model, from the checkpoint's config. A normal MODEL "
            "with PoseAnything's forward and flow shift 5.",
            inputs=[_checkpoint_input(),
                    io.Combo.Input("weight_dtype", options=list(WEIGHT_DTYPES), default="default",
                                   tooltip="default lets ComfyUI choose for your device (PoseAnything runs in "
                                   "bf16); fp8_e4m3fn / fp8_e5m2 store the weights in fp8 and compute in the "
                                   "device's dtype.")],
            outputs=[io.Model.Output(display_name="model")],
        )

    @classmethod
    def execute(cls, checkpoint: str, weight_dtype: str) -> io.NodeOutput:
        if weight_dtype not in WEIGHT_DTYPES:
            raise PoseGenInputError("weight_dtype", f"'{weight_dtype}' is unknown.", f"one of {list(WEIGHT_DTYPES)}")
        bar = comfy.utils.ProgressBar(1)
        return io.NodeOutput(load_model(_resolve(checkpoint), WEIGHT_DTYPES[weight_dtype],
                                        progress=lambda done, total: bar.update_absolute(done, total)))


class ConvertPoseAnythingCheckpoint(PoseGenNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="ConvertPoseAnythingCheckpoint",
            display_name="Convert PoseAnything Checkpoint",
            category="PoseGen/PoseAnything",
            description="One-time conversion of the released shard folder into one .safetensors file in "
            f"models/{MODEL_FOLDER} with its config in the metadata (loads without the folder, casts once).",
            is_output_node=True,
            inputs=[_checkpoint_input(),
                    io.String.Input("output_name", default="poseanything_bf16",
                                    tooltip=f"File name (no folders) in models/{MODEL_FOLDER}."),
                    io.Combo.Input("dtype", options=list(CONVERT_DTYPES), default="bf16",
                                   tooltip="bf16 is what PoseAnything runs in; fp8_e4m3fn / fp8_e5m2 halve it "
                                   "again; keep stores the weights as they are."),
                    io.Boolean.Input("overwrite", default=False, tooltip="Replace an existing file of that name.")],
            outputs=[io.String.Output(display_name="file")],
        )

    @classmethod
    def execute(cls, checkpoint: str, output_name: str, dtype: str, overwrite: bool) -> io.NodeOutput:
        target = output_file(_roots()[0], output_name)
        if target.exists() and not overwrite:
            raise PoseGenInputError("output_name", f"'{target.name}' already exists in models/{MODEL_FOLDER}.",
                                    "a new name, or overwrite enabled")
        if dtype not in CONVERT_DTYPES:
            raise PoseGenInputError("dtype", f"'{dtype}' is unknown.", f"one of {list(CONVERT_DTYPES)}")
        loaded = load_checkpoint(_resolve(checkpoint))
        write_converted_file(target, loaded, CONVERT_DTYPES[dtype])
        return io.NodeOutput(target.name, ui={"text": [f"wrote models/{MODEL_FOLDER}/{target.name}"]})


class PoseAnythingConditioning(PoseGenNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="PoseAnythingConditioning",
            display_name="PoseAnything Conditioning",
            category="PoseGen/PoseAnything",
            description="First frame + skeleton frames (white lines on black, any skeleton) → positive/negative "
            "with the encoded skeleton video (channels 48-95 of the model input) and a LATENT whose first frame is "
            "the encoded first frame, held at timestep 0 and re-imposed every step. Sparse control: only the "
            "posed frames carry a skeleton, the others are black.",
            inputs=[
                io.Conditioning.Input("positive", tooltip="The prompt; describe the camera in words (as released)."),
                io.Conditioning.Input("negative", tooltip="Wan's default negative prompt, as the released scripts."),
                io.Vae.Input("vae", tooltip="The Wan 2.2 VAE (48 latent channels)."),
                io.Image.Input("first_frame", tooltip="The appearance reference; becomes frame 0 of the video."),
                io.Image.Input("skeleton_frames", tooltip="Either the whole video (length frames, black where "
                               "un-posed) or only the posed frames (then list their indices in posed_frames)."),
                io.String.Input("posed_frames", default="auto",
                                tooltip="'auto' (non-black frames of a whole video) or indices: '0,20,40', "
                                "'0-80:4'. Frame 0 should be posed."),
                io.Int.Input("length", default=81, min=1, max=1025, step=4,
                             tooltip="Frames to generate (4k+1). PoseAnything was trained on 81."),
                io.Int.Input("long_side", default=832, min=64, max=2048, step=32,
                             tooltip="The released resolution rule: long side this size, both sides floored to "
                             "multiples of 32, no crop."),
            ],
            outputs=[io.Conditioning.Output(display_name="positive"),
                     io.Conditioning.Output(display_name="negative"),
                     io.Latent.Output(display_name="latent")],
        )

    @classmethod
    def execute(cls, positive, negative, vae, first_frame, skeleton_frames, posed_frames: str, length: int,
                long_side: int) -> io.NodeOutput:
        built = build_inputs(vae, first_frame, skeleton_frames, posed_frames, length, long_side)
        return io.NodeOutput(node_helpers.conditioning_set_values(positive, built.positive_values),
                             node_helpers.conditioning_set_values(negative, built.positive_values), built.latent)


class PoseAnythingPartMasks(PoseGenNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="PoseAnythingPartMasks",
            display_name="PoseAnything Part Masks",
            category="PoseGen/PoseAnything",
            description="Splits each posed skeleton into at most 5 parts (released segmentation, dilated α times "
            "so frame 0's parts cover the subject mask) on the latent's token grid, for PTCM in the PoseAnything "
            "Guider.",
            inputs=[
                io.Conditioning.Input("positive", tooltip="PoseAnything Conditioning's positive (its skeleton video)."),
                io.Latent.Input("latent", tooltip="PoseAnything Conditioning's latent (its token grid)."),
                io.Mask.Input("subject_mask", tooltip="The subject in the first frame (any segmentation node). "
                              "Without it the parts shrink to the skeleton lines and PTCM does little."),
            ],
            outputs=[PartsType.Output(display_name="parts"), io.Image.Output(display_name="preview"),
                     io.Int.Output(display_name="alpha")],
        )

    @classmethod
    def execute(cls, positive, latent, subject_mask) -> io.NodeOutput:
        source = next((values.get(POSE_VIDEO_KEY) for _, values in positive if POSE_VIDEO_KEY in values), None)
        if source is None or not source.binary:
            raise PoseGenInputError("positive", "it carries no PoseAnything skeleton video.",
                                    "the positive output of PoseAnything Conditioning")
        samples = latent["samples"]
        parts = video_parts(source.video(), list(source.posed), subject_mask, samples.shape[-1] // 2,
                            samples.shape[-2] // 2)
        size = (source.frames.shape[2], source.frames.shape[1])
        return io.NodeOutput(parts, parts_preview(parts, size), parts.alpha)


class PoseAnythingGuider(PoseGenNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="PoseAnythingGuider",
            display_name="PoseAnything Guider",
            category="PoseGen/PoseAnything",
            description="CFG guider for SamplerCustomAdvanced, for any Wan-family MODEL. Decoupled guidance: the "
            "negative branch can carry the static first-frame pose (no subject motion) and, experimentally, a "
            "camera trajectory. With part masks and a PTCM model it runs PoseAnything's correspondence pre-pass "
            "and the part cross-attention.",
            inputs=[
                io.Model.Input("model", tooltip="PoseAnything (PTCM needs the PTCM checkpoint), PoseGen or any Wan "
                               "model."),
                io.Conditioning.Input("positive", tooltip="Positive conditioning with the subject's pose video."),
                io.Conditioning.Input("negative", tooltip="Negative conditioning from the same conditioning node."),
                io.Float.Input("cfg", default=1.0, min=0.0, max=30.0, step=0.1,
                               tooltip="Released default 1.0 (negative never evaluated); raise it for sparse poses."),
                io.Combo.Input("negative_pose", options=list(NEGATIVE_POSES), default=NEGATIVE_POSES[0],
                               tooltip="'static first frame' is the released pose_cfg: the negative sees every "
                               "posed frame replaced by frame 0's skeleton, so CFG pushes towards the motion."),
                io.Combo.Input("camera_motion", options=list(CAMERA_MOTIONS), default="none",
                               tooltip="Experimental: moves the negative's pose frames as this camera would. "
                               "The released code expresses camera motion in the prompt text only."),
                io.Float.Input("camera_amount", default=0.0, min=0.0, max=1.0, step=0.01,
                               tooltip="By the last frame: pan = fraction of the frame, zoom = +scale, rotation = "
                               "x90 degrees."),
                PartsType.Input("parts", optional=True, tooltip="PoseAnything Part Masks: turns PTCM on."),
                io.Combo.Input("ptcm_correspondence", options=list(MATCH_MODES), default="released",
                               tooltip="released: as published (keys of the previous latent frame, the last "
                               "posed frame of a group wins; the weights were tuned with it). fixed: the intended "
                               "rule (keys of the same latent frame, all frames of a group OR-ed)."),
                io.Int.Input("ptcm_steps", default=6, min=0, max=1000,
                             tooltip="Steps with part cross-attention (released: the first 6)."),
            ],
            outputs=[io.Guider.Output(display_name="guider")],
        )

    @classmethod
    def execute(cls, model, positive, negative, cfg: float, negative_pose: str, camera_motion: str,
                camera_amount: float, ptcm_correspondence: str, ptcm_steps: int, parts=None) -> io.NodeOutput:
        negative = decoupled_negative(negative, negative_pose, camera_motion, camera_amount)
        settings = PTCMSettings(match_mode=ptcm_correspondence, active_steps=ptcm_steps)

        def has_ptcm(patcher) -> bool:
            info = poseanything_info(patcher)
            return info is not None and info.has_ptcm

        return io.NodeOutput(make_guider(model, positive, negative, cfg, parts, settings, has_ptcm=has_ptcm))


class PoseAnythingSkeletonFromMasks(PoseGenNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="PoseAnythingSkeletonFromMasks",
            display_name="Skeleton From Subject Masks",
            category="PoseGen/PoseAnything",
            description="Medial-axis skeletons of a subject MASK video (any segmentation node), cleaned and pruned "
            "of spurs, drawn as PoseAnything's white ~3 px (at 512) lines on black: drive any animal or character "
            "from a video and its masks. Frames with an empty mask stay black (left out of posed_frames).",
            inputs=[
                io.Mask.Input("masks", tooltip="Subject masks, one per frame (1 = subject)."),
                io.Int.Input("min_branch_px", default=8, min=1, max=256,
                             tooltip="Spurs shorter than this (at 512 px) are pruned."),
                io.Float.Input("branch_fraction", default=0.05, min=0.0, max=0.5, step=0.01,
                               tooltip="...or shorter than this fraction of the skeleton's length."),
                io.Int.Input("clean_kernel", default=5, min=1, max=31,
                             tooltip="Mask opening/closing size at 512 px (removes ragged edges)."),
                io.Float.Input("smooth_epsilon", default=1.5, min=0.0, max=10.0, step=0.1,
                               tooltip="Douglas-Peucker smoothing of each branch, px at 512 (0 = off)."),
            ],
            outputs=[io.Image.Output(display_name="skeleton_frames"), io.String.Output(display_name="posed_frames")],
        )

    @classmethod
    def execute(cls, masks, min_branch_px: int, branch_fraction: float, clean_kernel: int,
                smooth_epsilon: float) -> io.NodeOutput:
        settings = SkeletonFromMaskSettings(min_branch_px=min_branch_px, branch_fraction=branch_fraction,
                                            clean_kernel=clean_kernel, smooth_epsilon=smooth_epsilon)
        frames = masks.float().cpu().numpy()
        bar = comfy.utils.ProgressBar(frames.shape[0])
        video = skeleton_frames_from_masks(
            frames, settings, progress=lambda done: bar.update_absolute(done, frames.shape[0]),
            should_stop=comfy.model_management.throw_exception_if_processing_interrupted)
        empty = set(video.empty_frames)
        posed = ",".join(str(i) for i in range(frames.shape[0]) if i not in empty)
        return io.NodeOutput(torch.from_numpy(np.ascontiguousarray(video.frames)), posed)


NODES: list[type[io.ComfyNode]] = [LoadPoseAnythingModel, ConvertPoseAnythingCheckpoint, PoseAnythingConditioning,
                                   PoseAnythingPartMasks, PoseAnythingGuider, PoseAnythingSkeletonFromMasks]
