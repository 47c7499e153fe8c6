"""Turning a :class:`PoseAnythingCheckpoint` into a normal ComfyUI MODEL.

The model is ComfyUI's own WAN22 (Wan2.2-TI2V-5B layout, first frame fused in the latent) built from the
checkpoint's config, with the 96-channel patch embedding ComfyUI sizes from that config and, for the PTCM variant,
each block's ``cross_attn_instance`` and ``norm4`` attached under PoseAnything's key names (ComfyUI's loader would
drop them). PoseAnything's forward is installed as an object patch on ``diffusion_model._forward``; devices, dtypes,
offloading, LoRA and samplers stay ComfyUI's.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import comfy.ldm.wan.model
import comfy.model_base
import comfy.model_patcher
import comfy.supported_models
import torch
from torch import nn

from ..errors import PoseGenInputError
from ..wan.converted import cast_for_storage, write_safetensors_atomically
from ..wan.patcher import patcher_from_state_dict
from ..wan.run_cache import install_run_cache
from .checkpoint import PoseAnythingCheckpoint, converted_metadata, load_checkpoint
from .config import WAN22_LATENT_CHANNELS, PoseAnythingConfig
from .dit_forward import poseanything_forward

POSEANYTHING_SAMPLING_SHIFT = 5.0  # released FlowMatchScheduler shift (§5); ComfyUI's Wan 2.2 default is 8
ATTACHMENT_KEY = "poseanything"


@dataclass(frozen=True)
class PoseAnythingModelInfo:
    config: PoseAnythingConfig
    source: str

    @property
    def has_ptcm(self) -> bool:
        return self.config.ptc_enabled


def attach_ptcm_modules(wan: nn.Module, config: PoseAnythingConfig, device: torch.device | None) -> None:
    """``blocks.N.cross_attn_instance`` (q/k/v/o + RMSNorm q/k, like the text cross-attention) and
    ``blocks.N.norm4`` (affine LayerNorm), built with the op classes ComfyUI chose for the block's own layers."""
    for block in wan.blocks:
        reference = block.cross_attn
        dtype = reference.q.weight.dtype
        ops = SimpleNamespace(Linear=type(reference.q), RMSNorm=type(reference.norm_q))
        block.cross_attn_instance = comfy.ldm.wan.model.WanT2VCrossAttention(
            config.dim, config.num_heads, (-1, -1), True, config.eps,
            operation_settings={"operations": ops, "device": device, "dtype": dtype})
        block.norm4 = type(block.norm3)(config.dim, config.eps, elementwise_affine=True, device=device, dtype=dtype)


class PoseAnythingWan22(comfy.model_base.WAN22):
    """ComfyUI's WAN22 TI2V model with PoseAnything's PTCM modules when the checkpoint has them."""

    def __init__(self, model_config: PoseAnythingWan22Config, device: torch.device | None = None) -> None:
        super().__init__(model_config, image_to_video=True, device=device)
        if model_config.poseanything.ptc_enabled:
            attach_ptcm_modules(self.diffusion_model, model_config.poseanything, device)


class PoseAnythingWan22Config(comfy.supported_models.WAN22_T2V):
    sampling_settings = {"shift": POSEANYTHING_SAMPLING_SHIFT}

    def __init__(self, config: PoseAnythingConfig) -> None:
        super().__init__(config.comfy_unet_config())
        self.poseanything = config

    def get_model(self, state_dict, prefix="", device=None):
        return PoseAnythingWan22(self, device=device)


def build_model_patcher(checkpoint: PoseAnythingCheckpoint, weight_dtype: torch.dtype | None = None,
                        input_name: str = "checkpoint") -> comfy.model_patcher.ModelPatcher:
    """ComfyUI MODEL for a PoseAnything checkpoint; ``checkpoint.state_dict`` is emptied on the way."""
    config = checkpoint.config
    if config.latent_channels != WAN22_LATENT_CHANNELS:
        raise PoseGenInputError(input_name, f"the DiT predicts {config.latent_channels} latent channels.",
                                f"{WAN22_LATENT_CHANNELS} (the Wan 2.2 VAE's latent)")
    patcher = patcher_from_state_dict(PoseAnythingWan22Config(config), checkpoint.state_dict, weight_dtype,
                                      input_name, "PoseAnything")
    patcher.add_object_patch("diffusion_model._forward",
                             functools.partial(poseanything_forward, patcher.model.diffusion_model, config))
    install_run_cache(patcher)
    patcher.attachments[ATTACHMENT_KEY] = PoseAnythingModelInfo(config=config, source=Path(checkpoint.source).name)
    return patcher


def poseanything_info(model: comfy.model_patcher.ModelPatcher) -> PoseAnythingModelInfo | None:
    return getattr(model, "attachments", {}).get(ATTACHMENT_KEY)


def load_model(path: Path, weight_dtype: torch.dtype | None = None, input_name: str = "checkpoint",
               progress: Callable[[int, int], None] | None = None) -> comfy.model_patcher.ModelPatcher:
    """LoadPoseAnythingModel's whole path: read the shards or file, build the MODEL."""
    return build_model_patcher(load_checkpoint(path, input_name, progress=progress), weight_dtype, input_name)


def write_converted_file(path: Path, checkpoint: PoseAnythingCheckpoint, dtype: torch.dtype | None) -> Path:
    """Convert PoseAnything Checkpoint's file: one safetensors with the config in its metadata, in ``dtype`` (fp8:
    what ComfyUI's model stores in fp8, the rest as it is), written atomically."""
    tensors = cast_for_storage(checkpoint.state_dict, dtype, PoseAnythingWan22Config(checkpoint.config))
    return write_safetensors_atomically(path, tensors, converted_metadata(checkpoint))
