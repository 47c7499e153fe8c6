"""What the segments start from: the seed's noise, or PoseCrafter's start over its schedule."""

from __future__ import annotations

import pytest
import torch

from posegen_core.errors import PoseGenInputError
from posegen_core.longvideo.noise import SeedNoise, base_start
from posegen_core.longvideo.options import LongVideoSettings
from posegen_core.posecrafter.start_noise import InvertedNoise
from posegen_core.wan.schedule import flow_match_sigmas


def _inverted(steps: int) -> InvertedNoise:
    return InvertedNoise(torch.randn(1, 16, 1, 6, 4, generator=torch.Generator().manual_seed(5)),
                         flow_match_sigmas(steps, 5.0))


def test_base_start_resolves_the_schedule_from_the_inputs():
    settings = LongVideoSettings(width=32, height=48, steps=2)
    assert base_start(None, None, settings) is None
    inverted = _inverted(steps=3)
    assert torch.equal(base_start(inverted, None, settings).sigmas, inverted.sigmas)
    assert torch.equal(base_start(inverted, inverted.sigmas.clone(), settings).sigmas, inverted.sigmas)
    seeded = base_start(None, flow_match_sigmas(4, 5.0), settings)
    assert seeded.noise == SeedNoise(settings.seed) and len(seeded.sigmas) == 5
    assert len(base_start(SeedNoise(1), None, settings).sigmas) == settings.steps + 1
    with pytest.raises(PoseGenInputError, match="^start_sigmas: .*inverted over 3 steps"):
        base_start(inverted, flow_match_sigmas(2, 5.0), settings)
    with pytest.raises(PoseGenInputError, match="^start_sigmas: "):
        base_start(None, torch.tensor([1.0, 0.5]), settings)


def test_seed_noise_is_comfyuis_noise_for_the_seed():
    import comfy.sample

    latent = torch.zeros(1, 16, 3, 6, 4)
    assert torch.equal(SeedNoise(7).generate_noise({"samples": latent}), comfy.sample.prepare_noise(latent, 7))
