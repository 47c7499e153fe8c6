"""What a long-video run checks before it samples anything: the models' variants, that the frames fit together
and fit the options, and the subject word the attention masks need. Every error names the input to fix."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import PoseGenInputError
from ..posegen.comfy_model import posegen_info
from ..posegen.conditioning import check_image
from .frame_sources import frame_source
from .options import LongVideoSettings
from .subject import SUBJECT_TOKENS_KEY

if TYPE_CHECKING:
    from .run import LongVideoInputs


def check_model_variant(model, name: str, variant: str) -> None:
    info = posegen_info(model, name)
    if info.variant != variant:
        raise PoseGenInputError(name, f"this is the '{info.variant}' PoseGen model.",
                                f"the '{variant}' model (720p-81f-{variant})")


def check_frames(inputs: LongVideoInputs) -> None:
    """Reference, pose and hand frames fit together (sizes, counts)."""
    reference = check_image(inputs.reference_image, "reference_image")
    if reference.shape[0] != 1:
        raise PoseGenInputError("reference_image", f"a batch of {reference.shape[0]} images.", "one image")
    poses = frame_source(inputs.pose_frames, "pose_frames")
    for name, source in (("pose_frames", poses), ("hand_frames", frame_source(inputs.hand_frames, "hand_frames"))):
        if source is None:
            continue
        (width, height), (ref_h, ref_w) = source.size, reference.shape[1:3]
        if (height, width) != (ref_h, ref_w):
            raise PoseGenInputError(name, f"frames are {width}x{height} px but reference_image is {ref_w}x{ref_h} px.",
                                    "frames drawn on the reference's canvas")
        if source.num_frames != poses.num_frames:
            raise PoseGenInputError(name, f"{source.num_frames} frames but pose_frames has {poses.num_frames}.",
                                    "one hand frame per pose frame")


def check_options(inputs: LongVideoInputs, settings: LongVideoSettings) -> None:
    """The options' frames fit the pose frames: the inserted reference pose, and the poses or masks the KV
    sharing's mask mode reads (one per pose frame)."""
    poses = frame_source(inputs.pose_frames, "pose_frames")
    count, (width, height) = poses.num_frames, poses.size
    frame = settings.posecrafter.reference_pose_frame
    if frame is not None and tuple(frame.shape[1:3]) != (height, width):
        raise PoseGenInputError("reference_pose_frame", f"{frame.shape[2]}x{frame.shape[1]} px but pose_frames are "
                                f"{width}x{height}.", "the same canvas as the pose frames")
    kv = settings.kv_sharing
    if not kv.enabled:
        return
    if kv.mask_mode == "pose" and kv.poses.num_frames < count:
        raise PoseGenInputError("poses", f"{kv.poses.num_frames} poses for {count} pose frames.",
                                "the POSE_KEYPOINT the pose frames were rendered from, one pose per frame")
    if kv.mask_mode == "user" and kv.masks.shape[0] < count:
        raise PoseGenInputError("masks", f"got {tuple(kv.masks.shape)} for {count} pose frames.",
                                "a MASK batch with one mask per pose frame")


def subject_tokens(positive: list) -> tuple[int, ...]:
    """Where PoseGen Text Encode found the subject word in the prompt's tokens (empty: not encoded by it)."""
    for _, entry in positive:
        if entry.get(SUBJECT_TOKENS_KEY):
            return tuple(int(i) for i in entry[SUBJECT_TOKENS_KEY])
    return ()


def check_subject_word(settings: LongVideoSettings, positive: list) -> tuple[int, ...]:
    """The subject word's token positions, which attention masks need (empty for the other mask modes)."""
    kv = settings.kv_sharing
    if not kv.enabled or kv.mask_mode != "attention":
        return ()
    tokens = subject_tokens(positive)
    if not tokens:
        raise PoseGenInputError(
            "positive", "it carries no subject-word token positions, which the 'attention' foreground masks need "
            "(PoseGen's default KV sharing).", "the prompt encoded with PoseGen Text Encode and naming woman, girl, "
            "man or boy (or PoseGen KV Sharing with mask_mode pose, user or none)")
    return tokens
