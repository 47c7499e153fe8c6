"""Long video nodes: PoseGen Text Encode (prompt + subject word), the Segment Sampler with its option nodes
(Segment Layout, KV Sharing, PoseCrafter Options), Transition Blend, and the replaced nodes of the old layout.

Every option is a typed object made by its own small node (as ComfyUI's custom sampling and AnimateDiff-Evolved's
context options compose a sampler); an option left unconnected is PoseGen's default. The sampler's SAMPLER input is
ComfyUI's: KSamplerSelect "euler" is PoseGen's, Face/Hand Edit Sampler adds PoseCrafter's edit per base segment.
"""

from __future__ import annotations

import json

import comfy.utils
import nodes as comfy_nodes
from comfy_api.v0_0_2 import InputImpl, io, ui

from ..posegen_core.distributed.cluster import DistributedOptions
from ..posegen_core.distributed.setup import remote_chunks
from ..posegen_core.errors import PoseGenInputError, inputs_named
from ..posegen_core.longvideo.file_run import VideoOutput, generate_to_file
from ..posegen_core.longvideo.frame_sources import RenderedPoses
from ..posegen_core.longvideo.kvshare import KV_STORAGE, MASK_MODES
from ..posegen_core.longvideo.options import (
    FRAMING,
    KVSharing,
    LongVideoSettings,
    PoseCrafterOptions,
    SegmentLayout,
    framing_steps_blocks,
)
from ..posegen_core.longvideo.run import LongVideoInputs, transition_between
from ..posegen_core.longvideo.subject import POSEGEN_SUBJECT_WORDS, encode_prompt_with_subject
from .checked_node import PoseGenNode
from .conditioning import MISSING_HANDS
from .distributed import DistributedType
from .long_video_output import VideoOutputType, output_linked, runs_root, video_path
from .pose_common import pose_input, read_poses
from .posecrafter import FaceHandEditType

SegmentLayoutType = io.Custom("POSEGEN_SEGMENT_LAYOUT")
KVSharingType = io.Custom("POSEGEN_KV_SHARING")
PoseCrafterOptionsType = io.Custom("POSEGEN_POSECRAFTER_OPTIONS")

# core names of KVSharing -> the KV Sharing node's inputs (errors from the node and from the run that reads it)
KV_SHARING_INPUTS = {"shared_steps": "kv_steps", "shared_blocks": "kv_blocks", "poses": "pose_keypoint"}

SAMPLER_TOOLTIP = ("KSamplerSelect euler is PoseGen's sampler. Face/Hand Edit Sampler (PoseCrafter) edits every "
                   "base segment, planned on its own poses; any other SAMPLER is used for every segment and "
                   "transition.")
LAYOUT_TOOLTIP = "PoseGen Segment Layout. Unconnected: PoseGen's segments of 81 frames, overlaps 21 and 20."


class PoseGenTextEncode(PoseGenNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="PoseGenTextEncode",
            display_name="PoseGen Text Encode",
            category="PoseGen",
            description="Encodes the prompt like CLIP Text Encode and remembers where the subject word (woman, girl, "
            "man or boy, as PoseGen looks for) sits in the tokens: the 'attention' foreground masks of KV sharing "
            "follow that word's cross-attention.",
            inputs=[
                io.Clip.Input("clip", tooltip="umT5-XXL (CLIPLoader, type wan)."),
                io.String.Input("text", multiline=True, tooltip="Describe the subject with one of the words woman, "
                                "girl, man, boy."),
                io.String.Input("subject_word", default="auto",
                                tooltip=f"auto: the first of {', '.join(POSEGEN_SUBJECT_WORDS)} in the prompt; or any "
                                "word of the prompt."),
            ],
            outputs=[io.Conditioning.Output(display_name="conditioning")],
        )

    @classmethod
    def execute(cls, clip, text: str, subject_word: str) -> io.NodeOutput:
        conditioning, word, positions = encode_prompt_with_subject(clip, text, subject_word or "auto")
        return io.NodeOutput(conditioning, ui={"text": [f"subject '{word}' at token(s) {positions}"]})


# --- option nodes -----------------------------------------------------------------------------------------------


def _layout_inputs(optional: bool = False) -> list[io.Input]:
    return [
        io.Int.Input("segment_length", default=81, min=5, max=4097, step=4, optional=optional,
                     tooltip="Frames per segment, 4k+1 (PoseGen: 81)."),
        io.Int.Input("head_overlap", default=21, min=1, max=4097, step=4, optional=optional,
                     tooltip="Frames a transition takes from the segment before it, 4a+1 (PoseGen: 21)."),
        io.Int.Input("tail_overlap", default=20, min=4, max=4096, step=4, optional=optional,
                     tooltip="Frames a transition takes from the segment after it, 4b (PoseGen: 20)."),
    ]


class PoseGenSegmentLayout(PoseGenNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="PoseGenSegmentLayout",
            display_name="PoseGen Segment Layout",
            category="PoseGen/long video",
            description="How a long video is cut: base segments of segment_length frames, and over every seam a "
            "transition that keeps head_overlap frames of the segment before and tail_overlap of the one after "
            "and generates the frames in between. For the Segment Sampler and Transition Blend; unconnected "
            "there, PoseGen's 81 / 21 / 20.",
            inputs=_layout_inputs(),
            outputs=[SegmentLayoutType.Output(display_name="layout")],
        )

    @classmethod
    def execute(cls, segment_length: int, head_overlap: int, tail_overlap: int) -> io.NodeOutput:
        return io.NodeOutput(SegmentLayout(segment_length, head_overlap, tail_overlap))


def _kv_inputs(optional: bool = False) -> list[io.Input]:
    return [
        io.Int.Input("anchor_segment", default=0, min=0, max=10_000, optional=optional,
                     tooltip="Which base segment records the shared K/V (pick one with a calm background)."),
        io.Combo.Input("framing", options=list(FRAMING), default="half-body", optional=optional,
                       tooltip="PoseGen's KV-sharing presets by how the reference is framed (steps/blocks "
                       "shared: close-up 1/6, half-body 2/6, full-body 4/8, distant 4/10); custom = kv_steps and "
                       "kv_blocks; off = no sharing."),
        io.Int.Input("kv_steps", default=2, min=0, max=1000, optional=optional,
                     tooltip="framing custom only: the first steps that share."),
        io.Int.Input("kv_blocks", default=6, min=0, max=1000, optional=optional,
                     tooltip="framing custom only: the last blocks that share."),
        io.Combo.Input("mask_mode", options=list(MASK_MODES), default="attention", optional=optional,
                       tooltip="Which tokens keep their own attention: attention = PoseGen's subject-word maps + "
                       "Otsu (needs PoseGen Text Encode); pose = around the driving skeletons (pose_keypoint); "
                       "user = the masks input; none = every video token takes the anchor's."),
    ]


class PoseGenKVSharing(PoseGenNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="PoseGenKVSharing",
            display_name="PoseGen KV Sharing",
            category="PoseGen/long video",
            description="Anchor KV sharing for the Segment Sampler, for a stable background: the anchor segment "
            "records its self-attention K/V, every other base segment attends to them on its background tokens. "
            "Unconnected, the Segment Sampler uses PoseGen's default: anchor 0, half-body, attention masks.",
            inputs=[
                *_kv_inputs(),
                pose_input("pose_keypoint", "mask_mode pose only: the driving poses the pose frames were rendered "
                           "from, one per pose frame.", optional=True),
                io.Mask.Input("masks", optional=True, tooltip="mask_mode user only: subject masks, one per pose "
                              "frame."),
                io.Boolean.Input("lockstep", default=True, optional=True,
                                 tooltip="Run the anchor and the other base segments together through the shared "
                                 "steps, so the K/V of one step are held instead of all of them (the same video; "
                                 "needs a SAMPLER that runs in pieces: euler or Face/Hand Edit Sampler)."),
                io.Combo.Input("kv_storage", options=list(KV_STORAGE), default="model dtype", optional=True,
                               tooltip="How the anchor's K/V are kept: as computed (exact), or fp8_e4m3fn (half of "
                               "bf16, a small change to the shared segments)."),
            ],
            outputs=[KVSharingType.Output(display_name="kv_sharing")],
        )

    @classmethod
    def execute(cls, anchor_segment: int, framing: str, kv_steps: int, kv_blocks: int, mask_mode: str,
                pose_keypoint=None, masks=None, lockstep: bool = True,
                kv_storage: str = "model dtype") -> io.NodeOutput:
        with inputs_named(KV_SHARING_INPUTS):
            steps, blocks = framing_steps_blocks(framing, kv_steps, kv_blocks)
            poses = read_poses(pose_keypoint) if pose_keypoint is not None and mask_mode == "pose" else None
            return io.NodeOutput(KVSharing(anchor_segment=anchor_segment, shared_steps=steps, shared_blocks=blocks,
                                           mask_mode=mask_mode, poses=poses,
                                           masks=masks if mask_mode == "user" else None, lockstep=lockstep,
                                           kv_storage=kv_storage))


class PoseGenPoseCrafterOptions(PoseGenNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="PoseGenPoseCrafterOptions",
            display_name="PoseCrafter Options (long video)",
            category="PoseGen/PoseCrafter",
            description="PoseCrafter's techniques for the Segment Sampler's base segments: start them from "
            "Reference Inversion's noise (the inverted reference) and put the reference's pose before their "
            "poses (reference-pose insertion). The face/hand edit is a SAMPLER: Face/Hand Edit Sampler, into the "
            "Segment Sampler's sampler input.",
            inputs=[
                io.Noise.Input("start_noise", optional=True,
                               tooltip="Start every base segment from this noise (Reference Inversion's: the "
                               "inverted reference) instead of the seed's."),
                io.Sigmas.Input("start_sigmas", optional=True,
                                tooltip="The base segments' schedule; Reference Inversion's noise brings its own "
                                "(leave this unconnected, or give the same)."),
                io.Image.Input("reference_pose_frame", optional=True,
                               tooltip="Reference-pose insertion: the reference's pose, rendered like pose_frames, "
                               "is put before every base segment's poses and its generated frame dropped."),
            ],
            outputs=[PoseCrafterOptionsType.Output(display_name="posecrafter")],
        )

    @classmethod
    def execute(cls, start_noise=None, start_sigmas=None, reference_pose_frame=None) -> io.NodeOutput:
        return io.NodeOutput(PoseCrafterOptions(start_noise=start_noise, start_sigmas=start_sigmas,
                                                reference_pose_frame=reference_pose_frame))


# --- the sampler and the blend ----------------------------------------------------------------------------------


def _shared_inputs(optional: bool = False) -> list[io.Input]:
    return [
        io.Conditioning.Input("positive", optional=optional,
                              tooltip="The prompt (PoseGen Text Encode for the 'attention' masks)."),
        io.Conditioning.Input("negative", optional=optional, tooltip="Wan's default negative prompt, as PoseGen uses."),
        io.Vae.Input("vae", optional=optional, tooltip="The Wan 2.1 VAE."),
        io.ClipVisionOutput.Input("clip_vision_output", optional=optional,
                                  tooltip="PoseGen CLIP Vision Encode of the reference."),
        io.Image.Input("reference_image", optional=optional, tooltip="One image of the subject."),
    ]


def _sampling_inputs(optional: bool = False) -> list[io.Input]:
    return [
        io.Int.Input("width", default=720, min=16, max=comfy_nodes.MAX_RESOLUTION, step=16, optional=optional,
                     tooltip="PoseGen: 720."),
        io.Int.Input("height", default=1280, min=16, max=comfy_nodes.MAX_RESOLUTION, step=16, optional=optional,
                     tooltip="PoseGen: 1280."),
        io.Int.Input("seed", default=42, min=0, max=0xFFFFFFFFFFFFFFFF, control_after_generate=True,
                     optional=optional, tooltip="The same noise starts every segment (PoseGen: 42)."),
        io.Int.Input("steps", default=25, min=1, max=1000, optional=optional, tooltip="PoseGen: 25."),
        io.Float.Input("cfg", default=5.0, min=0.0, max=100.0, step=0.1, optional=optional, tooltip="PoseGen: 5."),
    ]


def _progress(bar: comfy.utils.ProgressBar):
    return lambda done, total, preview: bar.update_absolute(done, total, preview)


def _driving(pose_frames, driving_poses, reference_image) -> tuple:
    """The driving video and its frame rate: the pose frames given (no rate), or the poses drawn per chunk in
    PoseGen's style on the reference's canvas (exactly one of the two)."""
    if (pose_frames is None) == (driving_poses is None):
        raise PoseGenInputError("pose_frames", "both pose_frames and driving_poses are connected." if pose_frames
                                is not None else "neither pose_frames nor driving_poses is connected.",
                                "one of them: rendered pose frames, or the POSE_KEYPOINT to draw")
    if pose_frames is not None:
        return pose_frames, None
    height, width = reference_image.shape[1:3]
    with inputs_named({"render_style": "driving_poses"}):
        poses = read_poses(driving_poses, "driving_poses")
        return RenderedPoses(poses, "posegen", int(width), int(height)), poses.fps


IMAGES_OUTPUT = 0  # the sampler's outputs: images, report, video (the order of older graphs first)


class PoseGenLongVideoSampler(PoseGenNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="PoseGenLongVideoSampler",
            display_name="PoseGen Segment Sampler (long video)",
            category="PoseGen",
            description="A video of any length in one run, as PoseGen makes it: non-overlapping base segments (the "
            "anchor segment records its self-attention K/V, the others share them on background tokens for a "
            "stable background), then a transition over every seam generated by the cond model with the "
            "neighbours' frames as keyframes, then a linear cross-fade; trimmed to the pose frames' length. The "
            "options are nodes of their own (Segment Layout, KV Sharing, PoseCrafter Options, Video Output); "
            "unconnected, PoseGen's defaults. The video is written to the output folder while it is made (VIDEO "
            "output); the IMAGE output holds every frame in memory and is only made when connected. Finished work "
            "is kept in a run folder: queue the same graph again after a stop and it continues. The plan and "
            "memory plan are printed before sampling; one progress bar over all segments and steps.",
            inputs=[
                io.Model.Input("base_model", tooltip="Load PoseGen Model, variant base (720p-81f-base)."),
                io.Model.Input("cond_model", tooltip="Load PoseGen Model, variant cond (720p-81f-cond)."),
                *_shared_inputs(),
                io.Image.Input("pose_frames", optional=True,
                               tooltip="The whole driving pose video, rendered on the reference's canvas (e.g. Render "
                               "Poses, style posegen). Or leave it out and connect driving_poses."),
                io.Sampler.Input("sampler", tooltip=SAMPLER_TOOLTIP),
                *_sampling_inputs(),
                pose_input("driving_poses", "Instead of pose_frames: the driving POSE_KEYPOINT, drawn chunk by chunk "
                           "exactly as Render Poses (style posegen) draws it on the reference's canvas, so no "
                           "frame batch of the whole video is held.", optional=True),
                io.Image.Input("hand_frames", optional=True, tooltip="Hand surface-normal frames, one per pose frame."),
                io.Combo.Input("missing_hands", options=list(MISSING_HANDS), default="black frames", optional=True,
                               tooltip="Without hand_frames: black frames (PoseGen's no-hand input) or skip."),
                SegmentLayoutType.Input("layout", optional=True, tooltip=LAYOUT_TOOLTIP),
                KVSharingType.Input("kv_sharing", optional=True,
                                    tooltip="PoseGen KV Sharing. Unconnected: PoseGen's default, anchor segment 0, "
                                    "half-body (first 2 steps, last 6 blocks), attention masks (needs the prompt "
                                    "from PoseGen Text Encode)."),
                PoseCrafterOptionsType.Input("posecrafter", optional=True,
                                             tooltip="PoseCrafter Options: inverted-reference start, reference-pose "
                                             "insertion. Unconnected: none."),
                VideoOutputType.Input("output", optional=True,
                                      tooltip="PoseGen Video Output. Unconnected: output/posegen/long_video_NNNNN_.mp4,"
                                      " near-lossless, the driving poses' frame rate."),
                DistributedType.Input("distributed", optional=True,
                                      tooltip="PoseGen Distributed: the chunks on several workers (Ray). "
                                      "Unconnected: in this process."),
            ],
            outputs=[io.Image.Output(display_name="images", tooltip="Every frame in memory (short videos): made "
                                     "only when connected."),
                     io.String.Output(display_name="report"),
                     io.Video.Output(display_name="video", tooltip="The video file written while sampling (Save "
                                     "Video, previews and other packs' VIDEO inputs take it).")],
            hidden=[io.Hidden.prompt, io.Hidden.unique_id, io.Hidden.extra_pnginfo],
            is_output_node=True,
        )

    @classmethod
    def execute(cls, base_model, cond_model, positive, negative, vae, clip_vision_output, reference_image,
                sampler, width: int, height: int, seed: int, steps: int, cfg: float, pose_frames=None,
                driving_poses=None, hand_frames=None, missing_hands: str = "black frames",
                layout: SegmentLayout | None = None, kv_sharing: KVSharing | None = None,
                posecrafter: PoseCrafterOptions | None = None, output: VideoOutput | None = None,
                distributed: DistributedOptions | None = None) -> io.NodeOutput:
        settings = LongVideoSettings(
            width=width, height=height, steps=steps, cfg=cfg, seed=seed,
            black_hands_when_missing=MISSING_HANDS.get(missing_hands, True), layout=layout or SegmentLayout(),
            kv_sharing=kv_sharing or KVSharing(), posecrafter=posecrafter or PoseCrafterOptions())
        output = output or VideoOutput()
        driving, driving_fps = _driving(pose_frames, driving_poses, reference_image)
        inputs = LongVideoInputs(positive, negative, vae, clip_vision_output, reference_image, driving, hand_frames)
        path, file, subfolder = video_path(output.filename_prefix, width, height)
        with inputs_named(KV_SHARING_INPUTS):
            result = generate_to_file(
                base_model, cond_model, inputs, settings, sampler, _progress(comfy.utils.ProgressBar(1)),
                video_path=path, runs_root=runs_root(), output=output, driving_fps=driving_fps,
                keep_frames=output_linked(cls.hidden.prompt, cls.hidden.unique_id, IMAGES_OUTPUT),
                metadata=_metadata(cls.hidden.prompt, cls.hidden.extra_pnginfo),
                remote=None if distributed is None else remote_chunks(distributed, cls.hidden.prompt,
                                                                      cls.hidden.unique_id))
        video = InputImpl.VideoFromFile(str(result.path))
        preview = ui.PreviewVideo([ui.SavedResult(file, subfolder, io.FolderType.output)]).as_dict()
        return io.NodeOutput(result.frames, result.report, video, ui={**preview, "text": [result.report]})


def _metadata(prompt, extra_pnginfo) -> dict[str, str]:
    """The workflow in the file's metadata, as Save Video stores it (unless ComfyUI runs with metadata off)."""
    from comfy.cli_args import args

    if args.disable_metadata:
        return {}
    metadata = {key: json.dumps(value) for key, value in (extra_pnginfo or {}).items()}
    if prompt is not None:
        metadata["prompt"] = json.dumps(prompt)
    return metadata


class PoseGenLongVideoTransitionBlend(PoseGenNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="PoseGenLongVideoTransitionBlend",
            display_name="PoseGen Transition Blend",
            category="PoseGen",
            description="Joins two frame batches the way PoseGen joins segments: the cond model regenerates the seam "
            "with the last head_overlap frames of the first batch and the first tail_overlap frames of the second "
            "as keyframes and the window's poses in between, then everything is cross-faded linearly. The layout "
            "comes from PoseGen Segment Layout (unconnected: 81 / 21 / 20).",
            inputs=[
                io.Model.Input("cond_model", tooltip="Load PoseGen Model, variant cond."),
                *_shared_inputs(),
                io.Image.Input("frames_before", tooltip="The earlier frames (at least head_overlap)."),
                io.Image.Input("frames_after", tooltip="The later frames (at least tail_overlap)."),
                io.Image.Input("pose_frames", tooltip="Poses of the transition window: segment_length frames whose "
                               "first head_overlap match frames_before's end and last tail_overlap frames_after's "
                               "start."),
                io.Sampler.Input("sampler", tooltip="KSamplerSelect euler is PoseGen's sampler."),
                *_sampling_inputs(),
                io.Image.Input("hand_frames", optional=True, tooltip="Hand normals of the window."),
                SegmentLayoutType.Input("layout", optional=True, tooltip=LAYOUT_TOOLTIP),
            ],
            outputs=[io.Image.Output(display_name="images")],
        )

    @classmethod
    def execute(cls, cond_model, positive, negative, vae, clip_vision_output, reference_image, frames_before,
                frames_after, pose_frames, sampler, width: int, height: int, seed: int, steps: int, cfg: float,
                hand_frames=None, layout: SegmentLayout | None = None) -> io.NodeOutput:
        settings = LongVideoSettings(width=width, height=height, steps=steps, cfg=cfg, seed=seed,
                                     layout=layout or SegmentLayout())
        inputs = LongVideoInputs(positive, negative, vae, clip_vision_output, reference_image, pose_frames,
                                 hand_frames)
        frames = transition_between(cond_model, inputs, settings, frames_before, frames_after, sampler,
                                    progress=_progress(comfy.utils.ProgressBar(steps)))
        return io.NodeOutput(frames)


# --- the nodes they replace -------------------------------------------------------------------------------------

SAMPLER_MOVES = (
    (("segment_length", "head_overlap", "tail_overlap"), "PoseGen Segment Layout, into 'layout'"),
    (("anchor_segment", "framing", "kv_steps", "kv_blocks", "mask_mode", "masks", "pose_keypoint"),
     "PoseGen KV Sharing, into 'kv_sharing' (pose_keypoint only for mask_mode pose)"),
    (("start_noise", "start_sigmas", "reference_pose_frame"), "PoseCrafter Options (long video), into 'posecrafter'"),
    (("face_hand_edit",), "Face/Hand Edit Sampler with the driving poses as target_poses, into 'sampler'"),
)
BLEND_MOVES = (SAMPLER_MOVES[0],)


def replaced_message(old_id: str, new_id: str, new_name: str, moves, given: dict) -> PoseGenInputError:
    """The error of a replaced node: which new node takes which old input. It names the first moved input the old
    graph set (ComfyUI shows the message on the old node)."""
    moved = [name for names, _ in moves for name in names]
    first = next((name for name in moved if given.get(name) is not None), moved[0])
    where = "; ".join(f"{', '.join(names)} -> {node}" for names, node in moves)
    return PoseGenInputError(
        first, f"{old_id} was replaced by {new_id} ({new_name}), whose options are nodes of their own: {where}; "
        "the Euler it always used -> KSamplerSelect euler, into 'sampler'. Its other inputs keep their names.",
        f"{new_id} wired with those nodes (docs/long-video.md)")


def _all_optional(inputs: list[io.Input]) -> list[io.Input]:
    """The old inputs, all optional and lazy: an old graph still loads and validates, and nothing it links to is
    computed before the node says what replaced it."""
    for item in inputs:
        item.optional, item.lazy = True, True
    return inputs


class PoseGenSegmentSampler(PoseGenNode):
    """Replaced by PoseGenLongVideoSampler and its option nodes; kept so old graphs say what to do."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="PoseGenSegmentSampler",
            display_name="PoseGen Segment Sampler (replaced)",
            category="PoseGen",
            is_deprecated=True,
            description="The old Segment Sampler with 29 inputs. Replaced by PoseGen Segment Sampler (long video) "
            "with PoseGen Segment Layout, PoseGen KV Sharing, PoseCrafter Options and a SAMPLER; running this node "
            "says which new node takes which input.",
            inputs=_all_optional([
                io.Model.Input("base_model", tooltip="Now on PoseGen Segment Sampler (long video)."),
                io.Model.Input("cond_model", tooltip="Now on PoseGen Segment Sampler (long video)."),
                *_shared_inputs(),
                io.Image.Input("pose_frames", tooltip="Now on PoseGen Segment Sampler (long video)."),
                *_sampling_inputs(),
                *_layout_inputs(),
                *_kv_inputs(),
                io.Image.Input("hand_frames", tooltip="Now on PoseGen Segment Sampler (long video)."),
                pose_input("pose_keypoint", "Now on PoseGen KV Sharing (mask_mode pose) and Face/Hand Edit Sampler "
                           "(target_poses)."),
                io.Mask.Input("masks", tooltip="Now on PoseGen KV Sharing (mask_mode user)."),
                io.Combo.Input("missing_hands", options=list(MISSING_HANDS), default="black frames",
                               tooltip="Now on PoseGen Segment Sampler (long video)."),
                io.Noise.Input("start_noise", tooltip="Now on PoseCrafter Options (long video)."),
                io.Sigmas.Input("start_sigmas", tooltip="Now on PoseCrafter Options (long video)."),
                io.Image.Input("reference_pose_frame", tooltip="Now on PoseCrafter Options (long video)."),
                FaceHandEditType.Input("face_hand_edit", tooltip="Now on Face/Hand Edit Sampler, whose SAMPLER goes "
                                       "into the new sampler's sampler input."),
            ]),
            outputs=[io.Image.Output(display_name="images"), io.String.Output(display_name="report")],
        )

    @classmethod
    def execute(cls, **given) -> io.NodeOutput:
        raise replaced_message("PoseGenSegmentSampler", "PoseGenLongVideoSampler",
                               "PoseGen Segment Sampler (long video)", SAMPLER_MOVES, given)


class PoseGenTransitionBlend(PoseGenNode):
    """Replaced by PoseGenLongVideoTransitionBlend with PoseGen Segment Layout; kept so old graphs say what to do."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="PoseGenTransitionBlend",
            display_name="PoseGen Transition Blend (replaced)",
            category="PoseGen",
            is_deprecated=True,
            description="The old Transition Blend. Replaced by PoseGen Transition Blend with PoseGen Segment Layout "
            "and a SAMPLER; running this node says which new node takes which input.",
            inputs=_all_optional([
                io.Model.Input("cond_model", tooltip="Now on PoseGen Transition Blend."),
                *_shared_inputs(),
                io.Image.Input("frames_before", tooltip="Now on PoseGen Transition Blend."),
                io.Image.Input("frames_after", tooltip="Now on PoseGen Transition Blend."),
                io.Image.Input("pose_frames", tooltip="Now on PoseGen Transition Blend."),
                *_sampling_inputs(),
                *_layout_inputs(),
                io.Image.Input("hand_frames", tooltip="Now on PoseGen Transition Blend."),
            ]),
            outputs=[io.Image.Output(display_name="images")],
        )

    @classmethod
    def execute(cls, **given) -> io.NodeOutput:
        raise replaced_message("PoseGenTransitionBlend", "PoseGenLongVideoTransitionBlend",
                               "PoseGen Transition Blend", BLEND_MOVES, given)


NODES: list[type[io.ComfyNode]] = [
    PoseGenTextEncode,
    PoseGenSegmentLayout,
    PoseGenKVSharing,
    PoseGenPoseCrafterOptions,
    PoseGenLongVideoSampler,
    PoseGenLongVideoTransitionBlend,
    PoseGenSegmentSampler,
    PoseGenTransitionBlend,
]
