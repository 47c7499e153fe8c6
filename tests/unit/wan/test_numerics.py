"""The numerics switch: float32 RoPE tables by default, float64 (the public code's) on request."""

import pytest
import torch

import posegen_core.poseanything.dit_forward as pa_forward
import posegen_core.posegen.dit_forward as pg_forward
from posegen_core.errors import PoseGenInputError
from posegen_core.golden import GoldenFolder, run_forward
from posegen_core.golden.poseanything_cases import _forward as pa_run_forward
from posegen_core.wan.numerics import NUMERICS_KEY, numerics_of, set_numerics


def _table_dtypes(monkeypatch, module) -> list[torch.dtype]:
    seen: list[torch.dtype] = []
    original = module.apply_rope

    def recording(x, table):
        seen.append(table.dtype)
        return original(x, table)

    monkeypatch.setattr(module, "apply_rope", recording)
    return seen


def test_unknown_mode_names_the_setting():
    with pytest.raises(PoseGenInputError) as err:
        numerics_of({NUMERICS_KEY: "float16"})
    assert err.value.input_name == "numerics" and "native, reference" in str(err.value)


def test_posegen_rotates_in_float32_unless_reference_numerics_are_asked_for(posegen_golden_patcher, monkeypatch):
    golden, patcher = posegen_golden_patcher
    inputs = golden.tensors("inputs.safetensors")
    seen = _table_dtypes(monkeypatch, pg_forward)
    native = run_forward(patcher, inputs, "x_anchor", "cond_latents_anchor", "hand_latents_anchor")
    assert seen and set(seen) == {torch.float32}
    seen.clear()
    reference = patcher.clone()
    set_numerics(reference, "reference")
    wide = run_forward(reference, inputs, "x_anchor", "cond_latents_anchor", "hand_latents_anchor")
    assert seen and set(seen) == {torch.float64}
    # the modes differ in rounding only: a change, far below the golden tolerance
    assert 0 < (native - wide).abs().max() < 1e-5
    assert NUMERICS_KEY not in patcher.model_options.get("transformer_options", {})  # the clone took it


def test_poseanything_rotates_in_float32_unless_reference_numerics_are_asked_for(pa_dir, pa_patcher, monkeypatch):
    golden = GoldenFolder(pa_dir)
    inputs = golden.tensors("inputs.safetensors")
    seen = _table_dtypes(monkeypatch, pa_forward)
    pa_run_forward(pa_patcher, inputs, inputs["forward_latents"], inputs["forward_timestep"], {})
    assert seen and set(seen) == {torch.float32}
    seen.clear()
    pa_run_forward(pa_patcher, inputs, inputs["forward_latents"], inputs["forward_timestep"],
                   {NUMERICS_KEY: "reference"})
    assert seen and set(seen) == {torch.float64}


@pytest.mark.parametrize("mode", ["native", "reference"])
def test_forward_with_autograd_gives_the_same_output_and_a_gradient(posegen_golden_patcher, mode):
    """In-place updates and ``out=`` writes run only without autograd: with it (training) the forward records a
    graph that backpropagates, and gives what the no-grad forward gives."""
    import comfy.model_management

    from posegen_core.golden import sampler_transformer_options

    golden, patcher = posegen_golden_patcher
    set_numerics(patcher, mode)
    inputs = golden.tensors("inputs.safetensors")
    comfy.model_management.load_models_gpu([patcher])
    wan = patcher.model.diffusion_model
    x = torch.cat([inputs["x_anchor"], inputs["cond_latents_anchor"]], dim=1).float()
    kwargs = dict(clip_fea=inputs["clip_feature"].float(), reference_latent=inputs["ref_latents"].float(),
                  posegen_hand_latent=inputs["hand_latents_anchor"].float(),
                  transformer_options=sampler_transformer_options(patcher))
    t, context = inputs["timestep"].float(), inputs["context_pos"].float()
    with torch.no_grad():
        expected = wan(x, t, context, **kwargs)
    x_grad = x.clone().requires_grad_(True)
    with torch.enable_grad():
        out = wan(x_grad, t, context, **kwargs)
        out.square().sum().backward()
    assert torch.allclose(out.detach(), expected, atol=1e-6, rtol=0)
    assert x_grad.grad is not None and torch.isfinite(x_grad.grad).all() and x_grad.grad.abs().sum() > 0
