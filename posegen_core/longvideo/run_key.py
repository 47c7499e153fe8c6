"""The key of a long-video run: a hash of everything that determines its result, so a run folder is only ever
continued by the same run (the same inputs, settings, models and patches) and a changed input starts afresh.

Tensors are hashed by dtype, shape and bytes; ComfyUI objects by what makes them compute what they compute (a
MODEL by its checkpoint's identity, weight dtype and every patch, a VAE by its weights); settings by their fields.
Objects that cannot be described deterministically are named by their type, so two runs with them still agree.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import torch

KEY_LENGTH = 20  # hex characters: a folder name, unique enough for one user's runs


class RunKey:
    """An incremental hash: ``add(name, value)`` in a fixed order, then :meth:`hexdigest`."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256(b"posegen-long-video-run-v1")

    def add(self, name: str, value: Any) -> RunKey:
        self._hash.update(f"\x00{name}\x00".encode())
        _feed(self._hash, value)
        return self

    def hexdigest(self) -> str:
        return self._hash.hexdigest()[:KEY_LENGTH]


def _feed(h, value: Any) -> None:
    if value is None or isinstance(value, (bool, int, float, str)):
        h.update(f"{type(value).__name__}:{value!r};".encode())
    elif isinstance(value, torch.Tensor):
        tensor = value.detach().cpu().contiguous()
        h.update(f"tensor:{tensor.dtype}:{tuple(tensor.shape)};".encode())
        h.update(tensor.view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    elif isinstance(value, np.ndarray):
        array = np.ascontiguousarray(value)
        h.update(f"array:{array.dtype}:{array.shape};".encode())
        h.update(array.tobytes())
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        h.update(f"dataclass:{type(value).__qualname__};".encode())
        for f in dataclasses.fields(value):
            h.update(f"{f.name}=".encode())
            _feed(h, getattr(value, f.name))
    elif isinstance(value, Mapping):
        h.update(f"map:{len(value)};".encode())
        for key in sorted(value, key=str):
            h.update(f"{key}=".encode())
            _feed(h, value[key])
    elif isinstance(value, (list, tuple, frozenset, set)):
        items: Iterable[Any] = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        h.update(f"seq:{type(value).__name__}:{len(value)};".encode())
        for item in items:
            _feed(h, item)
    elif isinstance(value, (torch.dtype, torch.device)):
        h.update(f"{type(value).__name__}:{value};".encode())
    elif isinstance(getattr(value, "weights", None), (tuple, list)):  # ComfyUI's weight adapters (LoRA, LoHa...)
        h.update(f"adapter:{type(value).__qualname__};".encode())
        _feed(h, tuple(value.weights))
    elif callable(value):
        h.update(f"callable:{getattr(value, '__module__', '')}.{getattr(value, '__qualname__', type(value).__name__)};"
                 .encode())
    else:
        h.update(f"object:{type(value).__module__}.{type(value).__qualname__};".encode())


def model_identity(model) -> dict[str, Any]:
    """A ComfyUI MODEL as the run sees it: its checkpoint (from the pack's attachment), weight and compute dtypes,
    sampling shift, and every weight patch (LoRA tensors and strengths), object patch and option."""
    inner = model.model
    patches = {key: [(p[0], p[1], p[2], p[3]) for p in entries] for key, entries in model.patches.items()}
    return {
        "attachments": {name: _describable(value) for name, value in getattr(model, "attachments", {}).items()},
        "weight_dtype": inner.get_dtype(),
        "manual_cast": getattr(inner, "manual_cast_dtype", None),
        "shift": float(getattr(inner.model_sampling, "shift", 0.0)),
        "patches": patches,
        "object_patches": {k: _callable_name(v) for k, v in model.object_patches.items()},
        "model_options": _options(model.model_options),
    }


def vae_identity(vae) -> dict[str, Any]:
    """A ComfyUI VAE by its weights (about 0.5 GB for Wan's: hashed in well under a second)."""
    return {"class": type(vae.first_stage_model).__qualname__, "weights": vae.first_stage_model.state_dict(),
            "dtype": getattr(vae, "vae_dtype", None)}


def clip_vision_identity(output) -> dict[str, Any]:
    """CLIP_VISION_OUTPUT: its tensors."""
    if output is None:
        return {}
    fields = vars(output) if hasattr(output, "__dict__") else dict(output)  # comfy.clip_vision.Output: attributes
    return {k: v for k, v in fields.items() if isinstance(v, torch.Tensor)}


def _describable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return json.loads(json.dumps(dataclasses.asdict(value), default=str))
    return _callable_name(value)


def _callable_name(value: Any) -> str:
    func = getattr(value, "func", value)  # functools.partial: the function it wraps
    return f"{getattr(func, '__module__', '')}.{getattr(func, '__qualname__', type(func).__qualname__)}"


def _options(options: Mapping[str, Any]) -> Any:
    """model_options with functions named (wrappers, patches) and the run's own per-call entries left out."""
    out = {}
    for key, value in options.items():
        if isinstance(value, Mapping):
            out[key] = _options(value)
        elif isinstance(value, (list, tuple)):
            out[key] = [_callable_name(v) if callable(v) else v for v in value]
        else:
            out[key] = _callable_name(value) if callable(value) else value
    return out


def sampler_identity(sampler) -> dict[str, Any]:
    """A SAMPLER by what it computes: its function, options and, for a per-chunk SAMPLER (the face/hand edit),
    its own fields (the edit and the target poses)."""
    if sampler is None:
        return {"sampler": "euler"}
    fields = {k: v for k, v in vars(sampler).items() if k not in ("sampler_function", "stepwise")}
    return {"class": _callable_name(type(sampler)), "function": _callable_name(getattr(sampler, "sampler_function",
                                                                                        None)), "fields": fields}


def long_video_key(base_model, cond_model, inputs, settings, sampler) -> str:
    """The run key of a long video: models, every input and setting, and the SAMPLER."""
    key = RunKey()
    key.add("base_model", model_identity(base_model)).add("cond_model", model_identity(cond_model))
    key.add("positive", inputs.positive).add("negative", inputs.negative)
    key.add("vae", vae_identity(inputs.vae)).add("clip_vision_output", clip_vision_identity(inputs.clip_vision_output))
    key.add("reference_image", inputs.reference_image).add("pose_frames", inputs.pose_frames)
    key.add("hand_frames", inputs.hand_frames).add("settings", settings).add("sampler", sampler_identity(sampler))
    return key.hexdigest()
