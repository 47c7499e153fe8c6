import pytest
import torch

from posegen_core.schedule import flow_match_sigmas


def test_matches_golden_scheduler(golden_tensors):
    want = golden_tensors("sampling.safetensors")["sigmas"]
    got = flow_match_sigmas(len(want), 5.0)
    assert torch.equal(got[:-1], want.float())
    assert got[-1] == 0


def test_posegen_25_step_table():
    sigmas = flow_match_sigmas()
    assert len(sigmas) == 26
    # values from PoseGen's own table (spec section 7)
    for i, value in {0: 1.0, 1: 0.991735, 13: 0.821918, 24: 0.172414}.items():
        assert sigmas[i].item() == pytest.approx(value, abs=1e-6)
    assert torch.all(sigmas[1:] < sigmas[:-1])


def test_denoise_starts_lower_and_bad_values_raise():
    assert flow_match_sigmas(10, 5.0, 0.5)[0].item() == pytest.approx(5 * 0.5 / (1 + 4 * 0.5))
    with pytest.raises(ValueError):
        flow_match_sigmas(0)
    with pytest.raises(ValueError):
        flow_match_sigmas(10, 5.0, 1.5)
