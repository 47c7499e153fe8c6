"""A whole PoseGen video in one run (§4): base segments (the anchor records its K/V, the others share them),
transitions with the cond model over each seam, then the cross-fade merge, through ComfyUI's own sampling, VAE and
model management.

Order: every base segment is sampled to its final latent (in lockstep through the shared steps, so the anchor's K/V
of one step are held at a time), then the video is decoded in order, each transition made when its two neighbours
are decoded, and finished frames go to a sink (a video file) as soon as no cross-fade can change them. Finished
latents go to a work store: a run folder on disk lets a stopped run continue exactly where it stopped. Nothing held
grows with the video's length but the store on disk (and the IMAGE batch, when asked for).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch

from ..errors import PoseGenInputError, inputs_named
from ..posecrafter.start_noise import InvertedNoise
from ..posegen.comfy_model import posegen_info
from ..posegen.conditioning import check_image, latent_frames, poses_on_canvas, preprocess_frames
from ..wan.stepwise import stepwise_of
from . import memory, memory_plan
from .base_segments import BaseSegments
from .checks import check_frames, check_model_variant, check_options, check_subject_word
from .chunk_sampler import ChunkSampler, Progress, sampler_for_chunk
from .frame_sources import FrameSource, frame_source
from .kvshare import KV_STORAGE, AnchorRecord, kv_bytes
from .masks import pose_token_masks, user_token_masks
from .merge import FrameCollector, FrameSink, WindowedMerge, blend_pair
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
from .work_store import MemoryStore, WorkStore, drop_states, entry_name, load_tensor, resumable_piece, steps_done

log = logging.getLogger("posegen")


class RemoteChunks(Protocol):
    """Chunks sampled elsewhere (``distributed``): started once the plan is made, their latents put in the run's
    store; ``wait_for`` returns when a chunk's latent is there (a transition's with the keyframes the merge
    gives it, to check that the workers decoded its neighbours exactly as this process does); ``frames`` gives
    a waited-for chunk's decoded frames when its worker kept them (else None: it is decoded here)."""

    def start(self) -> None: ...

    def wait_for(self, chunk: Chunk, keyframes: TransitionKeyframes | None = None) -> None: ...

    def frames(self, chunk: Chunk) -> torch.Tensor | None: ...

    def report(self) -> str: ...


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
    frames: torch.Tensor | None  # [L, H, W, 3] when kept
    plan: SegmentPlan
    report: str
    steps_run: int = 0  # sampler steps this call ran (less than planned when a run folder resumed)
    kv_peak_bytes: int = 0  # the most anchor K/V bytes held at once


class _Runner:
    """One long-video run: the plan, the anchor's K/V, each chunk's SAMPLER, and the order of chunks."""

    def __init__(self, base_model, cond_model, inputs: LongVideoInputs, settings: LongVideoSettings, sampler,
                 progress: Progress | None, store: WorkStore | None = None, store_where: str = "memory") -> None:
        check_model_variant(base_model, "base_model", "base")
        check_model_variant(cond_model, "cond_model", "cond")
        check_frames(inputs)
        self.base_model, self.cond_model = base_model, cond_model
        self.inputs, self.settings, self.sampler = inputs, settings, sampler
        self.store, self.store_where = store if store is not None else MemoryStore(), store_where
        self.remote: RemoteChunks | None = None
        layout, kv, posecrafter = settings.layout, settings.kv_sharing, settings.posecrafter
        driving_frames = frame_source(inputs.pose_frames, "pose_frames").num_frames
        with inputs_named({"anchor": "anchor_segment"}):
            self.plan = plan_segments(driving_frames, layout.segment_length, layout.head_overlap, layout.tail_overlap,
                                      anchor=kv.anchor_segment)
        check_options(inputs, settings)
        self.insert = posecrafter.insert_reference_pose
        self.start = base_start(posecrafter.start_noise, posecrafter.start_sigmas, settings)
        self.base_steps = settings.steps if self.start is None else len(self.start.sigmas) - 1
        self.notes: list[str] = []
        self.samplers = self._chunk_samplers(sampler, self.base_steps)
        self.kv_settings = kv.share_settings(posegen_info(base_model).config.num_layers, settings.steps,
                                             check_subject_word(settings, inputs.positive))
        self.lockstep = self._lockstep(kv.lockstep)
        total = len(self.plan.base_chunks) * self.base_steps + len(self.plan.transition_chunks) * settings.steps
        self.chunks = ChunkSampler(inputs, settings, total, progress)
        self.poses = (poses_on_canvas(kv.poses, settings.width, settings.height)
                      if self.kv_settings is not None and kv.mask_mode == "pose" else None)
        self.masks = (preprocess_frames(kv.masks[..., None], settings.width, settings.height)[..., 0]
                      if self.kv_settings is not None and kv.mask_mode == "user" else None)

    def _lockstep(self, wanted: bool) -> bool:
        """Lockstep needs KV sharing and base samplers that run in pieces (Euler, the face/hand edit)."""
        if self.kv_settings is None or not wanted:
            return False
        if all(stepwise_of(self.samplers[c.index]) is not None for c in self.plan.base_chunks):
            return True
        self.notes.append("lockstep: off, the SAMPLER does not run in pieces (only Euler and Face/Hand Edit "
                          "Sampler do); the anchor's K/V of every shared step are held")
        return False

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

    def base_clip(self, chunk: Chunk) -> tuple[torch.Tensor, torch.Tensor | None]:
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

    def static_masks(self, chunk: Chunk) -> dict[str, torch.Tensor] | None:
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

    def run(self, sink: FrameSink | None, keep_frames: bool) -> LongVideoResult:
        started = time.monotonic()
        record = self._anchor_record()
        memory_note = self._memory_plan(record, keep_frames)
        log.info("PoseGen long video plan:\n%s\n%s\n%s", self.plan.describe(), self._kv_note(record), memory_note)
        collector = FrameCollector(self.plan.output_frames) if keep_frames else None
        try:
            self.chunks.done_steps = self._finished_steps()
            resumed = self.chunks.done_steps
            if self.remote is not None:
                self.remote.start()  # the base segments and transitions run on the workers from here on
            else:
                BaseSegments(self, record).run()
            kv_note = self._kv_note(record)
            record.clear()  # the transitions do not share
            self._video(lambda frames: [out(frames) for out in (sink, collector) if out is not None])
        finally:
            record.clear()  # an interrupt or error frees the anchor's K/V at once
            memory.release_memory()
        if self.remote is not None:
            self.notes.append(self.remote.report())
        notes = "".join(f"\n{note}" for note in self.notes)
        steps = (f"sampler steps run: {self.chunks.steps_run}"
                 + (f" ({resumed} of {self.chunks.total_steps} were finished before)" if resumed else ""))
        report = (f"{self.plan.describe()}\n{kv_note}\n{memory_note}{notes}\n{steps}\n{self.plan.output_frames} "
                  f"frames of {self.settings.width}x{self.settings.height} in {time.monotonic() - started:.1f} s")
        return LongVideoResult(collector.result() if collector else None, self.plan, report, self.chunks.steps_run,
                               record.peak_kv_bytes)

    def _finished_steps(self) -> int:
        """Sampler steps already done by an earlier try (finished chunks, lockstep states)."""
        done = 0
        for chunk in self.plan.chunks:
            steps = self.base_steps if chunk.is_base else self.settings.steps
            done += steps if self.store.has(entry_name(chunk)) else steps_done(self.store, chunk, steps)
        return done

    def _video(self, sink: FrameSink) -> None:
        """Decode the base chunks and make the transitions in video order, streaming finished frames to ``sink``."""
        import comfy.model_management

        merge = WindowedMerge(self.plan, sink)
        while not merge.complete:
            chunk = merge.expects
            comfy.model_management.throw_exception_if_processing_interrupted()
            if chunk.is_base:
                merge.add_base(chunk, self._decoded_base(chunk))
                continue
            memory.release_memory()
            frames = None
            if self.remote is not None:
                self.remote.wait_for(chunk, merge.keyframes(chunk))
                frames = self.remote.frames(chunk)
            if frames is None:
                latent = load_tensor(self.store, entry_name(chunk), self.latent_shape(chunk), self.store_where)
                if latent is None:
                    latent = self.sample_transition(chunk, merge.keyframes(chunk))
                frames = self.chunks.decode(latent)
            merge.add_transition(chunk, frames)

    def sample_transition(self, chunk: Chunk, keyframes: TransitionKeyframes) -> torch.Tensor:
        """A transition's latent from its neighbours' overlap frames, kept in the store."""
        latent = self.chunks.transition_latent(
            self.cond_model, self.plan, keyframes, transition_pose_indices(self.plan, chunk),
            f"transition chunk {chunk.index}", sampler=self._transition_sampler(chunk))
        self.store.save(entry_name(chunk), {"x": latent})
        drop_states(self.store, chunk, self.settings.steps)
        return latent

    def _transition_sampler(self, chunk: Chunk):
        """A transition's SAMPLER, resumable step by step when it runs in pieces."""
        stepwise = stepwise_of(self.samplers[chunk.index])
        if stepwise is None:
            return self.samplers[chunk.index]
        steps = self.settings.steps
        return resumable_piece(self.store, chunk, stepwise, steps_done(self.store, chunk, steps), None,
                               self.latent_shape(chunk), self.store_where)

    def _decoded_base(self, chunk: Chunk) -> torch.Tensor:
        if self.remote is not None:
            self.remote.wait_for(chunk)
            frames = self.remote.frames(chunk)
            if frames is not None:
                return frames
        latent = load_tensor(self.store, entry_name(chunk), self.latent_shape(chunk), self.store_where)
        if latent is None:
            raise RuntimeError(f"base chunk {chunk.index} was never sampled")
        frames = self.chunks.decode(latent)
        if self.insert:  # drop the frame generated for the reference pose
            frames = frames[1:1 + self.settings.layout.segment_length]
        return frames

    def latent_shape(self, chunk: Chunk) -> tuple[int, ...]:
        shape = list(self.chunks.shape.latent_shape)
        if chunk.is_base and self.insert:
            shape[2] += 1  # the inserted reference pose adds a latent frame
        return tuple(shape)

    def _memory_plan(self, record: AnchorRecord, keep_frames: bool) -> str:
        """The memory plan (printed and in the report); refuses a K/V store that cannot fit."""
        import comfy.model_management

        s, layout = self.settings, self.settings.layout
        frames = latent_frames(layout.segment_length)
        latent = memory_plan.latent_bytes(layout.segment_length, s.width, s.height)
        device = self.base_model.load_device
        cpu = torch.device("cpu")
        total = comfy.model_management.get_total_memory(device)
        if device.type != "cpu":
            total -= comfy.model_management.extra_reserved_memory()
        vae = self.inputs.vae
        vae_dtype = getattr(vae, "vae_dtype", torch.float32)
        inputs = memory_plan.MemoryInputs(
            base_weights=self.base_model.model_size(), cond_weights=self.cond_model.model_size(),
            sampling_working=int(self.base_model.model.memory_required([2, 16, frames, s.height // 8, s.width // 8])),
            vae_weights=_model_size(vae),
            vae_encode_working=int(_vae_memory(vae, "memory_used_encode", [1, 3, layout.segment_length, s.height,
                                                                           s.width], vae_dtype)),
            vae_decode_working=int(_vae_memory(vae, "memory_used_decode", [1, 16, frames, s.height // 8,
                                                                           s.width // 8], vae_dtype)),
            kv_store=self._kv_need, kv_on_device=record.storage.type != "cpu",
            frame_bytes=memory_plan.frame_bytes(s.width, s.height),
            frames_held=3 * layout.segment_length + (self.plan.output_frames if keep_frames else 0),
            latent_bytes=latent, conditioning_bytes=latent * (2 if self.chunks.hand_frames is not None else 1),
            base_chunks=len(self.plan.base_chunks), transition_chunks=len(self.plan.transition_chunks),
            device_total=int(total), lockstep=self.lockstep)
        if record.storage.type == "cpu" and self._kv_need:
            memory_plan.check_kv_fits(self._kv_need, comfy.model_management.get_free_memory(cpu), "RAM")
        return memory_plan.plan_memory(inputs).describe()

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
        kv_dtype = KV_STORAGE[self.settings.kv_sharing.kv_storage]
        held_steps = 1 if self.lockstep else len(self.kv_settings.steps)
        need = kv_bytes(tokens, config.dim, kv_dtype or self.base_model.model.get_dtype(), held_steps,
                        len(self.kv_settings.blocks))
        fits = device.type != "cpu" and comfy.model_management.get_free_memory(device) > 2 * need
        self._kv_need = need
        return AnchorRecord(storage=device if fits else torch.device("cpu"), kv_dtype=kv_dtype)

    def _kv_note(self, record: AnchorRecord) -> str:
        if self.kv_settings is None:
            return "KV sharing: off"
        held = f", peak {record.peak_kv_bytes / 2**20:.1f} MiB held" if record.peak_kv_bytes else ""
        how = "one step at a time (lockstep)" if self.lockstep else "every shared step at once"
        return (f"KV sharing: steps {sorted(self.kv_settings.steps)}, blocks {sorted(self.kv_settings.blocks)}, masks "
                f"'{self.kv_settings.mask_mode}'; anchor K/V {how}, {self._kv_need / 2**20:.1f} MiB planned on "
                f"{record.storage} as {self.settings.kv_sharing.kv_storage}{held}")


def _model_size(vae) -> int:
    patcher = getattr(vae, "patcher", None)
    return int(patcher.model_size()) if patcher is not None else 0


def _vae_memory(vae, estimate: str, shape: list[int], dtype: torch.dtype) -> int:
    """ComfyUI's own estimate of a VAE call's working memory (0 for a VAE without one)."""
    function = getattr(vae, estimate, None)
    return int(function(shape, dtype)) if function is not None else 0


@torch.inference_mode()  # as inside ComfyUI's executor; outside it, autograd would keep every segment's graph
def generate_long_video(base_model, cond_model, inputs: LongVideoInputs, settings: LongVideoSettings,
                        sampler=None, progress: Progress | None = None, *, sink: FrameSink | None = None,
                        keep_frames: bool = True, store: WorkStore | None = None,
                        store_where: str = "memory",
                        remote: Callable[[_Runner], RemoteChunks] | None = None) -> LongVideoResult:
    """The whole video (exactly the driving length) and a report of the plan, memory and steps.

    ``sampler``: ComfyUI's SAMPLER for every chunk (None = PoseGen's Euler); a ``PerChunkSampler`` is asked for
    each chunk's own. ``sink`` takes the finished frames in order while the run goes (a video file);
    ``keep_frames`` also returns them as one IMAGE batch (``result.frames``, else None). ``store`` keeps the
    finished chunks (a run folder, so a stopped run resumes; default memory), ``store_where`` names it in errors.
    ``remote`` makes what samples the chunks elsewhere (``distributed``); decoding and the merge stay here.
    """
    runner = _Runner(base_model, cond_model, inputs, settings, sampler, progress, store, store_where)
    runner.remote = remote(runner) if remote is not None else None
    return runner.run(sink, keep_frames)


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
