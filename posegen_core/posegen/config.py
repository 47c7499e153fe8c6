"""PoseGen's ``model_config.json``: parsing, validation and the ComfyUI ``unet_config`` it implies."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import PoseGenInputError
from ..wan.config import SIZE_KEYS, WanSizes, sizes_from_json, wan_unet_config

LATENT_CHANNELS = 16  # Wan 2.1 VAE latent channels
MASK_CHANNELS = 4  # the I2V frame mask: 4 pixel frames per latent frame
I2V_IN_DIM = LATENT_CHANNELS + MASK_CHANNELS + LATENT_CHANNELS  # noisy | mask | pose latent

_KNOWN_KEYS = set(SIZE_KEYS) | {
    "eps",
    "patch_size",
    "has_image_input",
    "has_image_pos_emb",
    "shift_ref_pos",
    "use_hand",
    "use_hand_proj",
    "kvshare_kwargs",  # injected by PoseGen's loader, never in the released JSON; ignored here
}


@dataclass(frozen=True)
class PoseGenConfig(WanSizes):
    """Constructor arguments of PoseGen's ``WanModel`` (§1.3)."""

    has_image_input: bool = True
    has_image_pos_emb: bool = False
    shift_ref_pos: bool = False
    use_hand: bool = True
    use_hand_proj: bool = False

    def to_json_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["patch_size"] = list(self.patch_size)
        return out

    def comfy_unet_config(self) -> dict[str, Any]:
        """Keyword arguments for ComfyUI's ``WanModel`` (sizes taken from the checkpoint, never assumed)."""
        return wan_unet_config(self, "i2v" if self.has_image_input else "t2v")


def parse_config(raw: dict[str, Any], input_name: str = "checkpoint") -> PoseGenConfig:
    """Validate a ``model_config.json`` dict and turn it into a :class:`PoseGenConfig`."""
    if not isinstance(raw, dict):
        raise PoseGenInputError(input_name, "model_config.json is not a JSON object.")
    unknown = sorted(set(raw) - _KNOWN_KEYS)
    if unknown:
        raise PoseGenInputError(
            input_name, f"model_config.json has keys PoseGen's WanModel does not take: {unknown}.",
            f"only {sorted(_KNOWN_KEYS - {'kvshare_kwargs'})}",
        )
    cfg = PoseGenConfig(
        **sizes_from_json(raw, input_name),
        has_image_input=bool(raw.get("has_image_input", True)),
        has_image_pos_emb=bool(raw.get("has_image_pos_emb", False)),
        shift_ref_pos=bool(raw.get("shift_ref_pos", False)),
        use_hand=bool(raw.get("use_hand", True)),
        use_hand_proj=bool(raw.get("use_hand_proj", False)),
    )
    _check_architecture(cfg, input_name)
    return cfg


def _check_architecture(cfg: PoseGenConfig, input_name: str) -> None:
    if not cfg.has_image_input or cfg.in_dim != I2V_IN_DIM:
        raise PoseGenInputError(
            input_name,
            f"this is a text-to-video (T2V) Wan model (has_image_input={cfg.has_image_input}, in_dim={cfg.in_dim}).",
            f"a PoseGen checkpoint built on Wan2.1-I2V (has_image_input=true, in_dim={I2V_IN_DIM})",
        )
    if cfg.out_dim != LATENT_CHANNELS:
        raise PoseGenInputError(input_name, f"out_dim is {cfg.out_dim}.", f"{LATENT_CHANNELS} (Wan 2.1 latents)")
    if cfg.has_image_pos_emb:
        # PoseGen feeds 257 CLIP tokens; a 514-token FLF2V position table cannot broadcast onto them (§1.3).
        raise PoseGenInputError(input_name, "has_image_pos_emb=true is the FLF2V layout, which PoseGen cannot run.",
                                "has_image_pos_emb=false")
    cfg.check_heads(input_name)


def read_config_file(path: Path, input_name: str = "checkpoint") -> PoseGenConfig:
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PoseGenInputError(input_name, f"'{path}' is missing.",
                                "a PoseGen checkpoint folder holding model_config.json") from exc
    except json.JSONDecodeError as exc:
        raise PoseGenInputError(input_name, f"'{path}' is not valid JSON ({exc}).") from exc
    return parse_config(raw, input_name)
