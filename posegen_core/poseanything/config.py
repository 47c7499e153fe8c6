"""PoseAnything's DiT configuration: from its ``model_config.json`` (DiffSynth constructor arguments) or, for the
released shards that come without one, from the tensor shapes; and the ComfyUI ``unet_config`` it implies.

The released checkpoints are Wan2.2-TI2V-5B with a 96-channel patch embedding (noisy latent | skeleton latent) and,
in the PTCM variant, a part cross-attention (``cross_attn_instance``) and ``norm4`` in every block (§1).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from ..errors import PoseGenInputError
from ..wan.config import SIZE_KEYS, WanSizes, sizes_from_json, wan_unet_config
from ..wan.shards import CONFIG_FILE

WAN22_LATENT_CHANNELS = 48  # Wan 2.2 VAE (TI2V-5B)
RELEASED_HEAD_DIM = 128  # every released Wan model; only used when no config file says otherwise
PTCM_KEY_MARK = ".cross_attn_instance."

_KNOWN_KEYS = set(SIZE_KEYS) | {
    "eps", "patch_size", "has_image_input", "seperated_timestep", "require_clip_embedding", "require_vae_embedding",
    "fuse_vae_embedding_in_latents", "ptc_enabled", "has_image_pos_emb", "has_ref_conv", "add_control_adapter",
    "in_dim_control_adapter",
}


@dataclass(frozen=True)
class PoseAnythingConfig(WanSizes):
    ptc_enabled: bool = True

    @property
    def skeleton_channels(self) -> int:
        return self.in_dim - self.out_dim

    @property
    def variant(self) -> str:
        return "ptcm" if self.ptc_enabled else "plain"

    def to_json_dict(self) -> dict[str, Any]:
        """DiffSynth's constructor arguments, as PoseAnything's ``model_config.json`` holds them."""
        out = asdict(self)
        out["patch_size"] = list(self.patch_size)
        out.update(has_image_input=False, seperated_timestep=True, require_clip_embedding=False,
                   require_vae_embedding=False, fuse_vae_embedding_in_latents=True)
        return out

    def comfy_unet_config(self) -> dict[str, Any]:
        """Keyword arguments for ComfyUI's ``WanModel`` (Wan 2.2 5B layout: text-only cross-attention)."""
        return wan_unet_config(self, "t2v")


def parse_config(raw: dict[str, Any], input_name: str = "checkpoint") -> PoseAnythingConfig:
    """Validate a PoseAnything ``model_config.json`` dict."""
    if not isinstance(raw, dict):
        raise PoseGenInputError(input_name, "model_config.json is not a JSON object.")
    unknown = sorted(set(raw) - _KNOWN_KEYS)
    if unknown:
        raise PoseGenInputError(input_name, f"model_config.json has keys PoseAnything's WanModel does not take: "
                                f"{unknown}.")
    if raw.get("has_image_input") or not raw.get("fuse_vae_embedding_in_latents", True):
        raise PoseGenInputError(input_name, "model_config.json describes an image-embedding Wan model.",
                                "PoseAnything's TI2V layout (has_image_input false, first frame fused in the latent)")
    config = PoseAnythingConfig(**sizes_from_json(raw, input_name), ptc_enabled=bool(raw.get("ptc_enabled", False)))
    check_architecture(config, input_name)
    return config


def check_architecture(config: PoseAnythingConfig, input_name: str = "checkpoint") -> None:
    if config.in_dim != 2 * config.out_dim:
        raise PoseGenInputError(input_name, f"in_dim {config.in_dim} with out_dim {config.out_dim}: this is not a "
                                "skeleton-conditioned model.", "in_dim = 2 x out_dim (noisy latent | skeleton latent)")
    config.check_heads(input_name)


def read_config_file(path: Path, input_name: str = "checkpoint") -> PoseAnythingConfig:
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise PoseGenInputError(input_name, f"'{Path(path).name}' is not valid JSON ({exc.msg}).") from exc
    return parse_config(raw, input_name)


def infer_config(state_dict: dict[str, torch.Tensor], input_name: str = "checkpoint") -> PoseAnythingConfig:
    """The config a state dict implies (the released shards ship without one). Sizes come from the shapes; the
    head count does not show in any shape, so it follows the released models' 128-wide heads."""
    try:
        patch = state_dict["patch_embedding.weight"]
        head = state_dict["head.head.weight"]
        ffn = state_dict["blocks.0.ffn.0.weight"]
        text = state_dict["text_embedding.0.weight"]
        time = state_dict["time_embedding.0.weight"]
    except KeyError as exc:
        raise PoseGenInputError(input_name, f"the weights lack '{exc.args[0]}'.", "a Wan DiT state dict") from None
    dim, in_dim, *kernel = patch.shape
    out_dim = head.shape[0] // (kernel[0] * kernel[1] * kernel[2])
    layers = 1 + max(int(k.split(".")[1]) for k in state_dict if k.startswith("blocks."))
    if dim % RELEASED_HEAD_DIM:
        raise PoseGenInputError(input_name, f"dim {dim} is not a multiple of {RELEASED_HEAD_DIM}, so the head count "
                                "cannot be inferred.", f"a {CONFIG_FILE} next to the weights")
    config = PoseAnythingConfig(
        dim=dim, in_dim=in_dim, ffn_dim=ffn.shape[0], out_dim=out_dim, text_dim=text.shape[1], freq_dim=time.shape[1],
        num_heads=dim // RELEASED_HEAD_DIM, num_layers=layers, patch_size=tuple(kernel),  # type: ignore[arg-type]
        ptc_enabled=any(PTCM_KEY_MARK in k for k in state_dict))
    check_architecture(config, input_name)
    return config
