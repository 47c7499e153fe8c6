"""Writing converted single-file checkpoints (both families): atomically, in the dtypes ComfyUI stores them in."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import torch
from safetensors.torch import save_file

FP8_DTYPES = (torch.float8_e4m3fn, torch.float8_e5m2)


def write_safetensors_atomically(path: Path, tensors: Mapping[str, torch.Tensor], metadata: dict[str, str] | None,
                                ) -> Path:
    """``tensors`` to ``path`` through a temporary sibling renamed into place (never a half-written file)."""
    path = Path(path)
    if path.suffix != ".safetensors":
        raise ValueError(f"'{path.name}' must end in .safetensors")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".partial", dir=path.parent)
    os.close(fd)
    try:
        save_file(dict(tensors), tmp, metadata=metadata)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def cast_tensors(state_dict: Mapping[str, torch.Tensor], dtype: torch.dtype | None) -> dict[str, torch.Tensor]:
    """Every tensor in ``dtype`` (None: as it is)."""
    return {k: (v.to(dtype) if dtype is not None else v).contiguous() for k, v in state_dict.items()}


def stored_dtypes(model_config, weight_dtype: torch.dtype) -> dict[str, torch.dtype]:
    """The dtype of each weight inside ComfyUI's model when loaded with ``weight_dtype``. The model is built on
    the meta device (no memory, milliseconds even at 14B); ``model_config`` is a fresh ComfyUI model config."""
    model_config.set_inference_dtype(weight_dtype, None)
    model = model_config.get_model({}, device=torch.device("meta"))
    return {k: v.dtype for k, v in model.diffusion_model.state_dict().items()}


def cast_for_storage(state_dict: Mapping[str, torch.Tensor], dtype: torch.dtype | None,
                     model_config) -> dict[str, torch.Tensor]:
    """``state_dict`` as a converted file stores it. For fp8, what ComfyUI's model holds in fp8 becomes fp8 and the
    rest (Wan's patch embeddings, which ComfyUI keeps in float32 whatever the weight dtype) keeps its dtype, so
    loading the file gives exactly the weights that loading the source with that fp8 weight_dtype gives."""
    if dtype not in FP8_DTYPES:
        return cast_tensors(state_dict, dtype)
    stored = stored_dtypes(model_config, dtype)
    return {k: (v.to(dtype) if stored.get(k) == dtype else v).contiguous() for k, v in state_dict.items()}
