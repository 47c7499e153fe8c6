"""One chunk (a base segment or a transition) through ComfyUI: encode its clips, sample it with the SAMPLER the
run chose for it, decode it.

The run's SAMPLER is ComfyUI's: KSamplerSelect "euler" is PoseGen's own, and any SAMPLER is used as it is for
every chunk. A SAMPLER that needs to know which chunk it samples (PoseCrafter's face/hand edit is planned on each
base segment's own poses) implements :class:`PerChunkSampler`; the run asks it for every chunk's SAMPLER before
anything is sampled, so its errors come first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
import torch

from ..posegen.attention_hooks import KVSHARE_KEY
from ..posegen.conditioning import check_segment_shape, encode_video, posegen_conditioning_values, preprocess_frames
from ..wan.schedule import flow_match_sigmas
from .frame_sources import BlackFrames, frame_source
from .kvshare import KVShareContext
from .noise import BaseStart
from .options import LongVideoSettings
from .plan import SegmentPlan, TransitionKeyframes, transition_mask_channels

if TYPE_CHECKING:
    from .run import LongVideoInputs

log = logging.getLogger("posegen")

# Progress reporting: (steps done, total steps, preview or None); ComfyUI's hook also checks for an interrupt.
Progress = Callable[[int, int, Any], None]


@runtime_checkable
class PerChunkSampler(Protocol):
    """A SAMPLER the long-video run specialises per chunk (e.g. ``posecrafter.edit_sampler.FaceHandEditSampler``).

    ``for_chunk`` gets the chunk's ``kind`` ("base" or "transition"), ``frames`` (the driving frame each of its
    pixel frames shows; -1 = the inserted reference pose), a ``label`` for messages ("base segment 2"), the
    ``steps`` it is sampled in, whether it starts from an inverted reference (``inverted_start``), and ``report``,
    which adds a line to the run's report. It returns the SAMPLER for that chunk."""

    def for_chunk(self, kind: str, frames: np.ndarray, *, label: str, steps: int, inverted_start: bool,
                  report: Callable[[str], None]) -> Any: ...


def posegen_sampler() -> Any:
    """PoseGen's sampler: ComfyUI's Euler, exactly what KSamplerSelect "euler" gives."""
    import comfy.samplers

    return comfy.samplers.sampler_object("euler")


def sampler_for_chunk(sampler: Any, kind: str, frames: np.ndarray, *, label: str, steps: int,
                      inverted_start: bool, report: Callable[[str], None]) -> Any:
    """The SAMPLER for one chunk: ``sampler`` itself, or what it makes for this chunk (:class:`PerChunkSampler`)."""
    if sampler is None:
        return posegen_sampler()
    if isinstance(sampler, PerChunkSampler):
        return sampler.for_chunk(kind, frames, label=label, steps=steps, inverted_start=inverted_start,
                                 report=report)
    return sampler


def _with_values(conditioning: list, values: dict[str, Any]) -> list:
    """ComfyUI's conditioning with extra entries (what node_helpers.conditioning_set_values does)."""
    return [[c[0], {**c[1], **values}] for c in conditioning]


class ChunkSampler:
    """What every chunk shares (reference latent, CLIP, prompts, noise, schedule) and how one chunk is encoded,
    sampled through ComfyUI and decoded. Counts the sampler steps it runs (``steps_run``) and reports progress
    over ``total_steps``, starting from ``done_steps`` (a resumed run's finished steps)."""

    def __init__(self, inputs: LongVideoInputs, settings: LongVideoSettings, total_steps: int,
                 progress: Progress | None) -> None:
        self.inputs, self.settings = inputs, settings
        self.shape = check_segment_shape(settings.layout.segment_length, settings.width, settings.height)
        self.sigmas = flow_match_sigmas(settings.steps, settings.shift)
        self.total_steps, self.done_steps, self.steps_run = total_steps, 0, 0
        self.progress = progress
        self.poses = frame_source(inputs.pose_frames, "pose_frames")
        hands = frame_source(inputs.hand_frames, "hand_frames")
        self.hand_frames = hands or (BlackFrames(self.poses) if settings.black_hands_when_missing else None)
        self.ref_latent = encode_video(inputs.vae, preprocess_frames(inputs.reference_image, settings.width,
                                                                      settings.height), self.shape, "reference_image")

    def encode(self, frames: torch.Tensor, name: str) -> torch.Tensor:
        s = self.settings
        return encode_video(self.inputs.vae, preprocess_frames(frames, s.width, s.height), self.shape, name)

    def hands(self, indices: np.ndarray) -> torch.Tensor | None:
        return self.hand_frames.frames(indices) if self.hand_frames is not None else None

    def sample(self, model, pose_latent: torch.Tensor, hand_latent: torch.Tensor | None, given: torch.Tensor,
               kvshare: KVShareContext | None, label: str, start: BaseStart | None = None,
               sampler=None) -> torch.Tensor:
        """One chunk through ComfyUI's sampling from an empty latent: with the seed's noise over the settings'
        schedule, or with ``start``'s noise and schedule; ``sampler`` defaults to PoseGen's (Euler). A piece of a
        stepwise sampler runs only its steps (the result is the chunk's only when the piece reaches the end)."""
        import comfy.sample

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
        samples = comfy.sample.sample_custom(
            model, noise, self.settings.cfg, sampler or posegen_sampler(), sigmas,
            _with_values(self.inputs.positive, values), _with_values(self.inputs.negative, values), latent,
            callback=self._callback(model), disable_pbar=True, seed=self.settings.seed)
        log.info("PoseGen: %s sampled", label)
        return samples

    def _callback(self, model):
        import latent_preview

        previewer = latent_preview.get_previewer(model.load_device, model.model.latent_format)

        def callback(step: int, x0: torch.Tensor, x: torch.Tensor, total: int) -> None:
            self.done_steps += 1  # ComfyUI calls this once per sampler step
            self.steps_run += 1
            if self.progress is not None:
                preview = previewer.decode_latent_to_preview_image("JPEG", x0) if previewer else None
                self.progress(min(self.done_steps, self.total_steps), self.total_steps, preview)
        return callback

    def decode(self, samples: torch.Tensor) -> torch.Tensor:
        frames = self.inputs.vae.decode(samples)
        return frames.reshape(-1, *frames.shape[-3:]).float().cpu()

    def transition_latent(self, cond_model, plan: SegmentPlan, keyframes: TransitionKeyframes,
                          pose_indices: np.ndarray, label: str, sampler=None) -> torch.Tensor:
        """Regenerate a seam with the cond model (§3.8): the neighbours' frames are given (written over the pose
        and hand clips, mask 1), the middle follows the poses. Returns the sampled latent."""
        s = self.settings
        poses = keyframes.apply(preprocess_frames(self.poses.frames(pose_indices), s.width, s.height).float())
        hands = self.hands(pose_indices)
        hand_latent = None
        if hands is not None:
            hand_clip = keyframes.apply(preprocess_frames(hands, s.width, s.height).float())
            hand_latent = encode_video(self.inputs.vae, hand_clip, self.shape, "hand_frames")
        pose_latent = encode_video(self.inputs.vae, poses, self.shape, "pose_frames")
        return self.sample(cond_model, pose_latent, hand_latent, transition_mask_channels(plan), None, label,
                           sampler=sampler)

    def transition(self, cond_model, plan: SegmentPlan, keyframes: TransitionKeyframes, pose_indices: np.ndarray,
                   label: str, sampler=None) -> torch.Tensor:
        """A transition's decoded frames."""
        return self.decode(self.transition_latent(cond_model, plan, keyframes, pose_indices, label, sampler))
