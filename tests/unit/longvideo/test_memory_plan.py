"""The memory plan's arithmetic at PoseGen's real size, and the K/V store refusal."""

import pytest

from posegen_core.errors import PoseGenInputError
from posegen_core.longvideo.kvshare import kv_bytes
from posegen_core.longvideo.memory_plan import (
    GIB,
    MemoryInputs,
    check_kv_fits,
    frame_bytes,
    latent_bytes,
    plan_memory,
    tokens,
)


def test_real_size_figures():
    assert tokens(81, 720, 1280) == 79_200  # 21 x 80 x 45 video + 80 x 45 reference (docs/method/posegen.md §0)
    assert latent_bytes(81, 720, 1280) == 16 * 21 * 160 * 90 * 4
    assert frame_bytes(720, 1280) == 11_059_200
    import torch

    one_step = kv_bytes(79_200, 5120, torch.bfloat16, steps=1, blocks=6)
    assert round(one_step / GIB, 1) == 18.1  # what lockstep holds; half-body (2 steps) holds twice that
    assert kv_bytes(79_200, 5120, torch.float8_e4m3fn, steps=1, blocks=6) * 2 == one_step


def _inputs(**changes) -> MemoryInputs:
    values = dict(base_weights=33 * GIB, cond_weights=33 * GIB, sampling_working=29 * GIB, vae_weights=GIB // 4,
                  vae_encode_working=6 * GIB, vae_decode_working=10 * GIB, kv_store=18 * GIB, kv_on_device=False,
                  frame_bytes=frame_bytes(720, 1280), frames_held=3 * 81, latent_bytes=latent_bytes(81, 720, 1280),
                  conditioning_bytes=2 * latent_bytes(81, 720, 1280), base_chunks=10, transition_chunks=9,
                  device_total=80 * GIB)
    return MemoryInputs(**{**values, **changes})


def test_plan_phases_and_peaks():
    plan = plan_memory(_inputs())
    assert [p.phase for p in plan.phases] == ["encode poses", "shared steps", "base segments", "transitions"]
    shared = plan.phases[1]
    assert shared.vram == 62 * GIB  # 33 weights + 29 working: fits in 80
    assert shared.ram == 33 * GIB + 18 * GIB  # the cond model waits in RAM beside the K/V store
    assert plan.peak_vram <= 80 * GIB and "peak" in plan.describe()
    small = plan_memory(_inputs(device_total=40 * GIB))  # weights beyond the room stream from RAM
    assert small.phases[1].vram == 40 * GIB
    assert small.phases[1].ram == (33 + 22 + 18) * GIB  # cond model + the base weights not loaded + K/V


def test_a_kv_store_that_cannot_fit_is_refused_naming_the_setting():
    check_kv_fits(10 * GIB, 11 * GIB, "RAM")
    with pytest.raises(PoseGenInputError, match=r"^kv_sharing: the anchor's K/V store needs 36.0 GiB but RAM has "
                                               r"20.0 GiB free\. Expected fewer shared steps"):
        check_kv_fits(36 * GIB, 20 * GIB, "RAM")
