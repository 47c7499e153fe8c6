"""The Wan DiT sizes PoseGen's and PoseAnything's configs share, and ComfyUI's ``WanModel`` arguments from them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import PoseGenInputError


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

    def check_heads(self, input_name: str) -> None:
        """The heads must split ``dim`` evenly and carry Wan's 3-axis RoPE (an even width of at least 6)."""
        if self.dim % self.num_heads:
            raise PoseGenInputError(input_name, f"dim {self.dim} is not divisible by num_heads {self.num_heads}.")
        if self.head_dim % 2 or self.head_dim < 6:
            raise PoseGenInputError(input_name, f"head dim {self.head_dim} cannot carry 3-axis RoPE.",
                                    "an even head dim of at least 6")


SIZE_KEYS = ("dim", "in_dim", "ffn_dim", "out_dim", "text_dim", "freq_dim", "num_heads", "num_layers")


def sizes_from_json(raw: dict[str, Any], input_name: str) -> dict[str, Any]:
    """The :class:`WanSizes` fields of a ``model_config.json`` dict, validated (constructor keyword arguments)."""
    missing = [k for k in SIZE_KEYS if k not in raw]
    if missing:
        raise PoseGenInputError(input_name, f"model_config.json lacks {missing}.")
    for key in SIZE_KEYS:
        value = raw[key]
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise PoseGenInputError(input_name, f"model_config.json '{key}' is {value!r}.", "a positive integer")
    patch = tuple(raw.get("patch_size", (1, 2, 2)))
    if len(patch) != 3 or not all(isinstance(p, int) and p > 0 for p in patch):
        raise PoseGenInputError(input_name, f"model_config.json 'patch_size' is {raw.get('patch_size')!r}.",
                                "three positive integers")
    return {**{k: raw[k] for k in SIZE_KEYS}, "eps": float(raw.get("eps", 1e-6)), "patch_size": patch}


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
