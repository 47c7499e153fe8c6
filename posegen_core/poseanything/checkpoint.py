"""Reading a PoseAnything checkpoint: the released shard folder, a single file, or our converted file.

The released folder (HF ``Ryan241005/PoseAnything`` → ``models/poseanything/Pony``) holds the top-level
``diffusion_pytorch_model-*.safetensors`` shards, read in name order and not recursively (its ``tiktok/`` subfolder
is a separate, PTCM-free checkpoint: a single file). Weights are safetensors only; key names are Wan's (ComfyUI's),
optionally behind ComfyUI's ``model.diffusion_model.`` prefix. The config comes from a ``model_config.json`` next to
the shards, from a converted file's metadata, or from the tensor shapes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import PoseGenInputError
from ..wan.shards import TensorFileReader, default_reader, read_shards
from ..wan.shards import read_file as read_weight_file
from .config import CONFIG_FILE, PoseAnythingConfig, infer_config, parse_config, read_config_file

SHARD_PREFIX = "diffusion_pytorch_model-"
META_FORMAT = "poseanything_format"
META_CONFIG = "poseanything_model_config"
META_SOURCE = "poseanything_source"
CONVERTED_FORMAT_VERSION = "1"
_PREFIXES = ("model.diffusion_model.", "diffusion_model.")


@dataclass
class PoseAnythingCheckpoint:
    config: PoseAnythingConfig
    state_dict: dict[str, torch.Tensor]
    source: Path


def shard_files(folder: Path, input_name: str = "checkpoint") -> list[Path]:
    shards = sorted(p for p in folder.iterdir()
                    if p.is_file() and p.name.startswith(SHARD_PREFIX) and p.suffix == ".safetensors")
    if not shards:
        raise PoseGenInputError(input_name, f"folder '{folder.name}' holds no {SHARD_PREFIX}*.safetensors shards.",
                                "the released PoseAnything folder (e.g. models/poseanything/Pony)")
    return shards


def _bare(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    for prefix in _PREFIXES:
        if any(k.startswith(prefix) for k in state_dict):
            return {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}
    return state_dict


def _check_safetensors(path: Path, input_name: str) -> None:
    if path.suffix != ".safetensors":
        raise PoseGenInputError(input_name, f"'{path.name}' is not a .safetensors file.",
                                "PoseAnything's safetensors weights (pickled files are not loaded)")


def load_checkpoint(path: Path, input_name: str = "checkpoint", reader: TensorFileReader = default_reader,
                    progress: Callable[[int, int], None] | None = None) -> PoseAnythingCheckpoint:
    """Read the weights and their config; ``progress(done, total)`` after each file."""
    path = Path(path)
    if path.is_dir():
        state_dict = _bare(read_shards(shard_files(path, input_name), reader, input_name, progress))
        config_file = path / CONFIG_FILE
        config = read_config_file(config_file, input_name) if config_file.is_file() else infer_config(state_dict,
                                                                                                      input_name)
    elif path.is_file():
        _check_safetensors(path, input_name)
        raw, metadata = read_weight_file(path, reader, input_name)
        if progress is not None:
            progress(1, 1)
        state_dict = _bare(raw)
        if metadata and META_CONFIG in metadata:
            try:
                config = parse_config(json.loads(metadata[META_CONFIG]), input_name)
            except json.JSONDecodeError as exc:
                raise PoseGenInputError(input_name, f"'{path.name}' has a damaged model config in its metadata.") \
                    from exc
        else:
            config = infer_config(state_dict, input_name)
    else:
        raise PoseGenInputError(input_name, f"'{path}' does not exist.", "a checkpoint folder or .safetensors file")
    return PoseAnythingCheckpoint(config=config, state_dict=state_dict, source=path)


def converted_metadata(checkpoint: PoseAnythingCheckpoint) -> dict[str, str]:
    return {META_FORMAT: CONVERTED_FORMAT_VERSION, META_CONFIG: json.dumps(checkpoint.config.to_json_dict()),
            META_SOURCE: checkpoint.source.name}
