"""Reading a PoseGen checkpoint (a shard folder or a converted file) into merged, bare Wan weights.

A checkpoint folder holds ``model_config.json`` and ``*.bin`` (or ``*.safetensors``) shards whose keys start
with ``pipe.dit.``; a converted checkpoint is one ``.safetensors`` file with merged bare keys and the config
in its metadata. Both end as a :class:`PoseGenCheckpoint`. Files are read through ComfyUI's own loader with
``weights_only`` (never unrestricted pickle).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..errors import PoseGenInputError
from ..wan.shards import CONFIG_FILE, TensorFileReader, default_reader, read_file, read_shards
from .config import PoseGenConfig, parse_config, read_config_file
from .lora_merge import LoraMergeError, merge_lora, split_base_and_lora

SHARD_SUFFIXES = (".bin", ".safetensors", ".pt", ".pth")
VARIANTS = ("base", "cond")

# metadata keys of a converted single-file checkpoint
META_FORMAT = "posegen_format"
META_CONFIG = "posegen_model_config"
META_VARIANT = "posegen_variant"
META_SOURCE = "posegen_source"

_VARIANT_IN_NAME = re.compile(r"(?:^|[-_.])(base|cond)(?:$|[-_.])", re.IGNORECASE)


@dataclass
class PoseGenCheckpoint:
    config: PoseGenConfig
    state_dict: dict[str, torch.Tensor]
    variant: str | None  # "base" (segments), "cond" (transitions) or None when the files do not say
    source: Path
    lora_targets: list[str] = field(default_factory=list)


def variant_from_name(name: str) -> str | None:
    found = {m.lower() for m in _VARIANT_IN_NAME.findall(name)}
    return found.pop() if len(found) == 1 else None


def shard_files(folder: Path, input_name: str) -> list[Path]:
    """The weight shards of a checkpoint folder, in PoseGen's load order (sorted by name)."""
    shards = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in SHARD_SUFFIXES)
    if not shards:
        raise PoseGenInputError(input_name, f"folder '{folder.name}' holds no weight shards.",
                                f"*.bin or *.safetensors shards next to {CONFIG_FILE}")
    for index_file in folder.glob("*.index.json"):
        _check_shard_index(index_file, input_name)
    return shards


def _check_shard_index(index_file: Path, input_name: str) -> None:
    try:
        weight_map = json.loads(index_file.read_text(encoding="utf-8")).get("weight_map", {})
    except (json.JSONDecodeError, AttributeError) as exc:
        raise PoseGenInputError(input_name, f"shard index '{index_file.name}' is not valid JSON.") from exc
    missing = sorted({f for f in weight_map.values() if not (index_file.parent / f).is_file()})
    if missing:
        raise PoseGenInputError(input_name, f"shard(s) {missing} listed in '{index_file.name}' are missing.",
                                "every shard of the checkpoint in the folder")


def load_checkpoint(path: Path, input_name: str = "checkpoint", reader: TensorFileReader = default_reader,
                    progress: Callable[[int, int], None] | None = None) -> PoseGenCheckpoint:
    """Load a checkpoint folder or converted file and merge its LoRA exactly as PoseGen does.

    ``progress(done, total)`` is called after each file is read (shards of a 14B model take minutes).
    """
    path = Path(path)
    if path.is_dir():
        config = read_config_file(path / CONFIG_FILE, input_name)
        raw = read_shards(shard_files(path, input_name), reader, input_name, progress)
        variant = variant_from_name(path.name)
    elif path.is_file():
        raw, metadata = read_file(path, reader, input_name)
        metadata = metadata or {}
        if META_CONFIG not in metadata:
            raise PoseGenInputError(input_name, f"'{path.name}' is {describe_foreign_weights(raw)}, with no PoseGen "
                                    "model config in its metadata.",
                                    "a PoseGen checkpoint folder or a file written by ConvertPoseGenCheckpoint")
        try:
            config = parse_config(json.loads(metadata[META_CONFIG]), input_name)
        except json.JSONDecodeError as exc:
            raise PoseGenInputError(input_name, f"'{path.name}' has a damaged model config in its metadata.") from exc
        variant = metadata.get(META_VARIANT) or variant_from_name(path.stem)
    else:
        raise PoseGenInputError(input_name, f"'{path}' does not exist.", "a checkpoint folder or .safetensors file")

    try:
        base, lora = split_base_and_lora(raw)
        targets = merge_lora(base, lora)
    except LoraMergeError as exc:
        raise PoseGenInputError(input_name, f"LoRA merge failed: {exc}.") from exc
    return PoseGenCheckpoint(config=config, state_dict=base, variant=variant, source=path, lora_targets=targets)


def describe_foreign_weights(state_dict: dict[str, torch.Tensor]) -> str:
    """What a non-PoseGen weight file most likely is, so the error says what was picked by mistake."""
    keys = {k.removeprefix("model.diffusion_model.").removeprefix("diffusion_model.") for k in state_dict}
    patch = next((state_dict[k] for k in state_dict if k.endswith("patch_embedding.weight")
                  and not k.endswith(("ref_patch_embedding.weight", "hand_patch_embedding.weight"))), None)
    if "head.modulation" not in keys or patch is None:
        return "not a Wan diffusion model"
    if "img_emb.proj.0.bias" not in keys:
        return f"a plain Wan2.1 text-to-video (T2V) model ({patch.shape[1]}-channel patch embedding, no CLIP input)"
    if "ref_patch_embedding.weight" not in keys:
        return "a plain Wan2.1 image-to-video model without PoseGen's reference embedding"
    return "a PoseGen-like Wan model"


def resolve_variant(requested: str, detected: str | None, input_name: str = "variant") -> str:
    """The variant to run: the user's choice, which must agree with what the files say."""
    if requested == "auto":
        return detected or "base"
    if requested not in VARIANTS:
        raise PoseGenInputError(input_name, f"'{requested}' is not a PoseGen variant.", f"one of {VARIANTS} or auto")
    if detected is not None and detected != requested:
        raise PoseGenInputError(
            input_name, f"'{requested}' was requested but the checkpoint is the '{detected}' variant "
            f"({'transition' if detected == 'cond' else 'segment'} model).",
            f"variant '{detected}' or a '{requested}' checkpoint")
    return requested
