"""Euler in pieces equals one uninterrupted Euler run, bit for bit, through ComfyUI's own sampling."""

import tempfile
from pathlib import Path

import pytest
import torch

from posegen_core.golden import GoldenFolder, run_sampling
from posegen_core.wan.stepwise import StepwiseEuler, is_plain_euler

from ..conftest import golden_root


@pytest.fixture(scope="module")
def golden_model():
    from posegen_core.posegen.checkpoint import load_checkpoint
    from posegen_core.posegen.comfy_model import build_model_patcher

    golden = GoldenFolder(golden_root() / "posegen_tiny_v1")
    with tempfile.TemporaryDirectory() as tmp:
        patcher = build_model_patcher(load_checkpoint(golden.write_checkpoint_folder(Path(tmp))), "base",
                                      torch.float32)
    return patcher, golden


def _sample(golden_model, sampler):
    patcher, golden = golden_model
    return run_sampling(patcher, golden, "pose_latent_base", "hand_latents_base", sampler=sampler)[1]


def test_pieces_with_saved_states_equal_one_run(golden_model):
    import comfy.samplers

    plain = _sample(golden_model, comfy.samplers.ksampler("euler"))
    states: dict[int, torch.Tensor] = {}
    stepwise = StepwiseEuler()
    _sample(golden_model, stepwise.piece(0, 1, on_step=lambda done, x: states.__setitem__(done, x.clone())))
    assert list(states) == [1]
    _sample(golden_model, stepwise.piece(1, 2, states[1], on_step=lambda done, x: states.__setitem__(done, x.clone())))
    final = _sample(golden_model, stepwise.piece(2, None, states[2]))
    assert torch.equal(final, plain)
    whole = _sample(golden_model, stepwise.piece())
    assert torch.equal(whole, plain)


def test_edits_before_a_step_equal_posecrafters_editing_euler(golden_model):
    from posegen_core.posecrafter.edit_sampler import editing_euler

    def edit(x):
        return x * 0.5 + 0.1

    want = _sample(golden_model, editing_euler(edit, at_step=1))
    states = {}
    stepwise = StepwiseEuler(edits={1: edit})
    _sample(golden_model, stepwise.piece(0, 1, on_step=lambda done, x: states.__setitem__(done, x.clone())))
    assert torch.equal(_sample(golden_model, stepwise.piece(1, None, states[1])), want)


def test_progress_counts_schedule_steps(golden_model):
    import comfy.sample
    import comfy.samplers

    seen = []
    original = comfy.sample.sample_custom

    def with_callback(*args, **kwargs):
        kwargs["callback"] = lambda step, x0, x, total: seen.append((step, total))
        return original(*args, **kwargs)

    comfy.sample.sample_custom = with_callback
    try:
        states = {}
        stepwise = StepwiseEuler()
        _sample(golden_model, stepwise.piece(0, 1, on_step=lambda done, x: states.__setitem__(done, x)))
        _sample(golden_model, stepwise.piece(1, None, states[1]))
    finally:
        comfy.sample.sample_custom = original
    steps = len(golden_model[1].tensors("sampling.safetensors")["sigmas"])
    assert seen == [(i, steps) for i in range(steps)]


def test_plain_euler_is_recognised():
    import comfy.samplers

    assert is_plain_euler(comfy.samplers.ksampler("euler"))
    assert not is_plain_euler(comfy.samplers.ksampler("dpmpp_2m"))
    assert not is_plain_euler(comfy.samplers.ksampler("euler", {"s_churn": 1.0}))
    assert not is_plain_euler(StepwiseEuler().piece())


def test_a_late_piece_needs_a_state():
    with pytest.raises(ValueError, match="needs the state"):
        StepwiseEuler().piece(2)
