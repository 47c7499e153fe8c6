"""A ComfyUI ModelPatcher from a model config and weights, following ComfyUI's own diffusion-model loading
(dtype choice, manual cast, offload device), with strict key and shape checks that name the input."""

from __future__ import annotations

import comfy.model_management
import comfy.model_patcher
import comfy.utils
import torch
from torch import nn

from ..errors import PoseGenInputError


def check_state_dict(model: nn.Module, state_dict: dict[str, torch.Tensor], input_name: str,
                     model_name: str = "PoseGen") -> None:
    """The reference implementations load strictly; so do we, with an error that says what is wrong."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected))
    if missing:
        hint = " (a shard may be missing)" if any(k.startswith("blocks.") for k in missing) else ""
        raise PoseGenInputError(input_name, f"{len(missing)} tensors are missing{hint}, e.g. {missing[:3]}.",
                                f"the complete {model_name} DiT")
    if unexpected:
        raise PoseGenInputError(input_name, f"{len(unexpected)} tensors do not belong to the model its "
                                f"config describes, e.g. {unexpected[:3]}.")
    wrong = [(k, tuple(state_dict[k].shape), tuple(v.shape)) for k, v in expected.items()
             if tuple(state_dict[k].shape) != tuple(v.shape)]
    if wrong:
        key, got, want = wrong[0]
        raise PoseGenInputError(input_name, f"{len(wrong)} tensors have the wrong shape, e.g. '{key}' is {got}.",
                                f"{want} as the config implies")


def patcher_from_state_dict(
    model_config, state_dict: dict[str, torch.Tensor], weight_dtype: torch.dtype | None, input_name: str,
    model_name: str,
) -> comfy.model_patcher.ModelPatcher:
    """A ComfyUI ModelPatcher for ``model_config``'s model with these weights, following ComfyUI's own
    diffusion-model loading steps (dtype choice, manual cast, offload device). ``state_dict`` is consumed."""
    load_device = comfy.model_management.get_torch_device()
    offload_device = comfy.model_management.unet_offload_device()
    supported = list(model_config.supported_inference_dtypes)
    if weight_dtype is None:
        weight_dtype = comfy.model_management.unet_dtype(
            model_params=comfy.utils.calculate_parameters(state_dict), supported_dtypes=supported,
            weight_dtype=comfy.utils.weight_dtype(state_dict))
    manual_cast = comfy.model_management.unet_manual_cast(weight_dtype, load_device, supported)
    model_config.set_inference_dtype(weight_dtype, manual_cast)

    model = model_config.get_model(state_dict)
    check_state_dict(model.diffusion_model, state_dict, input_name, model_name)
    model = model.to(offload_device)
    model.load_model_weights(state_dict, "")  # pops tensors as it copies them: no second copy stays alive
    return comfy.model_patcher.ModelPatcher(model, load_device=load_device, offload_device=offload_device)
