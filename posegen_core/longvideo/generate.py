"""A whole PoseGen video in one run (spec §4): base segments (the anchor records its K/V, the others share them),
transitions with the cond model over each seam, then the cross-fade merge — in memory, through ComfyUI's own
sampling, VAE and model management.

Memory stays bounded by one segment plus the anchor's K/V: per segment only its own frames are preprocessed and
encoded; decoded frames are the output itself. Nothing is written to disk.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from ..errors import PoseGenInputError
from ..posecrafter.face_hand import FaceHandEdit
from ..posecrafter.start_noise import InvertedNoise, check_schedule
from ..posegen.attention_hooks import KVSHARE_KEY
from ..posegen.comfy_model import posegen_info
from ..posegen.conditioning import (
    MASK_CHANNELS,
    check_image,
    check_segment_shape,
    encode_video,
    latent_frames,
    posegen_conditioning_values,
    poses_on_canvas,
    preprocess_frames,
)
from ..poses.sequence import PoseSequence
from ..wan.schedule import flow_match_sigmas
from .kvshare import AnchorRecord, KVShareContext, KVShareSettings, kv_bytes
from .masks import pose_token_masks, user_token_masks
from .merge import StreamingMerge, blend_pair
from .plan import (
    Chunk,
    SegmentPlan,
    TransitionKeyframes,
    base_pose_indices,
    plan_segments,
    transition_mask_channels,
    transition_pose_indices,
)
from .subject import SUBJECT_TOKENS_KEY

log = logging.getLogger("posegen")

# Progress reporting: (steps done, total steps, preview or None); ComfyUI's hook also checks for an interrupt.
Progress = Callable[[int, int, Any], None]


@dataclass(frozen=True)
class LongVideoSettings:
    width: int
    height: int
    segment_length: int = 81
    head_overlap: int = 21
    tail_overlap: int = 20
    anchor: int = 0  # which base segment records the K/V
    steps: int = 25
    cfg: float = 5.0
    shift: float = 5.0
    seed: int = 42  # PoseGen starts every segment from the same noise
    kv_steps: int = 2  # the first N sampler steps share (PoseGen: half-body 2)
    kv_blocks: int = 6  # the last N blocks share (PoseGen: 6 of 40)
    mask_mode: str = "attention"
    max_block_idx: int = 10
    black_hands_when_missing: bool = True
    # PoseCrafter: the reference pose as an extra first frame of every base segment, dropped afterwards
    insert_reference_pose: bool = False


@dataclass(frozen=True)
class BaseStart:
    """How base segments start instead of the seed's noise: a ComfyUI NOISE (ReferenceInversion's inverted
    reference, or any other) sampled over ``sigmas`` from an empty latent."""

    noise: Any  # ComfyUI's NOISE protocol: generate_noise({"samples": latent}) -> noise of that shape
    sigmas: torch.Tensor  # descending, ending at 0


def base_start(noise: Any, sigmas: torch.Tensor | None, settings: LongVideoSettings) -> BaseStart | None:
    """The base segments' start from optional NOISE / SIGMAS inputs: none given = the seed's noise over the
    settings' schedule; an inverted reference brings its own schedule (a different one given is an error)."""
    if noise is None and sigmas is None:
        return None
    sigmas = check_schedule(noise, sigmas)
    if sigmas is None:
        sigmas = flow_match_sigmas(settings.steps, settings.shift)
    sigmas = sigmas.float().cpu()
    if sigmas.dim() != 1 or len(sigmas) < 2 or float(sigmas[-1]) != 0.0:
        raise PoseGenInputError("start_sigmas", f"{sigmas.tolist()}.", "a schedule ending at 0 (PoseGen Scheduler)")
    if noise is None:
        noise = SeedNoise(settings.seed)
    return BaseStart(noise, sigmas)


@dataclass(frozen=True)
class SeedNoise:
    """ComfyUI's NOISE protocol with the seed's noise (what ChunkSampler uses without a start)."""

    seed: int

    def generate_noise(self, input_latent: dict[str, Any]) -> torch.Tensor:
        import comfy.sample

        return comfy.sample.prepare_noise(input_latent["samples"], self.seed)


@dataclass
class LongVideoInputs:
    positive: list
    negative: list
    vae: Any
    clip_vision_output: Any
    reference_image: torch.Tensor
    pose_frames: torch.Tensor  # the whole driving video, rendered poses [L, H, W, C]
    hand_frames: torch.Tensor | None = None
    poses: PoseSequence | None = None  # for mask_mode "pose" and the face/hand edit
    masks: torch.Tensor | None = None  # for mask_mode "user": [L, H, W]
    reference_pose_frame: torch.Tensor | None = None  # the reference pose rendered like pose_frames [1, H, W, C]
    base_start: BaseStart | None = None  # PoseCrafter: start base segments from the inverted reference
    face_hand_edit: FaceHandEdit | None = None  # PoseCrafter's face/hand latent edit, planned per base segment


@dataclass
class LongVideoResult:
    frames: torch.Tensor  # [L, H, W, 3]
    plan: SegmentPlan
    report: str


def _with_values(conditioning: list, values: dict[str, Any]) -> list:
    """ComfyUI's conditioning with extra entries (what node_helpers.conditioning_set_values does)."""
    return [[c[0], {**c[1], **values}] for c in conditioning]


def subject_tokens(positive: list) -> tuple[int, ...]:
    for _, entry in positive:
        if entry.get(SUBJECT_TOKENS_KEY):
            return tuple(int(i) for i in entry[SUBJECT_TOKENS_KEY])
    return ()


def _plan_errors(step: Callable[[], SegmentPlan]) -> SegmentPlan:
    try:
        return step()
    except ValueError as exc:
        name, _, problem = str(exc).partition(": ")
        raise PoseGenInputError(name, problem or str(exc)) from None


def check_model_variant(model, name: str, variant: str) -> None:
    info = posegen_info(model, name)
    if info.variant != variant:
        raise PoseGenInputError(name, f"this is the '{info.variant}' PoseGen model.",
                                f"the '{variant}' model (720p-81f-{variant})")


class ChunkSampler:
    """What every chunk shares (reference latent, CLIP, prompts, noise, schedule) and how one chunk is encoded,
    sampled through ComfyUI and decoded; reports progress over ``total_steps`` sampler steps."""

    def __init__(self, inputs: LongVideoInputs, settings: LongVideoSettings, total_steps: int,
                 progress: Progress | None) -> None:
        self.inputs, self.settings = inputs, settings
        self.shape = check_segment_shape(settings.segment_length, settings.width, settings.height)
        self.sigmas = flow_match_sigmas(settings.steps, settings.shift)
        self.total_steps, self.done_steps = total_steps, 0
        self.progress = progress
        self.ref_latent = encode_video(inputs.vae, preprocess_frames(inputs.reference_image, settings.width,
                                                                      settings.height), self.shape, "reference_image")

    def encode(self, frames: torch.Tensor, name: str) -> torch.Tensor:
        s = self.settings
        return encode_video(self.inputs.vae, preprocess_frames(frames, s.width, s.height), self.shape, name)

    def hands(self, indices: np.ndarray) -> torch.Tensor | None:
        if self.inputs.hand_frames is not None:
            return self.inputs.hand_frames[indices]
        if self.settings.black_hands_when_missing:
            return torch.zeros_like(self.inputs.pose_frames[indices])
        return None

    def sample(self, model, pose_latent: torch.Tensor, hand_latent: torch.Tensor | None, given: torch.Tensor,
               kvshare: KVShareContext | None, label: str, start: BaseStart | None = None,
               sampler=None) -> torch.Tensor:
        """One chunk through ComfyUI's sampling from an empty latent: with the seed's noise over the settings'
        schedule, or with ``start``'s noise and schedule; ``sampler`` defaults to ComfyUI's Euler."""
        import comfy.sample
        import comfy.samplers

        values = posegen_conditioning_values(pose_latent, given, self.ref_latent, hand_latent,
                                             self.inputs.clip_vision_output)
        if kvshare is not None:
            model = model.clone()
            model.model_options["transformer_options"][KVSHARE_KEY] = kvshare
        latent = torch.zeros(self.shape.latent_shape[:2] + pose_latent.shape[2:3] + self.shape.latent_shape[3:])
        if start is None:
            sigmas, noise = self.sigmas, comfy.sample.prepare_noise(latent, self.settings.seed)
        else:
            sigmas, noise = start.sigmas, start.noise.generate_noise({"samples": latent})
        offset = self.done_steps
        samples = comfy.sample.sample_custom(
            model, noise, self.settings.cfg, sampler or comfy.samplers.ksampler("euler"), sigmas,
            _with_values(self.inputs.positive, values), _with_values(self.inputs.negative, values), latent,
            callback=self._callback(model, offset), disable_pbar=True, seed=self.settings.seed)
        self.done_steps = offset + len(sigmas) - 1
        log.info("PoseGen: %s sampled", label)
        return samples

    def _callback(self, model, offset: int):
        import latent_preview

        previewer = latent_preview.get_previewer(model.load_device, model.model.latent_format)

        def callback(step: int, x0: torch.Tensor, x: torch.Tensor, total: int) -> None:
            if self.progress is not None:
                preview = previewer.decode_latent_to_preview_image("JPEG", x0) if previewer else None
                self.progress(offset + step + 1, self.total_steps, preview)
        return callback

    def decode(self, samples: torch.Tensor) -> torch.Tensor:
        frames = self.inputs.vae.decode(samples)
        return frames.reshape(-1, *frames.shape[-3:]).float().cpu()

    def transition(self, cond_model, plan: SegmentPlan, keyframes: TransitionKeyframes, pose_indices: np.ndarray,
                   label: str) -> torch.Tensor:
        """Regenerate a seam with the cond model (§3.8): the neighbours' frames are given (written over the pose
        and hand clips, mask 1), the middle follows the poses."""
        s = self.settings
        poses = keyframes.apply(preprocess_frames(self.inputs.pose_frames[pose_indices], s.width, s.height).float())
        hands = self.hands(pose_indices)
        hand_latent = None
        if hands is not None:
            hand_clip = keyframes.apply(preprocess_frames(hands, s.width, s.height).float())
            hand_latent = encode_video(self.inputs.vae, hand_clip, self.shape, "hand_frames")
        pose_latent = encode_video(self.inputs.vae, poses, self.shape, "pose_frames")
        return self.decode(self.sample(cond_model, pose_latent, hand_latent, transition_mask_channels(plan), None,
                                       label))


def check_frames(inputs: LongVideoInputs) -> None:
    """Reference, pose, hand frames and masks fit together (sizes, counts)."""
    reference = check_image(inputs.reference_image, "reference_image")
    if reference.shape[0] != 1:
        raise PoseGenInputError("reference_image", f"a batch of {reference.shape[0]} images.", "one image")
    frames = check_image(inputs.pose_frames, "pose_frames")
    for name, other in (("pose_frames", frames), ("hand_frames", inputs.hand_frames)):
        if other is None:
            continue
        other = check_image(other, name)
        if tuple(other.shape[1:3]) != tuple(reference.shape[1:3]):
            raise PoseGenInputError(name, f"frames are {other.shape[2]}x{other.shape[1]} px but reference_image is "
                                    f"{reference.shape[2]}x{reference.shape[1]} px.",
                                    "frames drawn on the reference's canvas")
        if other.shape[0] != frames.shape[0]:
            raise PoseGenInputError(name, f"{other.shape[0]} frames but pose_frames has {frames.shape[0]}.",
                                    "one hand frame per pose frame")
    if inputs.masks is not None and (inputs.masks.dim() != 3 or inputs.masks.shape[0] < frames.shape[0]):
        raise PoseGenInputError("masks", f"got {tuple(inputs.masks.shape)} for {frames.shape[0]} pose frames.",
                                "a MASK batch with one mask per pose frame")


def release_memory() -> None:
    """Between segments: free what the last one held, in ComfyUI's allocator caches and in the C heap (glibc keeps
    freed pages otherwise, so RSS would creep up segment after segment)."""
    import ctypes
    import gc

    import comfy.model_management

    gc.collect()
    comfy.model_management.soft_empty_cache()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, Windows, musl): nothing to trim
        pass


class _Runner:
    """One long-video run: the plan, the anchor's K/V, and the order of chunks."""

    def __init__(self, base_model, cond_model, inputs: LongVideoInputs, settings: LongVideoSettings,
                 progress: Progress | None) -> None:
        check_model_variant(base_model, "base_model", "base")
        check_model_variant(cond_model, "cond_model", "cond")
        check_frames(inputs)
        self.base_model, self.cond_model = base_model, cond_model
        self.inputs, self.settings = inputs, settings
        self.plan = _plan_errors(lambda: plan_segments(inputs.pose_frames.shape[0], settings.segment_length,
                                                       settings.head_overlap, settings.tail_overlap,
                                                       anchor=settings.anchor))
        self._check_posecrafter()
        self.kv_settings = self._kv_settings()
        base_steps = settings.steps if inputs.base_start is None else len(inputs.base_start.sigmas) - 1
        total = len(self.plan.base_chunks) * base_steps + len(self.plan.transition_chunks) * settings.steps
        self.chunks = ChunkSampler(inputs, settings, total, progress)
        edit = inputs.face_hand_edit
        self.face_hand_edit = (replace(edit, reference=poses_on_canvas(edit.reference, settings.width,
                                                                             settings.height))
                               if edit is not None else None)
        self.edit_reports: list[str] = []
        self.poses = (poses_on_canvas(inputs.poses, settings.width, settings.height)
                      if inputs.poses is not None else None)
        self.masks = (preprocess_frames(inputs.masks[..., None], settings.width, settings.height)[..., 0]
                      if inputs.masks is not None else None)

    def _check_posecrafter(self) -> None:
        s, inputs = self.settings, self.inputs
        if s.insert_reference_pose:
            frame = inputs.reference_pose_frame
            if frame is None or frame.dim() != 4 or frame.shape[0] < 1:
                raise PoseGenInputError("reference_pose_frame", "reference-pose insertion needs the rendered "
                                        "reference pose.", "one pose frame, drawn like pose_frames")
            if tuple(frame.shape[1:3]) != tuple(inputs.pose_frames.shape[1:3]):
                raise PoseGenInputError("reference_pose_frame", f"{frame.shape[2]}x{frame.shape[1]} px but "
                                        f"pose_frames are {inputs.pose_frames.shape[2]}x{inputs.pose_frames.shape[1]}.",
                                        "the same canvas as the pose frames")
        edit = inputs.face_hand_edit
        if edit is None:
            return
        if inputs.poses is None:
            raise PoseGenInputError("pose_keypoint", "the face/hand edit needs the driving poses.",
                                    "the POSE_KEYPOINT the pose frames were rendered from")
        steps = s.steps if inputs.base_start is None else len(inputs.base_start.sigmas) - 1
        if edit.at_step >= steps:
            raise PoseGenInputError("face_hand_edit", f"edits at step {edit.at_step} of a {steps}-step schedule.",
                                    f"a step from 0 to {steps - 1}")
        inverted = inputs.base_start is not None and isinstance(inputs.base_start.noise, InvertedNoise)
        if not inverted and not (s.insert_reference_pose and edit.at_step > 0):
            raise PoseGenInputError("face_hand_edit", "there is no reference in the latent to move: without the "
                                    "inverted reference every frame starts as random noise.",
                                    "Reference Inversion's noise on start_noise, or reference-pose insertion and "
                                    "an edit at a later step (at_step > 0), when the inserted frame shows the "
                                    "reference")

    def _kv_settings(self) -> KVShareSettings | None:
        s = self.settings
        if s.kv_steps <= 0 or s.kv_blocks <= 0:
            return None
        layers = posegen_info(self.base_model).config.num_layers
        blocks = frozenset(range(max(0, layers - s.kv_blocks), layers))
        tokens: tuple[int, ...] = ()
        if s.mask_mode == "attention":
            tokens = subject_tokens(self.inputs.positive)
            if not tokens:
                raise PoseGenInputError(
                    "positive", "it carries no subject-word token positions, which the 'attention' foreground masks "
                    "need.", "the prompt encoded with PoseGen Text Encode and naming woman, girl, man or boy (or "
                    "mask_mode pose/none)")
        if s.mask_mode == "pose" and self.inputs.poses is None:
            raise PoseGenInputError("pose_keypoint", "mask_mode 'pose' needs the driving poses.",
                                    "the POSE_KEYPOINT the pose frames were rendered from")
        if s.mask_mode == "user" and self.inputs.masks is None:
            raise PoseGenInputError("masks", "mask_mode 'user' needs a MASK batch.", "one mask per driving frame")
        try:
            return KVShareSettings(steps=frozenset(range(min(s.kv_steps, s.steps))), blocks=blocks,
                                   mask_mode=s.mask_mode, max_block_idx=min(s.max_block_idx, layers - 1),
                                   token_indices=tokens)
        except ValueError as exc:
            name, _, problem = str(exc).partition(": ")
            raise PoseGenInputError(name, problem) from None

    def _base_clip(self, chunk: Chunk) -> tuple[torch.Tensor, torch.Tensor | None, np.ndarray]:
        """A base segment's pose and hand frames and their driving-frame indices. With reference-pose insertion
        the clip is 4 frames longer (it stays 4k+1): the reference pose, then S+3 driving frames; index -1 marks
        the inserted frame."""
        if not self.settings.insert_reference_pose:
            indices = base_pose_indices(self.plan, chunk)
            return self.inputs.pose_frames[indices], self.chunks.hands(indices), indices
        driving = base_pose_indices(self.plan, chunk, extra=3)
        poses = torch.cat([self.inputs.reference_pose_frame[:1].to(self.inputs.pose_frames),
                           self.inputs.pose_frames[driving]])
        hands = self.chunks.hands(driving)
        if hands is not None:
            hands = torch.cat([torch.zeros_like(hands[:1]), hands])  # no hand normals for the reference pose
        return poses, hands, np.concatenate([[-1], driving])

    def _edit_sampler(self, indices: np.ndarray, latent_shape: tuple[int, ...]):
        """ComfyUI's Euler with PoseCrafter's face/hand edit before its step, or None (plain Euler)."""
        edit = self.face_hand_edit
        if edit is None:
            return None
        from ..posecrafter.edit_sampler import editing_euler

        frames = self.poses.keypoints[np.maximum(indices, 0)]
        if self.settings.insert_reference_pose:  # the inserted frame shows the reference pose itself
            frames[0] = 0
            ref = edit.reference.keypoints[0]
            people = min(ref.shape[0], frames.shape[1])
            frames[0, :people] = ref[:people]
        plan = edit.plan_for(self.poses.with_keypoints(frames, inserted=()), tuple(latent_shape[2:]))
        self.edit_reports.append(plan.summary())
        return editing_euler(edit.editor(plan), edit.at_step)

    def _static_masks(self, chunk: Chunk) -> dict[str, torch.Tensor] | None:
        mode = self.kv_settings.mask_mode if self.kv_settings else "none"
        if mode not in ("pose", "user"):
            return None
        anchor = self.plan.chunks[self.plan.anchor]
        extra = 4 if self.settings.insert_reference_pose else 0
        grid = (latent_frames(self.settings.segment_length + extra), self.settings.height // 16,
                self.settings.width // 16)

        def tokens(c: Chunk) -> torch.Tensor:
            # with insertion the reference frame's tokens are judged by the first driving frame's pose
            indices = base_pose_indices(self.plan, c, extra=extra - 1) if extra else base_pose_indices(self.plan, c)
            if extra:
                indices = np.concatenate([indices[:1], indices])
            if mode == "pose":
                return pose_token_masks(self.poses, indices, grid, (self.settings.width, self.settings.height))
            return user_token_masks(self.masks, indices, grid)

        return {"curr": tokens(chunk), "prev": tokens(anchor)}

    # --- the run -------------------------------------------------------------------------------------------------

    def run(self) -> LongVideoResult:
        import comfy.model_management

        started = time.monotonic()
        merged = StreamingMerge(self.plan)  # the video itself: no decoded chunk is kept beside it
        record = self._anchor_record()
        log.info("PoseGen long video plan:\n%s\n%s", self.plan.describe(), self._kv_note(record))
        try:
            for chunk in [c for c in self.plan.run_order if c.kind == "base"]:
                comfy.model_management.throw_exception_if_processing_interrupted()
                release_memory()
                poses, hands, indices = self._base_clip(chunk)
                kvshare = None
                if self.kv_settings is not None:
                    mode = "record" if chunk.index == self.plan.anchor else "share"
                    kvshare = KVShareContext(self.kv_settings, mode, record, static_masks=self._static_masks(chunk))
                pose_latent = self.chunks.encode(poses, "pose_frames")
                samples = self.chunks.sample(
                    self.base_model, pose_latent, None if hands is None else self.chunks.encode(hands, "hand_frames"),
                    torch.zeros(MASK_CHANNELS, pose_latent.shape[2]), kvshare, f"base chunk {chunk.index}",
                    start=self.inputs.base_start, sampler=self._edit_sampler(indices, pose_latent.shape))
                frames = self.chunks.decode(samples)
                if self.settings.insert_reference_pose:  # drop the frame generated for the reference pose
                    frames = frames[1:1 + self.settings.segment_length]
                merged.add_base(chunk, frames)
            kv_note = self._kv_note(record)
            record.clear()  # the transitions do not share
            for chunk in self.plan.transition_chunks:
                comfy.model_management.throw_exception_if_processing_interrupted()
                release_memory()
                frames = self.chunks.transition(self.cond_model, self.plan, merged.keyframes(chunk),
                                                transition_pose_indices(self.plan, chunk),
                                                f"transition chunk {chunk.index}")
                merged.add_transition(chunk, frames)
            frames = merged.result()
        finally:
            record.clear()  # an interrupt or error frees the anchor's K/V at once
            release_memory()
        edits = "".join(f"\nface/hand edit, base segment {i}: {r}" for i, r in enumerate(self.edit_reports))
        report = (f"{self.plan.describe()}\n{kv_note}{edits}\n{frames.shape[0]} frames of {self.settings.width}x"
                  f"{self.settings.height} in {time.monotonic() - started:.1f} s")
        return LongVideoResult(frames, self.plan, report)

    def _anchor_record(self) -> AnchorRecord:
        """Where the anchor's K/V live: on the compute device when they fit beside the model, else in CPU RAM."""
        import comfy.model_management

        device = self.base_model.load_device
        self._kv_need = 0
        if self.kv_settings is None:
            return AnchorRecord(storage=torch.device("cpu"))
        config = posegen_info(self.base_model).config
        t, h, w = self.chunks.shape.latent_shape[2:]
        t += 1 if self.settings.insert_reference_pose else 0  # the inserted frame adds a latent frame
        tokens = t * (h // 2) * (w // 2) + (h // 2) * (w // 2)
        need = kv_bytes(tokens, config.dim, self.base_model.model.get_dtype(), len(self.kv_settings.steps),
                        len(self.kv_settings.blocks))
        fits = device.type != "cpu" and comfy.model_management.get_free_memory(device) > 2 * need
        self._kv_need = need
        return AnchorRecord(storage=device if fits else torch.device("cpu"))

    def _kv_note(self, record: AnchorRecord) -> str:
        if self.kv_settings is None:
            return "KV sharing: off"
        held = f", {record.nbytes / 2**20:.1f} MiB held" if record.kv else ""
        return (f"KV sharing: steps {sorted(self.kv_settings.steps)}, blocks {sorted(self.kv_settings.blocks)}, masks "
                f"'{self.kv_settings.mask_mode}'; anchor K/V {self._kv_need / 2**20:.1f} MiB planned on "
                f"{record.storage}{held}")


@torch.inference_mode()  # as inside ComfyUI's executor; outside it, autograd would keep every segment's graph
def generate_long_video(base_model, cond_model, inputs: LongVideoInputs, settings: LongVideoSettings,
                        progress: Progress | None = None) -> LongVideoResult:
    """The whole video (IMAGE frames, exactly the driving length) and a report of the plan and memory."""
    return _Runner(base_model, cond_model, inputs, settings, progress).run()


@torch.inference_mode()
def transition_between(cond_model, inputs: LongVideoInputs, settings: LongVideoSettings, before: torch.Tensor,
                       after: torch.Tensor, progress: Progress | None = None) -> torch.Tensor:
    """TransitionBlend: regenerate the seam between two frame batches with the cond model and cross-fade all three.

    ``inputs.pose_frames`` are the poses of the transition window (``segment_length`` frames): its first
    ``head_overlap`` frames are ``before``'s last ones, its last ``tail_overlap`` frames ``after``'s first ones.
    Returns ``before`` + transition + ``after`` with the linear cross-fades of §4.4.
    """
    check_model_variant(cond_model, "cond_model", "cond")
    check_frames(inputs)
    s = settings
    if inputs.pose_frames.shape[0] != s.segment_length:
        raise PoseGenInputError("pose_frames", f"{inputs.pose_frames.shape[0]} frames for a transition of "
                                f"{s.segment_length}.", "the poses of exactly one transition window")
    for name, frames, need in (("frames_before", before, s.head_overlap), ("frames_after", after, s.tail_overlap)):
        check_image(frames, name)
        if frames.shape[0] < need or tuple(frames.shape[1:3]) != (s.height, s.width):
            raise PoseGenInputError(name, f"got {frames.shape[0]} frames of {frames.shape[2]}x{frames.shape[1]}.",
                                    f"at least {need} frames of {s.width}x{s.height}")
    plan = _plan_errors(lambda: plan_segments(s.segment_length, s.segment_length, s.head_overlap, s.tail_overlap))
    keyframes = TransitionKeyframes(before[-s.head_overlap:, ..., :3].float().cpu(),
                                    after[:s.tail_overlap, ..., :3].float().cpu(), range(0, s.head_overlap),
                                    range(s.segment_length - s.tail_overlap, s.segment_length))
    chunks = ChunkSampler(inputs, settings, s.steps, progress)
    transition = chunks.transition(cond_model, plan, keyframes, np.arange(s.segment_length), "transition")
    joined = blend_pair(before[..., :3].float().cpu(), transition, s.head_overlap)
    return blend_pair(joined, after[..., :3].float().cpu(), s.tail_overlap)
