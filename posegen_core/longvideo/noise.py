"""The noise the segments start from: the seed's (:class:`SeedNoise`, ComfyUI's NOISE protocol) for every chunk,
or, for the base segments, PoseCrafter's start (:class:`BaseStart`: any NOISE over its schedule)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..posecrafter.start_noise import check_schedule
from ..wan.schedule import flow_match_sigmas
from .options import LongVideoSettings, check_start_sigmas


@dataclass(frozen=True)
class SeedNoise:
    """ComfyUI's NOISE protocol with the seed's noise (what the chunk sampler uses without a start)."""

    seed: int

    def generate_noise(self, input_latent: dict[str, Any]) -> torch.Tensor:
        import comfy.sample

        return comfy.sample.prepare_noise(input_latent["samples"], self.seed)


@dataclass(frozen=True)
class BaseStart:
    """How base segments start instead of the seed's noise: a ComfyUI NOISE (ReferenceInversion's inverted
    reference, or any other) sampled over ``sigmas`` from an empty latent."""

    noise: Any  # ComfyUI's NOISE protocol: generate_noise({"samples": latent}) -> noise of that shape
    sigmas: torch.Tensor  # descending, ending at 0


def base_start(noise: Any, sigmas: torch.Tensor | None, settings: LongVideoSettings) -> BaseStart | None:
    """The base segments' start from optional NOISE / SIGMAS (PoseCrafter Options' start_noise, start_sigmas):
    none given = the seed's noise over the settings' schedule; an inverted reference brings its own schedule (a
    different one given is an error)."""
    if noise is None and sigmas is None:
        return None
    sigmas = check_schedule(noise, sigmas)
    if sigmas is None:
        sigmas = flow_match_sigmas(settings.steps, settings.shift)
    sigmas = check_start_sigmas(sigmas)
    if noise is None:
        noise = SeedNoise(settings.seed)
    return BaseStart(noise, sigmas)
