"""ComfyUI's Euler, run a few steps at a time: stop after any step, go on later from the saved state, and get
bit for bit what one uninterrupted run gives.

ComfyUI's ``sample_euler`` (k-diffusion's Algorithm 2 of Karras et al. 2022, without churn) keeps no state from
one step to the next besides the latent, so running its steps one call at a time is the same arithmetic. Each
piece is a whole ComfyUI sampling call over the *full* schedule (so the model sees the same sigmas and step
indices); only inside the sampler are the steps outside ``[start, stop)`` skipped and the start replaced by the
saved state. The state is the sampler's own latent (the model's normalised space), never a round trip through
``process_latent_out``/``process_latent_in``, which would not be exact.

This is what the long video's lockstep anchor and its resumable runs are built on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import torch

LatentEdit = Callable[[torch.Tensor], torch.Tensor]
StepDone = Callable[[int, torch.Tensor], None]  # (steps done so far, the state after them)


@dataclass(frozen=True)
class StepwiseEuler:
    """Euler with optional latent edits before chosen steps (PoseCrafter's face/hand edit)."""

    edits: Mapping[int, LatentEdit] = field(default_factory=dict)

    def piece(self, start: int = 0, stop: int | None = None, state: torch.Tensor | None = None,
              on_step: StepDone | None = None):
        """A ComfyUI SAMPLER running steps ``start .. stop-1`` (``stop`` None: to the end) from ``state`` (None:
        from the noise ComfyUI prepared, which needs ``start`` 0). ``on_step`` sees every new state; the value the
        sampling call returns is only meaningful when the piece reaches the end of the schedule."""
        import comfy.k_diffusion.sampling
        import comfy.samplers

        if state is None and start != 0:
            raise ValueError("a piece that does not start at step 0 needs the state of the steps before it")
        edits = dict(self.edits)

        def sample(model, x, sigmas, extra_args=None, callback=None, disable=None):
            end = len(sigmas) - 1 if stop is None else stop
            if not 0 <= start <= end <= len(sigmas) - 1:
                raise ValueError(f"steps {start}..{end} outside a schedule of {len(sigmas) - 1} steps")
            if state is not None:
                x = state.to(device=x.device, dtype=x.dtype)
            for i in range(start, end):
                if i in edits:
                    x = edits[i](x)
                x = comfy.k_diffusion.sampling.sample_euler(
                    model, x, sigmas[i:i + 2], extra_args=extra_args, disable=disable,
                    callback=None if callback is None else _shifted(callback, i))
                if on_step is not None:
                    on_step(i + 1, x)
            return x

        return comfy.samplers.KSAMPLER(sample)


def _shifted(callback: Callable[[dict], None], offset: int) -> Callable[[dict], None]:
    """A one-step call counts its step as 0; the progress bar and previews need the schedule's index."""
    return lambda info: callback({**info, "i": info["i"] + offset})


def is_plain_euler(sampler) -> bool:
    """Whether a SAMPLER is ComfyUI's plain Euler (KSamplerSelect 'euler'), which pieces reproduce exactly."""
    import comfy.k_diffusion.sampling

    return (getattr(sampler, "sampler_function", None) is comfy.k_diffusion.sampling.sample_euler
            and not getattr(sampler, "extra_options", None) and not getattr(sampler, "inpaint_options", None))


def stepwise_of(sampler) -> StepwiseEuler | None:
    """The Euler-with-edits a SAMPLER is, when it can be run in pieces: plain Euler, or a SAMPLER that says so
    with a ``stepwise`` attribute (PoseCrafter's face/hand edit); None for any other SAMPLER."""
    own = getattr(sampler, "stepwise", None)
    if isinstance(own, StepwiseEuler):
        return own
    return StepwiseEuler() if is_plain_euler(sampler) else None
