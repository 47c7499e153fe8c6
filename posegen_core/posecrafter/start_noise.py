"""The inverted reference as a ComfyUI NOISE, and the schedule it must be sampled with.

At σ_start = 1 a flow model's noise scaling discards the LATENT (``noise_scaling(1, n, L) = n``), so the only
ComfyUI-native carrier of an inverted start state is NOISE over an empty latent (see ``inversion``). The object
below follows ComfyUI's NOISE protocol (``seed`` and ``generate_noise(latent_dict)``), so it plugs into
SamplerCustomAdvanced as well as the Segment Sampler, and it remembers the schedule it was inverted with, so a
mismatched schedule is caught instead of silently producing a different video.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..errors import PoseGenInputError


@dataclass(frozen=True)
class InvertedNoise:
    """ReferenceInversion's result: noise ``[B, C, T, h, w]`` (T = 1: one inverted frame, copied over every frame
    of the latent it is used on — PoseCrafter's pseudo reference video) and the descending schedule ``sigmas``."""

    noise: torch.Tensor
    sigmas: torch.Tensor
    seed: int = 0  # ComfyUI's samplers read it (for ancestral noise); the inverted state itself is fixed

    @property
    def start_sigma(self) -> float:
        return float(self.sigmas[0])

    def generate_noise(self, input_latent: dict[str, Any]) -> torch.Tensor:
        samples = input_latent["samples"]
        if samples.dim() != 5:
            raise PoseGenInputError("latent", f"shape {tuple(samples.shape)} for the inverted reference's noise.",
                                    "a video latent [B, C, T, h, w]")
        b, c, t, h, w = samples.shape
        nb, nc, nt, nh, nw = self.noise.shape
        if (c, h, w) != (nc, nh, nw):
            raise PoseGenInputError("noise", f"inverted on a {nc}-channel {nw}x{nh} latent, sampled on a {c}-channel "
                                    f"{w}x{h} one.", "the same width, height and VAE for inversion and sampling")
        if nt not in (1, t):
            raise PoseGenInputError("noise", f"{nt} inverted latent frames for a latent of {t}.",
                                    f"1 (copied over every frame) or {t}")
        noise = self.noise.expand(b if nb == 1 else nb, c, t, h, w)
        if noise.shape[0] != b:
            raise PoseGenInputError("noise", f"a batch of {nb} for a latent batch of {b}.", "1 or the same batch")
        return noise.to(dtype=samples.dtype, device="cpu").contiguous()


def check_schedule(noise: Any, sigmas: torch.Tensor | None) -> torch.Tensor | None:
    """The schedule to sample ``noise`` with: an InvertedNoise's own, unless ``sigmas`` is given, in which case it
    must be the same one (sampling an inverted state on another schedule reconstructs nothing)."""
    own = getattr(noise, "sigmas", None) if isinstance(noise, InvertedNoise) else None
    if sigmas is None or own is None:
        return sigmas if sigmas is not None else own
    if sigmas.shape != own.shape or not torch.allclose(sigmas.float().cpu(), own.float().cpu(), rtol=0, atol=1e-6):
        raise PoseGenInputError("start_sigmas", f"{len(sigmas) - 1} steps from σ={float(sigmas[0]):.4g}, but the "
                                f"noise was inverted over {len(own) - 1} steps from σ={float(own[0]):.4g}.",
                                "the SIGMAS the inversion used (or leave start_sigmas unconnected)")
    return own
