"""The run cache: what depends only on the grid, the reference and the weights is made once per sampling run,
gives the same result as making it every call, and is gone when the run ends, however it ends."""

from collections import Counter

import comfy.model_management
import comfy.patcher_extension
import comfy.samplers
import pytest
import torch

import posegen_core.posegen.dit_forward as pg_forward
from posegen_core.golden import run_sampling
from posegen_core.wan.run_cache import RUN_CACHE_KEY, WRAPPER_KEY, RunCache


def _count_builds(monkeypatch) -> Counter:
    builds: Counter = Counter()
    rope, modulation = pg_forward.video_and_reference_rope, pg_forward.time_modulation

    def counting_rope(*args, **kwargs):
        builds["rope"] += 1
        return rope(*args, **kwargs)

    def counting_modulation(wan, t, dtype):
        builds["reference modulation" if not t.any() else "forward"] += 1
        return modulation(wan, t, dtype)

    monkeypatch.setattr(pg_forward, "video_and_reference_rope", counting_rope)
    monkeypatch.setattr(pg_forward, "time_modulation", counting_modulation)
    return builds


def _without_run_cache(patcher):
    plain = patcher.clone()
    plain.remove_wrappers_with_key(comfy.patcher_extension.WrappersMP.OUTER_SAMPLE, WRAPPER_KEY)
    return plain


def test_a_sampling_run_builds_rope_and_reference_modulation_once(posegen_golden_patcher, monkeypatch):
    golden, patcher = posegen_golden_patcher
    builds = _count_builds(monkeypatch)
    _, with_cache = run_sampling(patcher, golden, "pose_latent_base", "hand_latents_base")
    forwards = builds["forward"]
    assert forwards >= 2 and builds["rope"] == 1 and builds["reference modulation"] == 1
    assert RUN_CACHE_KEY not in patcher.model_options.get("transformer_options", {})

    builds.clear()
    _, every_call = run_sampling(_without_run_cache(patcher), golden, "pose_latent_base", "hand_latents_base")
    assert builds["rope"] == builds["reference modulation"] == builds["forward"] == forwards
    assert torch.equal(with_cache, every_call)


def test_the_cache_is_emptied_when_a_run_is_interrupted(posegen_golden_patcher, monkeypatch):
    golden, patcher = posegen_golden_patcher
    seen: list[RunCache] = []
    original = pg_forward.cached

    def recording(options, key, make, depends_on_weights=False):
        seen.append(options[RUN_CACHE_KEY])
        return original(options, key, make, depends_on_weights)

    monkeypatch.setattr(pg_forward, "cached", recording)

    def one_step_then_interrupt(model, x, sigmas, extra_args=None, callback=None, disable=None):
        model(x, sigmas[0] * x.new_ones([x.shape[0]]), **(extra_args or {}))
        raise comfy.model_management.InterruptProcessingException()

    with pytest.raises(comfy.model_management.InterruptProcessingException):
        run_sampling(patcher, golden, "pose_latent_base", "hand_latents_base",
                     sampler=comfy.samplers.KSAMPLER(one_step_then_interrupt))
    assert seen and all(cache is seen[0] for cache in seen)
    assert seen[0].built["rope"] == 1 and not seen[0]._values
    assert RUN_CACHE_KEY not in patcher.model_options.get("transformer_options", {})


def test_weight_dependent_values_are_remade_when_weights_change_within_a_run():
    cache = RunCache(weights_fixed=False)
    made = []
    for _ in range(3):
        cache.get(("reference modulation",), lambda: made.append(1), depends_on_weights=True)
        cache.get(("rope", 1), lambda: made.append(2))
    assert made == [1, 2, 1, 1]
    assert cache.built == Counter({"reference modulation": 3, "rope": 1}) and cache.reused["rope"] == 2
