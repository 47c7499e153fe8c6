"""PoseAnything's sampling as a ComfyUI guider: ordinary CFG plus, when part masks are given and the model has PTCM,
the correspondence pre-pass (§3.5) before the real run.

The pre-pass runs the caller's sampler for the first ``capture_step`` steps of the same schedule from the same
noise (no PTCM), captures one block's frame-0 self-attention at step ``capture_step`` on the positive branch, matches
the first frame's parts to later frames' parts, and then samples the whole schedule again from the same noise with
the part cross-attention active in steps ``0..ptcm_steps-1``. Everything else - conds, CFG, the first-frame
re-imposition through the noise mask, previews, interruption - is ComfyUI's ``CFGGuider``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import comfy.model_management
import comfy.model_patcher
import comfy.patcher_extension
import comfy.samplers
import numpy as np
import torch

from ..errors import PoseGenInputError
from .correspondence import MatchResult, match_parts
from .ptcm import (
    CAPTURE_KEY,
    PTCM_KEY,
    RELEASED_CAPTURE_BLOCK,
    RELEASED_CAPTURE_STEP,
    AttentionCapture,
    CaptureComplete,
    PTCMContext,
)


@dataclass
class VideoParts:
    """Skeleton parts of the posed frames: ``masks[i]`` is a bool [P_i, H, W] array for pixel frame
    ``posed_frames[i]`` (part canvases on any grid; resized to the latent token grid when sampling). The first entry
    must be pixel frame 0 (its parts are what PTCM keeps consistent)."""

    posed_frames: list[int]
    masks: list[np.ndarray]
    alpha: int = 1

    def __post_init__(self) -> None:
        if len(self.posed_frames) != len(self.masks):
            raise ValueError("one mask stack per posed frame")
        if not self.posed_frames or self.posed_frames[0] != 0:
            raise PoseGenInputError("parts", "the first posed frame is not frame 0.",
                                    "part masks whose first entry is the first frame's skeleton")
        if len(self.masks[0]) == 0:
            raise PoseGenInputError("parts", "the first frame's skeleton gave no parts.",
                                    "a posed first frame with a visible skeleton (or no part masks: PTCM off)")

    def token_masks(self, rows: int, cols: int) -> tuple[torch.Tensor, dict[int, torch.Tensor]]:
        """(first-frame masks [P, rows, cols], {pixel frame: masks [P_f, rows, cols]}) on the token grid."""
        from .parts import token_masks

        resized = {}
        for frame, stack in zip(self.posed_frames, self.masks, strict=True):
            if stack.shape[1:] == (rows, cols):
                grid = stack.astype(bool)
            else:
                grid = token_masks(stack.astype(np.uint8) * 255, cols, rows)
            resized[frame] = torch.from_numpy(np.ascontiguousarray(grid)).bool()
        return resized[self.posed_frames[0]], resized


@dataclass(frozen=True)
class PTCMSettings:
    match_mode: str = "released"  # "released" (off-by-one, as the weights were published) or "fixed"
    active_steps: int = len(range(6))  # steps 0..5 as released
    capture_step: int = RELEASED_CAPTURE_STEP
    capture_block: int | None = None  # None: block 27, or the last block of a shallower model

    def block_for(self, num_layers: int) -> int:
        block = RELEASED_CAPTURE_BLOCK if self.capture_block is None else self.capture_block
        if self.capture_block is not None and not 0 <= block < num_layers:
            raise PoseGenInputError("capture_block", f"{block} is not a block of this {num_layers}-block model.",
                                    f"0..{num_layers - 1}")
        return min(block, num_layers - 1)


@dataclass
class PrepassReport:
    """What the pre-pass found (kept on the guider for inspection and tests)."""

    capture_step: int
    capture_block: int
    attn_head_sum: torch.Tensor | None = None
    match: MatchResult | None = None
    predictions: list[torch.Tensor] = field(default_factory=list)


class PoseAnythingGuider(comfy.samplers.CFGGuider):
    """CFG guider that runs PoseAnything's PTCM correspondence pre-pass when ``parts`` are set."""

    def __init__(self, model_patcher: comfy.model_patcher.ModelPatcher, parts: VideoParts | None = None,
                 settings: PTCMSettings | None = None) -> None:
        super().__init__(model_patcher)
        self.parts = parts
        self.settings = settings or PTCMSettings()
        self.last_prepass: PrepassReport | None = None

    def inner_sample(self, noise, latent_image, device, sampler, sigmas, denoise_mask, callback, disable_pbar, seed,
                     latent_shapes=None):
        if self.parts is None:
            return super().inner_sample(noise, latent_image, device, sampler, sigmas, denoise_mask, callback,
                                        disable_pbar, seed, latent_shapes=latent_shapes)
        if latent_image is not None and torch.count_nonzero(latent_image) > 0:
            latent_image = self.inner_model.process_latent_in(latent_image)
        self.conds = comfy.samplers.process_conds(self.inner_model, noise, self.conds, device, latent_image,
                                                  denoise_mask, seed, latent_shapes=latent_shapes)
        context = self._prepass(noise, latent_image, sampler, sigmas, denoise_mask, seed, callback)
        samples = self._run(sampler, sigmas, {PTCM_KEY: context}, callback, noise, latent_image, denoise_mask,
                            disable_pbar, seed)
        return self.inner_model.process_latent_out(samples.to(torch.float32))

    def _run(self, sampler, sigmas: torch.Tensor, options: dict, callback, noise, latent_image, denoise_mask,
             disable_pbar: bool, seed) -> torch.Tensor:
        """One ordinary sampler run over ``sigmas`` with extra ``transformer_options`` (ComfyUI's inner_sample)."""
        model_options = comfy.model_patcher.create_model_options_clone(self.model_options)
        transformer_options = model_options.setdefault("transformer_options", {})
        transformer_options["sample_sigmas"] = sigmas
        transformer_options.update(options)
        extra_args = {"model_options": model_options, "seed": seed}
        executor = comfy.patcher_extension.WrapperExecutor.new_class_executor(
            sampler.sample, sampler,
            comfy.patcher_extension.get_all_wrappers(comfy.patcher_extension.WrappersMP.SAMPLER_SAMPLE, model_options,
                                                     is_model_options=True))
        return executor.execute(self, sigmas, extra_args, callback, noise, latent_image, denoise_mask, disable_pbar)

    def _prepass(self, noise, latent_image, sampler, sigmas, denoise_mask, seed, callback=None) -> PTCMContext:
        """Previews and progress of the pre-pass go to ``callback`` like the real run's (the bar fills twice)."""
        steps = len(sigmas) - 1
        num_layers = len(self.model_patcher.model.diffusion_model.blocks)
        capture_step = min(self.settings.capture_step, steps - 1)
        report = PrepassReport(capture_step=capture_step, capture_block=self.settings.block_for(num_layers))
        capture = AttentionCapture(block=report.capture_block, step=capture_step)

        def progress(*args) -> None:
            comfy.model_management.throw_exception_if_processing_interrupted()
            if callback is not None:
                callback(*args)

        try:
            self._run(sampler, sigmas[:capture_step + 2], {CAPTURE_KEY: capture}, progress, noise,
                      latent_image, denoise_mask, True, seed)
        except CaptureComplete:
            pass
        if capture.probs is None:
            raise RuntimeError("PTCM pre-pass: the sampler never evaluated the model at the capture step")
        report.attn_head_sum = capture.head_sum()
        _, _, frames, height, width = noise.shape
        patch = self.model_patcher.model.diffusion_model.patch_size
        rows, cols = height // patch[1], width // patch[2]
        first, frame_masks = self.parts.token_masks(rows, cols)
        report.match = match_parts(report.attn_head_sum, first, frame_masks, frames,
                                   mode=self.settings.match_mode)
        self.last_prepass = report
        return PTCMContext(first, report.match.union_mask, frozenset(range(self.settings.active_steps)))


def make_guider(model: comfy.model_patcher.ModelPatcher, positive, negative, cfg: float,
                parts: VideoParts | None = None, settings: PTCMSettings | None = None,
                has_ptcm: Callable[[comfy.model_patcher.ModelPatcher], bool] | None = None) -> PoseAnythingGuider:
    """A guider for any Wan-family MODEL; part masks are only used when the model has PTCM modules."""
    if parts is not None and has_ptcm is not None and not has_ptcm(model):
        raise PoseGenInputError("parts", "this MODEL has no PTCM modules (a PoseAnything checkpoint without "
                                "'cross_attn_instance', or another Wan model).", "no part masks, or the PTCM "
                                "PoseAnything checkpoint")
    if settings is not None and settings.active_steps == 0:
        parts = None  # no step would use the masks: skip the pre-pass
    guider = PoseAnythingGuider(model, parts, settings)
    guider.set_conds(positive, negative)
    guider.set_cfg(cfg)
    return guider
