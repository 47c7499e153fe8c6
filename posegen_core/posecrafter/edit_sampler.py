"""A ComfyUI SAMPLER that edits the latent at a chosen step: ComfyUI's own Euler up to step k, the edit, Euler on.

PoseCrafter pastes the warped reference into the face and hand boxes before sampling (step 0); later steps keep
more of the model's own layout and use the edit as a nudge. The edit works on the sampler's state (a noisy latent
in the model's latent space), which is fine because warping and pasting are linear.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..errors import PoseGenInputError

LatentEdit = Callable[[torch.Tensor], torch.Tensor]


def editing_euler(edit: LatentEdit, at_step: int = 0):
    """``comfy.samplers.KSAMPLER`` running Euler with ``edit`` applied to the state before step ``at_step``."""
    import comfy.k_diffusion.sampling
    import comfy.samplers

    if at_step < 0:
        raise PoseGenInputError("at_step", f"{at_step}.", "0 or a later step")

    def sample(model, x, sigmas, extra_args=None, callback=None, disable=None):
        k = at_step
        if k >= len(sigmas) - 1:  # editing after the last step would paste noisy latent into the result
            raise PoseGenInputError("at_step", f"{k} in a schedule of {len(sigmas) - 1} steps.",
                                    f"a step from 0 to {len(sigmas) - 2}")
        if k > 0:
            x = comfy.k_diffusion.sampling.sample_euler(model, x, sigmas[:k + 1], extra_args=extra_args,
                                                        callback=callback, disable=disable)
        x = edit(x)

        def shifted(info: dict) -> None:  # the second run counts its steps from 0
            callback({**info, "i": info["i"] + k})

        return comfy.k_diffusion.sampling.sample_euler(model, x, sigmas[k:], extra_args=extra_args,
                                                       callback=shifted if callback else None, disable=disable)

    return comfy.samplers.KSAMPLER(sample)
