"""PoseGen's DiT forward, run over the modules of ComfyUI's own ``WanModel`` (§2).

Installed as an object patch on ``diffusion_model._forward`` (see ``comfy_model``), so ComfyUI's
``DIFFUSION_MODEL`` wrappers, weight casting, LoRA patches and offloading all still apply. Differences from
ComfyUI's stock Wan forward, all taken from PoseGen:

- reference tokens (``ref_patch_embedding`` of the clean reference latent) join the video tokens in
  self-attention, with their own AdaLN modulation from t = 0 and RoPE positions of latent frame 0;
  they skip cross-attention, go through the FFN, and are dropped before the head;
- hand-normal latents are patch-embedded and added to the video tokens;
- the timestep is rounded to the compute dtype and embedded in float64;
- RoPE tables, RMSNorm, modulation and gates follow ComfyUI's Wan (float32 tables, fused ops) or, with
  ``reference`` numerics, PoseGen's code (float64 RoPE, RMSNorm normalising in float32 before its weight, separate
  ops; ``wan.numerics``);
- the RoPE tables and the reference's t = 0 modulation are made once per sampling run (``wan.run_cache``);
- in KV-shared blocks each query runs one attention, its own or the anchor's (``attend_split``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from ..errors import PoseGenInputError
from ..wan.numerics import NUMERICS, Numerics, numerics_of
from ..wan.ops import apply_rope, attention, cast_param, patch_embed, sinusoidal_embedding
from ..wan.rope import video_and_reference_rope
from ..wan.run_cache import cached
from .attention_hooks import KVSHARE_KEY, AttentionHook
from .config import PoseGenConfig

NATIVE = NUMERICS["native"]


def time_modulation(wan: nn.Module, t: torch.Tensor, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """``e`` (time embedding, for the head) and ``e6`` (per-block modulation offsets, [B, 6, D])."""
    t = t.to(dtype)  # PoseGen embeds bf16(1000·sigma) when running in bf16
    e = wan.time_embedding(sinusoidal_embedding(wan.freq_dim, t).to(dtype))
    e6 = wan.time_projection(e).unflatten(1, (6, wan.dim))
    return e, e6


def joint_modulated(num: Numerics, norm: nn.Module, video: torch.Tensor, ref: torch.Tensor,
                    video_shift_scale: tuple[torch.Tensor, torch.Tensor],
                    ref_shift_scale: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """``[video ; reference]`` normed and modulated, each with its own shift and scale, as one tensor: the
    projections that follow (self-attention's Q/K/V, the FFN) then run once over all tokens."""
    batch, n_video = video.shape[:2]
    a_ref = norm(ref).expand(batch, -1, -1)
    if torch.is_grad_enabled():  # out= does not record a graph
        return torch.cat([num.modulate(norm(video), *video_shift_scale),
                          num.modulate(a_ref, *ref_shift_scale)], dim=1)
    joint = video.new_empty(batch, n_video + ref.shape[1], video.shape[2])
    num.modulate_into(joint[:, :n_video], norm(video), *video_shift_scale)
    num.modulate_into(joint[:, n_video:], a_ref, *ref_shift_scale)
    return joint


def joint_qkv(attn: nn.Module, x: torch.Tensor, rope: torch.Tensor, num: Numerics = NATIVE,
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Q, K (normed, rotated) and V of ``x = [video ; reference]`` with the shared weights (§2.5), heads packed."""
    b, s = x.shape[:2]
    n, d = attn.num_heads, attn.head_dim
    q = apply_rope(num.rms_norm(attn.norm_q, attn.q(x)).view(b, s, n, d), rope).view(b, s, n * d)
    k = apply_rope(num.rms_norm(attn.norm_k, attn.k(x)).view(b, s, n, d), rope).view(b, s, n * d)
    return q, k, attn.v(x)


def attend(attn: nn.Module, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, transformer_options: dict,
           ) -> torch.Tensor:
    """Bidirectional attention, no mask, then the output projection."""
    return attn.o(attention(q, k, v, attn.num_heads, transformer_options))


def own_none(tokens: int, device: torch.device) -> torch.Tensor:
    return torch.zeros(tokens, dtype=torch.bool, device=device)


def attend_split(attn: nn.Module, q: torch.Tensor, own_kv: tuple[torch.Tensor, torch.Tensor],
                 shared_kv: tuple[torch.Tensor, torch.Tensor], own: torch.Tensor, transformer_options: dict,
                 ) -> torch.Tensor:
    """KV-shared self-attention (§5.3): the tokens where ``own`` is True (the subject in either segment) attend to
    this call's K/V, all others (background, reference) to the anchor's. PoseGen computes both attentions for every
    token and keeps one; a query's attention does not depend on the other queries, so each query here runs only the
    one it keeps."""
    out = q.new_empty(q.shape)
    for rows, (k, v) in ((own.nonzero().squeeze(1), own_kv), ((~own).nonzero().squeeze(1), shared_kv)):
        if rows.numel() == q.shape[1]:
            out = attention(q, k, v, attn.num_heads, transformer_options)
        elif rows.numel():
            out[:, rows] = attention(q[:, rows], k, v, attn.num_heads, transformer_options)
    return attn.o(out)


def crossattention(
    attn: nn.Module, x: torch.Tensor, context: torch.Tensor, context_img_len: int, transformer_options: dict,
    on_query_keys: Callable[[torch.Tensor, torch.Tensor], None] | None = None, num: Numerics = NATIVE,
) -> torch.Tensor:
    """Video tokens attend to the text tokens and, separately, the CLIP tokens (§2.6). ``on_query_keys``
    sees the normed query and text keys (KV sharing builds its subject maps from them)."""
    image, text = context[:, :context_img_len], context[:, context_img_len:]
    q = num.rms_norm(attn.norm_q, attn.q(x))
    k_text = num.rms_norm(attn.norm_k, attn.k(text))
    if on_query_keys is not None:
        on_query_keys(q, k_text)
    out = attention(q, k_text, attn.v(text), attn.num_heads, transformer_options)
    out_img = attention(q, num.rms_norm(attn.norm_k_img, attn.k_img(image)), attn.v_img(image), attn.num_heads,
                         transformer_options)
    return attn.o(num.gated_add(out, out_img, owned=True))


def posegen_block(
    block: nn.Module,
    video: torch.Tensor,
    ref: torch.Tensor,
    e6: torch.Tensor,
    e6_ref: torch.Tensor,
    rope: torch.Tensor,
    context: torch.Tensor,
    context_img_len: int,
    transformer_options: dict,
    ref_needed_after: bool = True,
    kv: AttentionHook | None = None,
    index: int = 0,
    num: Numerics = NATIVE,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One Wan block on both streams (§2.4). ``ref_needed_after=False`` skips reference work whose
    result nothing reads (the last block). ``kv`` records or shares the anchor's K/V (§5.3)."""
    table = cast_param(block.modulation, video)
    shift1, scale1, gate1, shift2, scale2, gate2 = (table + e6).chunk(6, dim=1)
    r_shift1, r_scale1, r_gate1, r_shift2, r_scale2, r_gate2 = (table + e6_ref).chunk(6, dim=1)

    n_video = video.shape[1]
    attn = block.self_attn
    q, k, v = joint_qkv(attn, joint_modulated(num, block.norm1, video, ref, (shift1, scale1), (r_shift1, r_scale1)),
                        rope, num)
    if kv is not None:
        kv.after_qkv(index, k, v)
    shared = kv.shared_kv(index, k) if kv is not None else None
    if shared is None:
        out = attend(attn, q, k, v, transformer_options)
    else:
        own = torch.cat([kv.own_tokens(index, video.device), own_none(q.shape[1] - n_video, video.device)])
        out = attend_split(attn, q, (k, v), shared, own, transformer_options)
    video = num.gated_add(video, out[:, :n_video], gate1)  # a new tensor: the block's input is left as it was
    if ref_needed_after:
        ref = num.gated_add(ref, out[:, n_video:], r_gate1)

    on_query_keys = None
    if kv is not None and kv.wants_map(index):
        def on_query_keys(q_video: torch.Tensor, k_text: torch.Tensor) -> None:
            kv.after_cross_qk(index, q_video, k_text, attn.num_heads)

    video = num.gated_add(video, crossattention(block.cross_attn, block.norm3(video), context, context_img_len,
                                                transformer_options, on_query_keys, num), owned=True)
    if not ref_needed_after:
        video = num.gated_add(video, block.ffn(num.modulate(block.norm2(video), shift2, scale2, owned=True)), gate2,
                              owned=True)
        return video, ref
    hidden = block.ffn(joint_modulated(num, block.norm2, video, ref, (shift2, scale2), (r_shift2, r_scale2)))
    video = num.gated_add(video, hidden[:, :n_video], gate2, owned=True)
    ref = num.gated_add(ref, hidden[:, n_video:], r_gate2, owned=True)
    return video, ref


def _as_5d(latent: torch.Tensor) -> torch.Tensor:
    return latent.unsqueeze(2) if latent.dim() == 4 else latent


def posegen_forward(
    wan: nn.Module,
    config: PoseGenConfig,
    x: torch.Tensor,
    timestep: torch.Tensor,
    context: torch.Tensor,
    clip_fea: torch.Tensor | None = None,
    time_dim_concat: torch.Tensor | None = None,
    transformer_options: dict | None = None,
    **kwargs: Any,
) -> torch.Tensor:
    """Replacement for ``WanModel._forward``: ``x`` is ``[noisy | mask | pose latent]`` (36 channels)."""
    import comfy.ldm.common_dit

    transformer_options = transformer_options or {}
    ref_latent = kwargs.get("reference_latent")
    if ref_latent is None:
        # the sampler's conditioning reaches the model here; "positive" is the sampler input that carries it
        raise PoseGenInputError("positive", "the PoseGen model's conditioning has no reference latent.",
                                "conditioning built with PoseGen Conditioning")
    if clip_fea is None:
        raise PoseGenInputError("positive", "the PoseGen model's conditioning has no clip_vision_output (PoseGen is "
                                "image-to-video).", "conditioning built with PoseGen Conditioning")
    if time_dim_concat is not None:
        raise PoseGenInputError("positive", "the PoseGen model does not support time_dim_concat conditioning.",
                                "conditioning built with PoseGen Conditioning")
    hand_latent = kwargs.get("posegen_hand_latent")

    _, _, t, h, w = x.shape
    patch = wan.patch_size
    dtype = x.dtype
    x = comfy.ldm.common_dit.pad_to_patch_size(x, patch)
    ref_latent = comfy.ldm.common_dit.pad_to_patch_size(_as_5d(ref_latent).to(dtype), patch)

    video = patch_embed(wan.patch_embedding, x)
    if hand_latent is not None:
        video = video + patch_embed(wan.hand_patch_embedding, comfy.ldm.common_dit.pad_to_patch_size(
            hand_latent.to(dtype), patch))
    grid = tuple(video.shape[2:])
    video = video.flatten(2).transpose(1, 2).contiguous()  # token-major: elementwise ops keep their inputs' layout
    ref = patch_embed(wan.ref_patch_embedding, ref_latent)
    ref_grid = tuple(ref.shape[3:])
    ref = ref.flatten(2).transpose(1, 2).contiguous()

    e, e6 = time_modulation(wan, timestep, dtype)
    e6_ref = cached(transformer_options, ("reference modulation", dtype, x.device),
                    lambda: time_modulation(wan, torch.zeros(1, device=x.device), dtype)[1], depends_on_weights=True)

    context_img_len = clip_fea.shape[-2]
    context = torch.cat([wan.img_emb(clip_fea.to(dtype)), wan.text_embedding(context)], dim=1)
    num = numerics_of(transformer_options)
    head_dim, table_dtype = wan.dim // wan.num_heads, num.rope_dtype
    rope = cached(transformer_options, ("rope", grid, ref_grid, head_dim, config.shift_ref_pos, x.device, table_dtype),
                  lambda: video_and_reference_rope(grid, ref_grid, head_dim, config.shift_ref_pos, x.device,
                                                   table_dtype))

    kv_context = transformer_options.get(KVSHARE_KEY)
    kv = kv_context.forward_kv(transformer_options, grid) if kv_context is not None else None
    last = len(wan.blocks) - 1
    for i, block in enumerate(wan.blocks):
        video, ref = posegen_block(block, video, ref, e6, e6_ref, rope, context, context_img_len,
                                   transformer_options, ref_needed_after=i < last, kv=kv, index=i, num=num)

    head_table = cast_param(wan.head.modulation, video)
    shift, scale = (head_table + e.unsqueeze(1)).chunk(2, dim=1)
    out = wan.head.head(num.modulate(wan.head.norm(video), shift, scale, owned=True))
    return wan.unpatchify(out, grid)[:, :, :t, :h, :w]
