"""Which sampler step a model call belongs to, from what ComfyUI's samplers put in ``transformer_options``."""

from __future__ import annotations


def step_index(transformer_options: dict) -> int | None:
    """The sampler step of this model call: an explicit ``posegen_step``, else the position of the current
    sigma in ComfyUI's ``sample_sigmas``."""
    if "posegen_step" in transformer_options:
        return int(transformer_options["posegen_step"])
    schedule, sigma = transformer_options.get("sample_sigmas"), transformer_options.get("sigmas")
    if schedule is None or sigma is None:
        return None
    distance = (schedule.flatten().float().cpu() - float(sigma.flatten()[0])).abs()
    index = int(distance.argmin())
    return index if float(distance[index]) <= 1e-6 * max(1.0, float(schedule.max())) else None
