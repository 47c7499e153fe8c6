"""PoseAnything's DiT forward over the modules of ComfyUI's own Wan 2.2 ``WanModel`` (§2.5-2.6, §3.7).

Installed as an object patch on ``diffusion_model._forward``, so ComfyUI's wrappers, weight casting, LoRA patches
and offloading still apply. What differs from ComfyUI's stock Wan 2.2 forward, all taken from PoseAnything:

- the timestep is per latent frame (0 on the first-frame latent), embedded in float64 and used per token for the
  block and head modulation;
- LayerNorms run in float32 and RMSNorm normalises in float32 before its weight (reference numerics);
- inside every block, between the text cross-attention and the FFN, the part cross-attention (PTCM) adds
  ``o(sum_j attn(q(R*u_j), k(F0*m_j), v(F0*m_j)))`` to the tokens of latent frames 1.. when a
  :class:`~.ptcm.PTCMContext` is active, masking by zeroing the inputs as released;
- an :class:`~.ptcm.AttentionCapture` re-applies one block's self-attention to its own output and keeps the
  frame-0-query attention probabilities (the correspondence pre-pass).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from ..errors import PoseGenInputError
from ..wan.numerics import rope_dtype
from ..wan.ops import apply_rope, attention, cast_param, layer_norm, patch_embed, rms_norm, sinusoidal_embedding
from ..wan.rope import video_rope
from ..wan.run_cache import cached
from .config import PoseAnythingConfig
from .ptcm import CAPTURE_KEY, PTCM_KEY, AttentionCapture, CaptureComplete, PTCMContext


def frame_time_embedding(wan: nn.Module, t_frames: torch.Tensor, dtype: torch.dtype,
                         ) -> tuple[torch.Tensor, torch.Tensor]:
    """``e`` [B, T, D] (head) and ``e6`` [B, T, 6, D] (blocks) for a per-latent-frame timestep [B, T]."""
    b, frames = t_frames.shape
    flat = t_frames.reshape(-1).to(dtype)  # the reference embeds bf16(t) when running in bf16
    e = wan.time_embedding(sinusoidal_embedding(wan.freq_dim, flat).to(dtype))
    e6 = wan.time_projection(e).unflatten(1, (6, wan.dim))
    return e.view(b, frames, -1), e6.view(b, frames, 6, -1)


def per_frame(x: torch.Tensor, frames: int) -> torch.Tensor:
    """Tokens [B, T·N, D] seen as [B, T, N, D], so per-frame modulation broadcasts over a frame's tokens."""
    return x.view(x.shape[0], frames, -1, x.shape[-1])


def modulate_frames(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    frames = shift.shape[1]
    return (per_frame(x, frames) * (1 + scale) + shift).flatten(1, 2)


def gated(y: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
    return (per_frame(y, gate.shape[1]) * gate).flatten(1, 2)


def self_attention_qkv(attn: nn.Module, a: torch.Tensor, rope: torch.Tensor,
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    b, s = a.shape[:2]
    n, d = attn.num_heads, attn.head_dim
    q = apply_rope(rms_norm(attn.norm_q, attn.q(a)).view(b, s, n, d), rope).view(b, s, n * d)
    k = apply_rope(rms_norm(attn.norm_k, attn.k(a)).view(b, s, n, d), rope).view(b, s, n * d)
    return q, k, attn.v(a)


def text_cross_attention(attn: nn.Module, x: torch.Tensor, context: torch.Tensor, transformer_options: dict,
                         ) -> torch.Tensor:
    q = rms_norm(attn.norm_q, attn.q(x))
    k = rms_norm(attn.norm_k, attn.k(context))
    return attn.o(attention(q, k, attn.v(context), attn.num_heads, transformer_options))


def part_cross_attention(block: nn.Module, x: torch.Tensor, part_masks: tuple[torch.Tensor, torch.Tensor],
                         tokens_per_frame: int, transformer_options: dict) -> torch.Tensor:
    """PTCM's output for the tokens of latent frames 1.. ([B, (T-1)·N, D]). Masks zero the inputs: masked-out
    queries still attend (with the bias-only query) and masked-out keys form a pool of identical null keys."""
    inst = block.cross_attn_instance
    y = layer_norm(block.norm4, x)
    first, rest = y[:, :tokens_per_frame], y[:, tokens_per_frame:]
    query_masks, key_masks = part_masks  # PTCMContext.token_masks, made once per forward
    total = None
    for u, m in zip(query_masks, key_masks, strict=True):
        keys_in = first * m[None, :, None]
        q = rms_norm(inst.norm_q, inst.q(rest * u[None, :, None]))
        k = rms_norm(inst.norm_k, inst.k(keys_in))
        out = attention(q, k, inst.v(keys_in), inst.num_heads, transformer_options)
        total = out if total is None else total + out
    return inst.o(total)  # summed before the single output projection: its bias is added once


def capture_frame0_attention(block: nn.Module, x: torch.Tensor, e6: torch.Tensor, rope: torch.Tensor,
                             tokens_per_frame: int, batch_index: int) -> torch.Tensor:
    """The block's self-attention re-applied to ``x``: softmax(q_frame0 kᵀ / sqrt(d)) per head, [1, H, N, L]."""
    table = cast_param(block.modulation, x)
    shift, scale = (table.unsqueeze(1)[:, :, :2] + e6[batch_index:batch_index + 1, :, :2]).unbind(2)
    a = modulate_frames(layer_norm(block.norm1, x[batch_index:batch_index + 1]), shift.unsqueeze(2),
                        scale.unsqueeze(2))
    attn = block.self_attn
    q, k, _ = self_attention_qkv(attn, a, rope)
    n, d = attn.num_heads, attn.head_dim
    q0 = q[:, :tokens_per_frame].view(1, tokens_per_frame, n, d).transpose(1, 2)
    keys = k.view(1, -1, n, d).transpose(1, 2)
    scores = q0 @ keys.transpose(-1, -2) / math.sqrt(d)
    return scores.softmax(dim=-1)


def poseanything_block(block: nn.Module, x: torch.Tensor, e6: torch.Tensor, rope: torch.Tensor,
                       context: torch.Tensor, transformer_options: dict,
                       part_masks: tuple[torch.Tensor, torch.Tensor] | None, tokens_per_frame: int) -> torch.Tensor:
    """One Wan 2.2 block with per-frame modulation and, when given, PTCM between cross-attention and FFN."""
    table = cast_param(block.modulation, x)
    shift1, scale1, gate1, shift2, scale2, gate2 = (table.unsqueeze(1) + e6).unsqueeze(3).unbind(2)
    q, k, v = self_attention_qkv(block.self_attn, modulate_frames(layer_norm(block.norm1, x), shift1, scale1), rope)
    x = x + gated(block.self_attn.o(attention(q, k, v, block.self_attn.num_heads, transformer_options)), gate1)
    x = x + text_cross_attention(block.cross_attn, layer_norm(block.norm3, x), context, transformer_options)
    if part_masks is not None:
        update = part_cross_attention(block, x, part_masks, tokens_per_frame, transformer_options)
        x = torch.cat([x[:, :tokens_per_frame], x[:, tokens_per_frame:] + update], dim=1)
    y = block.ffn(modulate_frames(layer_norm(block.norm2, x), shift2, scale2))
    return x + gated(y, gate2)


def frame_timesteps(timestep: torch.Tensor, batch: int, frames: int) -> torch.Tensor:
    """ComfyUI hands a [B] timestep, or [B, T] from WAN22's noise mask (0 on the first-frame latent)."""
    t = timestep.reshape(timestep.shape[0], -1) if timestep.dim() > 1 else timestep[:, None]
    if t.shape[1] == 1:
        t = t.expand(-1, frames)
    if t.shape[1] != frames:
        raise ValueError(f"timestep has {t.shape[1]} frames for a latent of {frames}")
    return t.expand(batch, -1) if t.shape[0] == 1 else t


def positive_index(transformer_options: dict) -> int:
    """Batch position of the positive (cond) branch in this call (ComfyUI may batch cond and uncond)."""
    order = transformer_options.get("cond_or_uncond") or [0]
    if 0 not in order:
        raise ValueError("attention capture needs the positive branch in this call")
    return order.index(0)


def poseanything_forward(
    wan: nn.Module,
    config: PoseAnythingConfig,
    x: torch.Tensor,
    timestep: torch.Tensor,
    context: torch.Tensor,
    clip_fea: torch.Tensor | None = None,
    time_dim_concat: torch.Tensor | None = None,
    transformer_options: dict | None = None,
    **kwargs: Any,
) -> torch.Tensor:
    """Replacement for ``WanModel._forward``: ``x`` is ``[noisy latent | skeleton latent]`` (96 channels)."""
    import comfy.ldm.common_dit

    transformer_options = transformer_options or {}
    if time_dim_concat is not None:
        # the sampler's conditioning reaches the model here; "positive" is the sampler input that carries it
        raise PoseGenInputError("positive", "the PoseAnything model does not support time_dim_concat conditioning.",
                                "conditioning built with PoseAnything Conditioning")
    if x.shape[1] != config.in_dim:
        raise PoseGenInputError("positive", f"the PoseAnything model got {x.shape[1]} input channels.",
                                f"{config.in_dim} (latent | skeleton latent): conditioning built with PoseAnything "
                                "Conditioning")
    batch, _, frames, h, w = x.shape
    dtype = x.dtype
    x = comfy.ldm.common_dit.pad_to_patch_size(x, wan.patch_size)
    tokens = patch_embed(wan.patch_embedding, x)
    grid = tuple(tokens.shape[2:])
    tokens = tokens.flatten(2).transpose(1, 2).contiguous()  # token-major: elementwise ops keep their layout
    tokens_per_frame = grid[1] * grid[2]

    e, e6 = frame_time_embedding(wan, frame_timesteps(timestep, batch, grid[0]), dtype)
    context = wan.text_embedding(context)

    table_dtype = rope_dtype(transformer_options)
    rope = cached(transformer_options, ("rope", grid, config.head_dim, x.device, table_dtype),
                  lambda: video_rope(grid, config.head_dim, x.device, table_dtype))

    ptcm: PTCMContext | None = transformer_options.get(PTCM_KEY)
    part_masks = None
    if ptcm is not None:
        ptcm.check_grid(*grid)
        if ptcm.is_active(transformer_options):
            part_masks = ptcm.token_masks(x.device, dtype)
    capture: AttentionCapture | None = transformer_options.get(CAPTURE_KEY)
    if capture is not None and not capture.wanted(transformer_options):
        capture = None

    for i, block in enumerate(wan.blocks):
        tokens = poseanything_block(block, tokens, e6, rope, context, transformer_options, part_masks,
                                    tokens_per_frame)
        if capture is not None and i == capture.block:
            capture.probs = capture_frame0_attention(block, tokens, e6, rope, tokens_per_frame,
                                                     positive_index(transformer_options))
            raise CaptureComplete()

    head_table = cast_param(wan.head.modulation, tokens)
    shift, scale = (head_table.unsqueeze(1) + e.unsqueeze(2)).unsqueeze(3).unbind(2)
    out = wan.head.head(modulate_frames(layer_norm(wan.head.norm, tokens), shift, scale))
    return wan.unpatchify(out, grid)[:, :, :frames, :h, :w]
