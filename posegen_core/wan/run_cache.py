"""Values a sampling run computes once and every model call of it reuses (RoPE tables, the reference's t = 0
modulation, fixed token masks).

An ``OUTER_SAMPLE`` wrapper on the pack's MODELs (:func:`install_run_cache`) puts a :class:`RunCache` into the
run's ``transformer_options`` for the length of one ComfyUI sampling call (all steps and CFG passes), and empties
it when the call ends, fails or is interrupted. A forward called outside a sampler finds no cache and computes
everything itself. Values that depend on the weights are cached only when ComfyUI keeps the weights fixed for the
whole run (at most one hook group in the conditioning; several groups swap weights between model calls).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

RUN_CACHE_KEY = "posegen_run_cache"
WRAPPER_KEY = "posegen_run_cache"

T = TypeVar("T")


class RunCache:
    def __init__(self, weights_fixed: bool = True) -> None:
        self.weights_fixed = weights_fixed
        self._values: dict[Hashable, Any] = {}
        self.built: Counter[str] = Counter()  # values made, by kind (key[0]); for profiles and tests
        self.reused: Counter[str] = Counter()

    def get(self, key: tuple, make: Callable[[], T], depends_on_weights: bool = False) -> T:
        if depends_on_weights and not self.weights_fixed:
            self.built[key[0]] += 1
            return make()
        if key in self._values:
            self.reused[key[0]] += 1
            return self._values[key]
        self.built[key[0]] += 1
        value = self._values[key] = make()
        return value

    def clear(self) -> None:
        self._values.clear()


def cached(transformer_options: dict, key: tuple, make: Callable[[], T], depends_on_weights: bool = False) -> T:
    """``make()``, or its value from earlier in this sampling run. ``key[0]`` names the kind of value."""
    cache: RunCache | None = transformer_options.get(RUN_CACHE_KEY)
    return make() if cache is None else cache.get(key, make, depends_on_weights)


def _outer_sample_with_run_cache(executor, *args, **kwargs):
    import comfy.samplers

    guider = executor.class_obj
    options = guider.model_options.setdefault("transformer_options", {})  # the run's own copy (CFGGuider.sample)
    if RUN_CACHE_KEY in options:
        return executor(*args, **kwargs)
    cache = RunCache(weights_fixed=comfy.samplers.get_total_hook_groups_in_conds(guider.conds) <= 1)
    options[RUN_CACHE_KEY] = cache
    try:
        return executor(*args, **kwargs)
    finally:
        cache.clear()
        options.pop(RUN_CACHE_KEY, None)


def install_run_cache(patcher) -> None:
    import comfy.patcher_extension

    patcher.add_wrapper_with_key(comfy.patcher_extension.WrappersMP.OUTER_SAMPLE, WRAPPER_KEY,
                                 _outer_sample_with_run_cache)
