import pytest
import torch

from posegen_core.wan.schedule import flow_match_sigmas


def test_matches_golden_scheduler(golden_tensors):
    want = golden_tensors("sampling.safetensors")["sigmas"]
    got = flow_match_sigmas(len(want), 5.0)
    assert torch.equal(got[:-1], want.float())
    assert got[-1] == 0


def test_posegen_25_step_table():
    sigmas = flow_match_sigmas()
    assert len(sigmas) == 26
    # values from PoseGen's own table (§7)
    for i, value in {0: 1.0, 1: 0.991735, 13: 0.821918, 24: 0.172414}.items():
        assert sigmas[i].item() == pytest.approx(value, abs=1e-6)
    assert torch.all(sigmas[1:] < sigmas[:-1])


def test_denoise_starts_lower_and_bad_values_raise():
    assert flow_match_sigmas(10, 5.0, 0.5)[0].item() == pytest.approx(5 * 0.5 / (1 + 4 * 0.5))
    with pytest.raises(ValueError):
        flow_match_sigmas(0)
    with pytest.raises(ValueError):
        flow_match_sigmas(10, 5.0, 1.5)


def test_comfyui_simple_scheduler_gives_posegens_25_sigmas():
    """What the README promises KSampler users: simple + 25 steps on a shift-5 model is PoseGen's grid."""
    import comfy.model_sampling
    import comfy.samplers

    class FlowShift5(comfy.model_sampling.ModelSamplingDiscreteFlow, comfy.model_sampling.CONST):
        pass

    class Config:
        sampling_settings = {"shift": 5.0}

    def simple(steps: int) -> torch.Tensor:
        return comfy.samplers.calculate_sigmas(FlowShift5(Config()), "simple", steps)

    assert (simple(25) - flow_match_sigmas(25, 5.0)).abs().max() < 1e-6
    assert (simple(3) - flow_match_sigmas(3)).abs().max() > 1e-4  # where PoseGenScheduler is needed
