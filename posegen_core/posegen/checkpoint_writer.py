"""Writing checkpoints: PoseGen's shard-folder layout and the converted single-file form.

Both writers are atomic: files go to a temporary sibling first and are renamed into place, so an
interrupted or failed write never leaves a half checkpoint where the loader would pick it up.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

import torch
from safetensors.torch import save_file

from ..wan.converted import cast_for_storage, write_safetensors_atomically
from .checkpoint import CONFIG_FILE, META_CONFIG, META_FORMAT, META_SOURCE, META_VARIANT, PoseGenCheckpoint
from .comfy_model import PoseGenWan21Config

CONVERTED_FORMAT_VERSION = "1"


def _split_evenly(keys: list[str], parts: int) -> list[list[str]]:
    parts = max(1, min(parts, len(keys)))
    size = -(-len(keys) // parts)
    return [keys[i:i + size] for i in range(0, len(keys), size)]


def write_posegen_folder(
    folder: Path, ondisk: Mapping[str, torch.Tensor], model_config: Mapping, num_shards: int = 2, fmt: str = "bin",
) -> list[Path]:
    """Write ``model_config.json`` plus shards named like PoseGen's (``pytorch_model-0000i-of-0000n.bin``)."""
    folder = Path(folder)
    if folder.exists():
        raise FileExistsError(f"'{folder}' already exists")
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        (staging / CONFIG_FILE).write_text(json.dumps(dict(model_config), indent=2), encoding="utf-8")
        groups = _split_evenly(sorted(ondisk), num_shards)
        names = []
        for i, keys in enumerate(groups, start=1):
            shard = {k: ondisk[k].contiguous() for k in keys}
            name = f"pytorch_model-{i:05d}-of-{len(groups):05d}.{fmt}"
            if fmt == "bin":
                torch.save(shard, staging / name)
            elif fmt == "safetensors":
                save_file(shard, str(staging / name))
            else:
                raise ValueError(f"unknown shard format '{fmt}'")
            names.append(name)
        os.replace(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [folder / n for n in names]


def write_converted_file(path: Path, checkpoint: PoseGenCheckpoint, variant: str, dtype: torch.dtype | None) -> Path:
    """One merged safetensors file with the model config and variant in its metadata; an fp8 ``dtype`` casts
    what ComfyUI's model stores in fp8 and keeps the rest (see :func:`cast_for_storage`)."""
    metadata = {
        META_FORMAT: CONVERTED_FORMAT_VERSION,
        META_CONFIG: json.dumps(checkpoint.config.to_json_dict()),
        META_VARIANT: variant,
        META_SOURCE: checkpoint.source.name,
    }
    tensors = cast_for_storage(checkpoint.state_dict, dtype, PoseGenWan21Config(checkpoint.config))
    return write_safetensors_atomically(path, tensors, metadata)
