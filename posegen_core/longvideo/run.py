"""A whole PoseGen video in one run (§4): base segments (the anchor records its K/V, the others share them),
transitions with the cond model over each seam, then the cross-fade merge — in memory, through ComfyUI's own
sampling, VAE and model management.

Memory stays bounded by one segment plus the anchor's K/V: per segment only its own frames are preprocessed and
encoded; decoded frames are the output itself. Nothing is written to disk.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..errors import PoseGenInputError, inputs_named
from ..posecrafter.start_noise import InvertedNoise
from ..posegen.comfy_model import posegen_info
from ..posegen.conditioning import MASK_CHANNELS, check_image, latent_frames, poses_on_canvas, preprocess_frames
from . import memory
from .checks import check_frames, check_model_variant, check_options, check_subject_word
from .chunk_sampler import ChunkSampler, Progress, sampler_for_chunk
from .frame_sources import FrameSource, frame_source
from .kvshare import AnchorRecord, KVShareContext, kv_bytes
from .masks import pose_token_masks, user_token_masks
from .merge import StreamingMerge, blend_pair
from .noise import base_start
from .options import LongVideoSettings
from .plan import (
    Chunk,
    SegmentPlan,
    TransitionKeyframes,
    base_pose_indices,
    plan_segments,
    transition_pose_indices,
)

log = logging.getLogger("posegen")


@dataclass
class LongVideoInputs:
    positive: list
    negative: list
    vae: Any
    clip_vision_output: Any
    reference_image: torch.Tensor
    # the driving video: rendered pose frames [L, H, W, C], or a source that draws each chunk's frames when needed
    pose_frames: torch.Tensor | FrameSource
    hand_frames: torch.Tensor | FrameSource | None = None


@dataclass
class LongVideoResult:
    frames: torch.Tensor  # [L, H, W, 3]
    plan: SegmentPlan
    report: str


class _Runner:
    """One long-video run: the plan, the anchor's K/V, each chunk's SAMPLER, and the order of chunks."""

    def __init__(self, base_model, cond_model, inputs: LongVideoInputs, settings: LongVideoSettings, sampler,
                 progress: Progress | None) -> None:
        check_model_variant(base_model, "base_model", "base")
        check_model_variant(cond_model, "cond_model", "cond")
        check_frames(inputs)
        self.base_model, self.cond_model = base_model, cond_model
        self.inputs, self.settings = inputs, settings
        layout, kv, posecrafter = settings.layout, settings.kv_sharing, settings.posecrafter
        driving_frames = frame_source(inputs.pose_frames, "pose_frames").num_frames
        with inputs_named({"anchor": "anchor_segment"}):
            self.plan = plan_segments(driving_frames, layout.segment_length, layout.head_overlap, layout.tail_overlap,
                                      anchor=kv.anchor_segment)
        check_options(inputs, settings)
        self.insert = posecrafter.insert_reference_pose
        self.start = base_start(posecrafter.start_noise, posecrafter.start_sigmas, settings)
        base_steps = settings.steps if self.start is None else len(self.start.sigmas) - 1
        self.notes: list[str] = []
        self.samplers = self._chunk_samplers(sampler, base_steps)
        self.kv_settings = kv.share_settings(posegen_info(base_model).config.num_layers, settings.steps,
                                             check_subject_word(settings, inputs.positive))
        total = len(self.plan.base_chunks) * base_steps + len(self.plan.transition_chunks) * settings.steps
        self.chunks = ChunkSampler(inputs, settings, total, progress)
        self.poses = (poses_on_canvas(kv.poses, settings.width, settings.height)
                      if self.kv_settings is not None and kv.mask_mode == "pose" else None)
        self.masks = (preprocess_frames(kv.masks[..., None], settings.width, settings.height)[..., 0]
                      if self.kv_settings is not None and kv.mask_mode == "user" else None)

    def _chunk_samplers(self, sampler, base_steps: int) -> dict[int, Any]:
        """Every chunk's SAMPLER, made before anything is sampled (a per-chunk SAMPLER checks its chunks here)."""
        inverted = self.start is not None and isinstance(self.start.noise, InvertedNoise)
        samplers = {}
        for chunk in self.plan.chunks:
            if chunk.is_base:
                frames, steps, label = self._base_indices(chunk), base_steps, f"base segment {chunk.index // 2}"
            else:
                frames, steps = transition_pose_indices(self.plan, chunk), self.settings.steps
                label = f"transition {chunk.index // 2}"
            samplers[chunk.index] = sampler_for_chunk(
                sampler, chunk.kind, frames, label=label, steps=steps, inverted_start=inverted and chunk.is_base,
                report=self.notes.append)
        return samplers

    def _base_indices(self, chunk: Chunk) -> np.ndarray:
        """The driving frame of each of a base segment's pixel frames. With reference-pose insertion the clip is 4
        frames longer (it stays 4k+1): the reference pose (-1), then S+3 driving frames."""
        if not self.insert:
            return base_pose_indices(self.plan, chunk)
        return np.concatenate([[-1], base_pose_indices(self.plan, chunk, extra=3)])

    def _base_clip(self, chunk: Chunk) -> tuple[torch.Tensor, torch.Tensor | None]:
        """A base segment's pose and hand frames."""
        indices = self._base_indices(chunk)
        if not self.insert:
            return self.chunks.poses.frames(indices), self.chunks.hands(indices)
        driving = indices[1:]
        reference_pose = self.settings.posecrafter.reference_pose_frame[:1, ..., :3].float().cpu()
        poses = torch.cat([reference_pose, self.chunks.poses.frames(driving)])
        hands = self.chunks.hands(driving)
        if hands is not None:
            hands = torch.cat([torch.zeros_like(hands[:1]), hands])  # no hand normals for the reference pose
        return poses, hands

    def _static_masks(self, chunk: Chunk) -> dict[str, torch.Tensor] | None:
        mode = self.kv_settings.mask_mode if self.kv_settings else "none"
        if mode not in ("pose", "user"):
            return None
        anchor = self.plan.chunks[self.plan.anchor]
        extra = 4 if self.insert else 0
        s = self.settings
        grid = (latent_frames(s.layout.segment_length + extra), s.height // 16, s.width // 16)

        def tokens(c: Chunk) -> torch.Tensor:
            # with insertion the reference frame's tokens are judged by the first driving frame's pose
            indices = base_pose_indices(self.plan, c, extra=extra - 1) if extra else base_pose_indices(self.plan, c)
            if extra:
                indices = np.concatenate([indices[:1], indices])
            if mode == "pose":
                return pose_token_masks(self.poses, indices, grid, (s.width, s.height))
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
                memory.release_memory()
                poses, hands = self._base_clip(chunk)
                kvshare = None
                if self.kv_settings is not None:
                    mode = "record" if chunk.index == self.plan.anchor else "share"
                    kvshare = KVShareContext(self.kv_settings, mode, record, static_masks=self._static_masks(chunk))
                pose_latent = self.chunks.encode(poses, "pose_frames")
                with inputs_named({"noise": "start_noise"}):  # the start's noise is PoseCrafter Options' start_noise
                    samples = self.chunks.sample(
                        self.base_model, pose_latent,
                        None if hands is None else self.chunks.encode(hands, "hand_frames"),
                        torch.zeros(MASK_CHANNELS, pose_latent.shape[2]), kvshare, f"base chunk {chunk.index}",
                        start=self.start, sampler=self.samplers[chunk.index])
                frames = self.chunks.decode(samples)
                if self.insert:  # drop the frame generated for the reference pose
                    frames = frames[1:1 + self.settings.layout.segment_length]
                merged.add_base(chunk, frames)
            kv_note = self._kv_note(record)
            record.clear()  # the transitions do not share
            for chunk in self.plan.transition_chunks:
                comfy.model_management.throw_exception_if_processing_interrupted()
                memory.release_memory()
                frames = self.chunks.transition(self.cond_model, self.plan, merged.keyframes(chunk),
                                                transition_pose_indices(self.plan, chunk),
                                                f"transition chunk {chunk.index}", sampler=self.samplers[chunk.index])
                merged.add_transition(chunk, frames)
            frames = merged.result()
        finally:
            record.clear()  # an interrupt or error frees the anchor's K/V at once
            memory.release_memory()
        notes = "".join(f"\n{note}" for note in self.notes)
        report = (f"{self.plan.describe()}\n{kv_note}{notes}\n{frames.shape[0]} frames of {self.settings.width}x"
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
        t += 1 if self.insert else 0  # the inserted frame adds a latent frame
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
                        sampler=None, progress: Progress | None = None) -> LongVideoResult:
    """The whole video (IMAGE frames, exactly the driving length) and a report of the plan and memory.

    ``sampler``: ComfyUI's SAMPLER for every chunk (None = PoseGen's Euler); a ``PerChunkSampler`` is asked for
    each chunk's own."""
    return _Runner(base_model, cond_model, inputs, settings, sampler, progress).run()


@torch.inference_mode()
def transition_between(cond_model, inputs: LongVideoInputs, settings: LongVideoSettings, before: torch.Tensor,
                       after: torch.Tensor, sampler=None, progress: Progress | None = None) -> torch.Tensor:
    """TransitionBlend: regenerate the seam between two frame batches with the cond model and cross-fade all three.

    ``inputs.pose_frames`` are the poses of the transition window (``segment_length`` frames): its first
    ``head_overlap`` frames are ``before``'s last ones, its last ``tail_overlap`` frames ``after``'s first ones.
    Returns ``before`` + transition + ``after`` with the linear cross-fades of §4.4. Only the settings' size,
    sampling numbers and layout are read.
    """
    check_model_variant(cond_model, "cond_model", "cond")
    check_frames(inputs)
    s, layout = settings, settings.layout
    length, head, tail = layout.segment_length, layout.head_overlap, layout.tail_overlap
    window = frame_source(inputs.pose_frames, "pose_frames").num_frames
    if window != length:
        raise PoseGenInputError("pose_frames", f"{window} frames for a transition of "
                                f"{length}.", "the poses of exactly one transition window")
    for name, frames, need in (("frames_before", before, head), ("frames_after", after, tail)):
        check_image(frames, name)
        if frames.shape[0] < need or tuple(frames.shape[1:3]) != (s.height, s.width):
            raise PoseGenInputError(name, f"got {frames.shape[0]} frames of {frames.shape[2]}x{frames.shape[1]}.",
                                    f"at least {need} frames of {s.width}x{s.height}")
    plan = plan_segments(length, length, head, tail)
    window = np.arange(length)
    chunk_sampler = sampler_for_chunk(sampler, "transition", window, label="transition", steps=s.steps,
                                      inverted_start=False, report=lambda note: log.info("PoseGen: %s", note))
    keyframes = TransitionKeyframes(before[-head:, ..., :3].float().cpu(), after[:tail, ..., :3].float().cpu(),
                                    range(0, head), range(length - tail, length))
    chunks = ChunkSampler(inputs, settings, s.steps, progress)
    transition = chunks.transition(cond_model, plan, keyframes, window, "transition", sampler=chunk_sampler)
    joined = blend_pair(before[..., :3].float().cpu(), transition, head)
    return blend_pair(joined, after[..., :3].float().cpu(), tail)
