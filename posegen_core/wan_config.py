"""The Wan DiT sizes PoseGen's and PoseAnything's configs share, and ComfyUI's ``WanModel`` arguments from them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class WanSizes:
    """Sizes of a Wan DiT as a checkpoint's config gives them (never assumed)."""

    dim: int
    in_dim: int
    ffn_dim: int
    out_dim: int
    text_dim: int
    freq_dim: int
    num_heads: int
    num_layers: int
    eps: float = 1e-6
    patch_size: tuple[int, int, int] = (1, 2, 2)

    @property
    def head_dim(self) -> int:
        return self.dim // self.num_heads

    @property
    def latent_channels(self) -> int:
        return self.out_dim


def wan_unet_config(sizes: WanSizes, model_type: str) -> dict[str, Any]:
    """``model_type`` ``i2v`` adds the CLIP image branch of cross-attention; ``t2v`` is text only (Wan 2.2 5B)."""
    return {
        "image_model": "wan2.1",
        "model_type": model_type,
        "patch_size": tuple(sizes.patch_size),
        "in_dim": sizes.in_dim,
        "dim": sizes.dim,
        "ffn_dim": sizes.ffn_dim,
        "freq_dim": sizes.freq_dim,
        "text_dim": sizes.text_dim,
        "out_dim": sizes.out_dim,
        "num_heads": sizes.num_heads,
        "num_layers": sizes.num_layers,
        "window_size": (-1, -1),
        "qk_norm": True,
        "cross_attn_norm": True,
        "eps": sizes.eps,
    }
