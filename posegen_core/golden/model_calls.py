"""Calling the model the way ComfyUI's samplers do, for the golden cases: one DiT forward, or a whole sampling."""

from __future__ import annotations

from typing import Any

import torch

from .folder import GoldenFolder


def sampler_transformer_options(patcher) -> dict:
    """``transformer_options`` as a ComfyUI sampler hands them to the model (patcher wrappers merged in)."""
    import comfy.model_patcher
    import comfy.sampler_helpers

    options = comfy.model_patcher.create_model_options_clone(patcher.model_options)
    comfy.sampler_helpers.prepare_model_patcher(patcher, {}, options)
    return options["transformer_options"]


def run_forward(patcher, inputs: dict[str, torch.Tensor], x_key: str, y_key: str, hand_key: str | None,
                context_key: str = "context_pos", kvshare: Any = None, step: int = 0) -> torch.Tensor:
    """One DiT call through ComfyUI's diffusion model (the installed PoseGen forward), like a sampler step.
    ``kvshare`` (a KVShareContext) records or shares anchor K/V as at sampler step ``step``."""
    import comfy.model_management

    from ..posegen.attention_hooks import KVSHARE_KEY

    comfy.model_management.load_models_gpu([patcher])
    model = patcher.model
    device = patcher.load_device
    dtype = model.get_dtype()

    def prep(t: torch.Tensor) -> torch.Tensor:
        return t.to(device=device, dtype=dtype)

    xc = torch.cat([prep(inputs[x_key]), prep(inputs[y_key])], dim=1)
    kwargs = {"reference_latent": prep(inputs["ref_latents"])}
    if hand_key is not None:
        kwargs["posegen_hand_latent"] = prep(inputs[hand_key])
    options = sampler_transformer_options(patcher)
    if kvshare is not None:
        options.update({KVSHARE_KEY: kvshare, "posegen_step": step, "cond_or_uncond": [0]})
    with torch.no_grad():
        out = model.diffusion_model(
            xc, inputs["timestep"].to(device=device, dtype=torch.float32), context=prep(inputs[context_key]),
            clip_fea=prep(inputs["clip_feature"]), transformer_options=options, **kwargs)
    return out.float().cpu()


def run_sampling(patcher, golden: GoldenFolder, pose_key: str, hand_key: str, kvshare: Any = None,
                 sampler: Any = None) -> tuple[torch.Tensor, torch.Tensor]:
    """PoseGen's sampler settings through ComfyUI's own sampling (CFG guider + Euler, or ``sampler``), from raw
    latents as the conditioning node would hand them over. Returns (noise, final latent in the model's normalised
    space)."""
    import comfy.clip_vision
    import comfy.sample
    import comfy.samplers

    from ..posegen.attention_hooks import KVSHARE_KEY
    from ..posegen.conditioning import posegen_conditioning_values

    inputs = golden.tensors("inputs.safetensors")
    sampling = golden.tensors("sampling.safetensors")
    settings = golden.config["sampling"]
    latent_format = patcher.model.latent_format

    def raw(key: str) -> torch.Tensor:  # what VAE.encode returns; the model normalises it again
        return latent_format.process_out(inputs[key])

    clip_output = comfy.clip_vision.Output()
    clip_output["penultimate_hidden_states"] = inputs["clip_feature"]  # the stored CLIP features
    values = posegen_conditioning_values(
        pose_latent=raw(pose_key), given_mask=torch.zeros(4, inputs[pose_key].shape[2]),
        reference_latent=raw("ref_latents"), hand_latent=raw(hand_key), clip_vision_output=clip_output)
    positive = [[inputs["context_pos"], dict(values)]]
    negative = [[inputs["context_neg"], dict(values)]]
    empty = torch.zeros_like(inputs[pose_key])
    noise = comfy.sample.prepare_noise(empty, int(settings["seed"]))
    sigmas = torch.cat([sampling["sigmas"].float(), torch.zeros(1)])
    sampler = sampler or comfy.samplers.ksampler("euler")
    model = patcher
    if kvshare is not None:
        model = patcher.clone()
        model.model_options["transformer_options"][KVSHARE_KEY] = kvshare
    samples = comfy.sample.sample_custom(model, noise, float(settings["cfg_scale"]), sampler, sigmas, positive,
                                         negative, empty, disable_pbar=True, seed=int(settings["seed"]))
    return noise, latent_format.process_in(samples.float().cpu())
