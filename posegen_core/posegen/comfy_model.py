"""Turning a :class:`PoseGenCheckpoint` into a normal ComfyUI MODEL.

The model is ComfyUI's WAN21 (I2V) built from the checkpoint's own config, with PoseGen's two extra patch
embeddings attached to ComfyUI's ``WanModel`` and PoseGen's forward installed as an object patch on
``diffusion_model._forward``. Everything else - device placement, dtype selection, offloading, LoRA
patching, samplers - is ComfyUI's.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import comfy.conds
import comfy.model_base
import comfy.model_management
import comfy.model_patcher
import comfy.supported_models
import comfy.utils
import torch
from torch import nn

from ..errors import PoseGenInputError
from ..wan.patcher import patcher_from_state_dict
from ..wan.run_cache import install_run_cache
from .checkpoint import PoseGenCheckpoint
from .conditioning import HAND_LATENT_KEY
from .config import PoseGenConfig
from .dit_forward import posegen_forward

POSEGEN_SAMPLING_SHIFT = 5.0  # PoseGen's FlowMatchScheduler shift (§7); stock Wan uses 8
ATTACHMENT_KEY = "posegen"


@dataclass(frozen=True)
class PoseGenModelInfo:
    """What later nodes need to know about a loaded PoseGen MODEL."""

    config: PoseGenConfig
    variant: str
    source: str
    fingerprint: str = ""  # the checkpoint file's size and modification time: a replaced file is another model


def attach_posegen_embeddings(wan: nn.Module, config: PoseGenConfig, device: torch.device | None) -> None:
    """Add ``ref_patch_embedding`` and ``hand_patch_embedding`` under PoseGen's key names.

    They use the same ComfyUI op class as Wan's own patch embedding and, like it, float32 storage.
    """
    conv = type(wan.patch_embedding)
    patch = tuple(config.patch_size)

    def patchify(in_ch: int) -> nn.Module:
        return conv(in_ch, config.dim, kernel_size=patch, stride=patch, device=device, dtype=torch.float32)

    wan.ref_patch_embedding = patchify(config.latent_channels)
    if config.use_hand_proj:
        wan.hand_patch_embedding = nn.Sequential(
            patchify(config.latent_channels),
            conv(config.dim, config.dim, kernel_size=1, stride=1, device=device, dtype=torch.float32),
        )
    elif config.use_hand:
        wan.hand_patch_embedding = patchify(config.latent_channels)


class PoseGenWan21(comfy.model_base.WAN21):
    """ComfyUI's WAN21 I2V model plus PoseGen's extra embeddings and its hand-latent condition."""

    def __init__(self, model_config: PoseGenWan21Config, device: torch.device | None = None) -> None:
        super().__init__(model_config, image_to_video=True, device=device)
        attach_posegen_embeddings(self.diffusion_model, model_config.posegen, device)
        # The reference adds one latent frame of tokens; ComfyUI counts it when it plans memory for sampling.
        self.memory_usage_factor_conds = ("reference_latent",)

    def extra_conds_shapes(self, **kwargs):
        """Shapes ComfyUI's pre-sampling memory estimate adds to the latent's (one frame of reference tokens)."""
        out = super().extra_conds_shapes(**kwargs)
        references = kwargs.get("reference_latents")
        if references:
            out["reference_latent"] = [1, references[-1].shape[1], math.prod(references[-1].shape[-2:])]
        return out

    def extra_conds(self, **kwargs):
        out = super().extra_conds(**kwargs)
        hand = kwargs.get(HAND_LATENT_KEY)
        if hand is not None:
            out[HAND_LATENT_KEY] = comfy.conds.CONDRegular(self.process_latent_in(hand))
        return out


class PoseGenWan21Config(comfy.supported_models.WAN21_I2V):
    sampling_settings = {"shift": POSEGEN_SAMPLING_SHIFT}

    def __init__(self, config: PoseGenConfig) -> None:
        super().__init__(config.comfy_unet_config())
        self.posegen = config

    def get_model(self, state_dict, prefix="", device=None):
        return PoseGenWan21(self, device=device)


def build_model_patcher(
    checkpoint: PoseGenCheckpoint, variant: str, weight_dtype: torch.dtype | None = None,
    input_name: str = "checkpoint",
) -> comfy.model_patcher.ModelPatcher:
    """ComfyUI MODEL for a merged PoseGen checkpoint; ``checkpoint.state_dict`` is emptied on the way."""
    config = checkpoint.config
    patcher = patcher_from_state_dict(PoseGenWan21Config(config), checkpoint.state_dict, weight_dtype, input_name,
                                      "PoseGen")
    patcher.add_object_patch("diffusion_model._forward",
                             functools.partial(posegen_forward, patcher.model.diffusion_model, config))
    install_run_cache(patcher)
    patcher.attachments[ATTACHMENT_KEY] = PoseGenModelInfo(config=config, variant=variant,
                                                           source=Path(checkpoint.source).name,
                                                           fingerprint=file_fingerprint(checkpoint.source))
    return patcher


def file_fingerprint(path) -> str:
    """Size and modification time of a weights file (hashing 30 GB per run would take minutes)."""
    try:
        stat = Path(path).stat()
    except (OSError, TypeError):
        return ""
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def posegen_info(model: comfy.model_patcher.ModelPatcher, input_name: str = "model") -> PoseGenModelInfo:
    info = getattr(model, "attachments", {}).get(ATTACHMENT_KEY)
    if info is None:
        raise PoseGenInputError(input_name, "this MODEL was not loaded by LoadPoseGenModel.", "a PoseGen MODEL")
    return info


def load_model(path: Path, variant: str = "auto", weight_dtype: torch.dtype | None = None,
               input_name: str = "checkpoint",
               progress: Callable[[int, int], None] | None = None) -> comfy.model_patcher.ModelPatcher:
    """LoadPoseGenModel's whole path: read and merge the checkpoint, check the variant, build the MODEL."""
    from .checkpoint import load_checkpoint, resolve_variant

    checkpoint = load_checkpoint(path, input_name, progress=progress)
    resolved = resolve_variant(variant, checkpoint.variant)
    return build_model_patcher(checkpoint, resolved, weight_dtype, input_name)
