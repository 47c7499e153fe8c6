"""Reading weight files and shard folders through ComfyUI's loader, for every model family.

Files are read with ComfyUI's own ``load_torch_file`` (safetensors by memory-mapping, anything else with
``torch.load(weights_only=True)``), never with unrestricted pickle. Shards merge into one state dict; a damaged
file or a tensor in two shards is a :class:`PoseGenInputError` naming the input.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from ..errors import PoseGenInputError

CONFIG_FILE = "model_config.json"  # the config both families' checkpoint folders carry beside their shards

TensorFileReader = Callable[[str], tuple[dict[str, torch.Tensor], dict[str, str] | None]]


def default_reader(path: str) -> tuple[dict[str, torch.Tensor], dict[str, str] | None]:
    """ComfyUI's loader: safetensors via mmap, anything else with ``torch.load(weights_only=True)``."""
    import comfy.utils

    return comfy.utils.load_torch_file(path, safe_load=True, return_metadata=True)


def read_file(path: Path, reader: TensorFileReader, input_name: str) -> tuple[dict, dict | None]:
    try:
        state_dict, metadata = reader(str(path))
    except Exception as exc:  # any decoder error means a damaged file; name it
        raise PoseGenInputError(input_name, f"weight file '{path.name}' could not be read ({type(exc).__name__}: "
                                f"{str(exc).splitlines()[0] if str(exc) else 'no details'}).",
                                "an intact .bin/.safetensors file (re-download it)") from exc
    if not isinstance(state_dict, dict) or not all(isinstance(v, torch.Tensor) for v in state_dict.values()):
        raise PoseGenInputError(input_name, f"'{path.name}' is not a flat tensor state dict.")
    return state_dict, metadata


def read_shards(shards: list[Path], reader: TensorFileReader, input_name: str,
                progress: Callable[[int, int], None] | None = None) -> dict[str, torch.Tensor]:
    """One state dict from a checkpoint's shard files; a tensor in two shards is an error (a mixed-up download).
    ``progress(done, total)`` after each file (shards of a 14B model take minutes)."""
    merged: dict[str, torch.Tensor] = {}
    for done, shard in enumerate(shards, start=1):
        part, _ = read_file(shard, reader, input_name)
        overlap = merged.keys() & part.keys()
        if overlap:
            raise PoseGenInputError(input_name, f"shard '{shard.name}' repeats {len(overlap)} tensors "
                                    f"of an earlier shard (e.g. '{sorted(overlap)[0]}').")
        merged.update(part)
        if progress is not None:
            progress(done, len(shards))
    return merged
