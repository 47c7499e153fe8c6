"""Arithmetic of a Wan 2.1 I2V forward: FLOPs (2 per multiply-add) and the live activations of one block.

Counts the matrix products only (projections, attention, FFN, embeddings, head); norms, modulation and RoPE are
elementwise and left out, as FLOP counts usually do. PoseGen's reference tokens join self-attention and the FFN but
not cross-attention (docs/method/posegen.md §2.4-2.6).
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class WanShape:
    dim: int
    ffn: int
    heads: int
    layers: int
    video_tokens: int
    reference_tokens: int
    in_channels: int = 36
    out_channels: int = 16
    patch: int = 4  # 1 x 2 x 2

    @property
    def self_tokens(self) -> int:
        return self.video_tokens + self.reference_tokens

    def with_video_tokens(self, tokens: int) -> WanShape:
        return replace(self, video_tokens=tokens)


def forward_flops(shape: WanShape, text_tokens: int, clip_tokens: int, reference: bool, text_dim: int = 64) -> float:
    """FLOPs of one forward, batch 1. ``reference``: PoseGen's (video + reference tokens in self-attention and FFN);
    otherwise ComfyUI's Wan on the video tokens alone. ``text_dim`` is the text encoder's width (4096 for umT5)."""
    d, f, n = shape.dim, shape.ffn, shape.video_tokens
    s = shape.self_tokens if reference else n
    context = text_tokens + clip_tokens
    per_block = (4 * s * d * d  # q, k, v, o
                 + 2 * s * s * d  # scores and weighted values
                 + 2 * n * d * d  # cross-attention q and o (video tokens only)
                 + 4 * context * d * d  # k, v of the text and of the CLIP tokens
                 + 2 * n * context * d  # cross-attention scores and values
                 + 2 * s * d * f)  # FFN
    embed = (shape.in_channels * shape.patch * d * n + (16 * shape.patch * d * (n + shape.reference_tokens)
                                                         if reference else 0)
             + text_tokens * (text_dim * d + d * d) + clip_tokens * (1280 * 1280 + 1280 * d)
             + n * d * shape.out_channels * shape.patch)
    return 2.0 * (shape.layers * per_block + embed)


def block_peak_bytes(shape: WanShape, batch: int, element: int, rope_element: int) -> dict[str, int]:
    """Activation bytes one PoseGen block holds at the peak of each phase (weights and the text context excluded):

    - ``qkv``: the residual, the joint modulated input, q, and k while it is rotated: RoPE makes k in the table's
      dtype (a cast copy first when that differs from the activations'), then casts the result back;
    - ``attention``: the residual, q, k, v and the attention's output;
    - ``ffn``: the residual, the joint modulated input, the hidden layer before and after the GELU.
    """
    s, d = shape.self_tokens, shape.dim
    rope = rope_element + (rope_element + element if rope_element != element else 0)
    phases = {"qkv": batch * s * d * (4 * element + rope),
              "attention": batch * s * d * 5 * element,
              "ffn": batch * s * (2 * d + 2 * shape.ffn) * element}
    return {**phases, "block": max(phases.values())}
