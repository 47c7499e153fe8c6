"""PoseGen's sigma schedule: DiffSynth's ``FlowMatchScheduler(shift, sigma_min=0, extra_one_step=True)``.

ComfyUI's ``simple`` scheduler on a shift-5 flow model gives the same grid when the step count divides 1000
(25 does) and snaps to its 1000-entry table otherwise; this reproduces PoseGen's float32 values for any step
count, ending with the final sigma 0.
"""

from __future__ import annotations

import torch

from ..errors import PoseGenInputError

POSEGEN_STEPS = 25
POSEGEN_SHIFT = 5.0
POSEGEN_CFG = 5.0


def flow_match_sigmas(steps: int = POSEGEN_STEPS, shift: float = POSEGEN_SHIFT, denoise: float = 1.0) -> torch.Tensor:
    """``steps + 1`` sigmas: ``shift*s / (1 + (shift-1)*s)`` for ``s = linspace(denoise, 0, steps+1)[:-1]``, then 0."""
    if steps < 1:
        raise PoseGenInputError("steps", f"{steps}.", "at least 1")
    if not 0.0 < denoise <= 1.0:
        raise PoseGenInputError("denoise", f"{denoise}.", "a value in (0, 1]")
    raw = torch.linspace(denoise, 0.0, steps + 1, dtype=torch.float32)[:-1]
    shifted = shift * raw / (1 + (shift - 1) * raw)
    return torch.cat([shifted, torch.zeros(1, dtype=torch.float32)])
