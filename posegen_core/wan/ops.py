"""Numeric building blocks shared by the PoseGen and PoseAnything forwards over ComfyUI's ``WanModel`` modules.

Each runs a module of ComfyUI's model the way the reference implementations do (float64 timestep sinusoid, RMSNorm
normalising in float32 and scaling after the cast, patch embedding in the activations' dtype), while still going
through ComfyUI's weight casting and patches (``comfy.ops``), so offloading, dtype handling and LoRA apply.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int, transformer_options: dict,
               ) -> torch.Tensor:
    from comfy.ldm.modules.attention import optimized_attention

    return optimized_attention(q, k, v, heads=heads, transformer_options=transformer_options)


def apply_rope(x: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    from comfy.ldm.flux.math import apply_rope1

    return apply_rope1(x, table)


def module_weight_and_bias(module: nn.Module, like: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """A module's weight and bias cast to ``like``'s dtype/device, with ComfyUI's weight patches applied."""
    import comfy.model_management
    import comfy.ops

    if hasattr(module, "weight_function"):
        return comfy.ops.cast_bias_weight(module, like)
    cast = comfy.model_management.cast_to
    bias = getattr(module, "bias", None)
    return (cast(module.weight, like.dtype, like.device),
            None if bias is None else cast(bias, like.dtype, like.device))


def cast_param(param: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    import comfy.model_management

    return comfy.model_management.cast_to(param, like.dtype, like.device)


def patch_embed(conv: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """A patch-embedding Conv3d (or PoseGen's Conv3d -> 1x1 Conv3d stack) run in ``x``'s dtype, as PoseGen does."""
    if isinstance(conv, nn.Sequential):
        for layer in conv:
            x = patch_embed(layer, x)
        return x
    weight, bias = module_weight_and_bias(conv, x)
    return F.conv3d(x, weight, bias, stride=conv.stride, padding=conv.padding)


def rms_norm(norm: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Normalise in float32, cast back, then scale by the weight (PoseGen's order; §9 item 5)."""
    weight, _ = module_weight_and_bias(norm, x)
    xf = x.float()
    normed = (xf * torch.rsqrt(xf.pow(2).mean(dim=-1, keepdim=True) + norm.eps)).to(x.dtype)
    return normed * weight


def fused_rms_norm(norm: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """ComfyUI's RMSNorm: one fused op, the weight applied before the result is rounded to ``x``'s dtype."""
    weight, _ = module_weight_and_bias(norm, x)
    return F.rms_norm(x, weight.shape, weight, norm.eps)


def layer_norm(norm: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """LayerNorm computed in float32 with its weights upcast, then cast back (PoseAnything's autocast LayerNorm)."""
    if isinstance(norm, nn.Identity):
        return x
    weight = getattr(norm, "weight", None)
    if weight is None:
        return F.layer_norm(x.float(), norm.normalized_shape, eps=norm.eps).to(x.dtype)
    weight, bias = module_weight_and_bias(norm, x.float())
    return F.layer_norm(x.float(), norm.normalized_shape, weight, bias, norm.eps).to(x.dtype)


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return x * (1 + scale) + shift


def sinusoidal_embedding(dim: int, t: torch.Tensor) -> torch.Tensor:
    """[cos | sin] of t * 10000^(-i/half), computed in float64 (PoseGen's and PoseAnything's precision)."""
    half = dim // 2
    position = t.to(torch.float64)
    freqs = torch.pow(10000, -torch.arange(half, dtype=torch.float64, device=t.device).div(half))
    angles = torch.outer(position, freqs)
    return torch.cat([torch.cos(angles), torch.sin(angles)], dim=1)
