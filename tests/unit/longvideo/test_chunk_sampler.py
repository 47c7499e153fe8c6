"""Which SAMPLER a chunk gets: PoseGen's Euler by default, any SAMPLER as it is, a per-chunk one specialised."""

from __future__ import annotations

import comfy.samplers
import numpy as np

from posegen_core.longvideo.chunk_sampler import PerChunkSampler, posegen_sampler, sampler_for_chunk

CONTEXT = dict(label="base segment 0", steps=4, inverted_start=True, report=print)


def test_posegens_sampler_is_ksamplerselect_euler():
    ours, select = posegen_sampler(), comfy.samplers.sampler_object("euler")
    assert isinstance(ours, comfy.samplers.KSAMPLER) and ours.sampler_function is select.sampler_function
    assert sampler_for_chunk(None, "base", np.arange(9), **CONTEXT).sampler_function is select.sampler_function


def test_a_plain_sampler_is_used_as_it_is_for_every_chunk():
    plain = comfy.samplers.sampler_object("dpmpp_2m")
    assert not isinstance(plain, PerChunkSampler)
    for kind in ("base", "transition"):
        assert sampler_for_chunk(plain, kind, np.arange(9), **CONTEXT) is plain


def test_a_per_chunk_sampler_gets_the_chunk():
    seen, notes = [], []

    class PerChunk:
        def for_chunk(self, kind, frames, *, label, steps, inverted_start, report):
            seen.append((kind, frames.tolist(), label, steps, inverted_start))
            report("noted")
            return "the chunk's sampler"

    assert isinstance(PerChunk(), PerChunkSampler)
    got = sampler_for_chunk(PerChunk(), "base", np.array([-1, 0, 1]), **{**CONTEXT, "report": notes.append})
    assert got == "the chunk's sampler" and notes == ["noted"]
    assert seen == [("base", [-1, 0, 1], "base segment 0", 4, True)]
