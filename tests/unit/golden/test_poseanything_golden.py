"""PoseAnything's fidelity check: every golden case passes through our loader, forward, guider and part matching,
and the check notices a wrong port."""

from __future__ import annotations

import pytest
import torch

from posegen_core.golden import GoldenFolder, compare, run_golden


def test_readme_tolerances_are_read(pa_dir):
    from posegen_core.golden.poseanything_cases import tolerances

    tol = tolerances(GoldenFolder(pa_dir))
    assert tol == {"exact": 0.0, "forward": 1e-5, "capture": 1e-6, "sampling": 5e-5}


@pytest.mark.parametrize("numerics", ["native", "reference"])
def test_every_case_passes_at_the_readme_tolerances(pa_dir, numerics):
    lines: list[str] = []
    results = run_golden(pa_dir, log=lines.append, numerics=numerics)
    by_name = {r.name: r for r in results}
    required = ["forward out_plain", "forward out_ptcm_prepass_masks", "forward out_ptcm_random_masks",
                "capture attn_probs", "union_mask released", "match_rows released", "union_mask fixed",
                "sampling cfg1/final_latents", "sampling cfg3/step2_pred_negative", "sampling posecfg3/final_latents",
                "ptcm prepass/step4_pred_positive", "ptcm prepass union_mask (from the run's capture)",
                "ptcm ptcm_run/step5_pred_positive", "ptcm ptcm_run/final_latents"]
    for name in required:
        assert by_name[name].passed, by_name[name].line()
    assert all(r.passed for r in results), [r.line() for r in results if not r.passed]
    assert all(r.max_abs == 0.0 for r in results if r.kind == "exact")
    assert len(lines) == len(results) >= 42


def _forward(patcher, golden: GoldenFolder, options: dict) -> torch.Tensor:
    from posegen_core.golden.poseanything_cases import _forward

    inputs = golden.tensors("inputs.safetensors")
    return _forward(patcher, inputs, inputs["forward_latents"], inputs["forward_timestep"], options)


def test_check_fails_without_the_first_frame_at_timestep_zero(pa_dir, pa_patcher):
    """A per-video timestep (frame 0 noised like the rest) is a plausible porting mistake; the check must see it."""
    import comfy.model_management

    golden = GoldenFolder(pa_dir)
    inputs = golden.tensors("inputs.safetensors")
    comfy.model_management.load_models_gpu([pa_patcher])
    x = torch.cat([inputs["forward_latents"], inputs["skeleton_latents"]], dim=1)
    with torch.no_grad():
        got = pa_patcher.model.diffusion_model(x, inputs["forward_timestep"], context=inputs["context_positive"],
                                               transformer_options={})
    result = compare("uniform t", "forward", 1e-5, got, golden.tensors("forward_outputs.safetensors")["out_plain"])
    assert not result.passed and result.max_abs > 1e-2


def test_check_fails_when_ptcm_masks_are_applied_as_attention_masks(pa_dir, pa_patcher):
    """PTCM masks by zeroing the inputs; restricting queries to the masked tokens instead changes the output."""
    from posegen_core.poseanything.ptcm import PTCM_KEY, PTCMContext

    golden = GoldenFolder(pa_dir)
    prepass = golden.tensors("prepass_ptcm.safetensors")
    want = golden.tensors("forward_outputs.safetensors")["out_ptcm_prepass_masks"]
    good = _forward(pa_patcher, golden, {PTCM_KEY: PTCMContext(prepass["prepass/first_masks"].bool(),
                                                               prepass["prepass/union_mask"].bool())})
    assert compare("good", "forward", 1e-5, good, want).passed
    full = torch.ones_like(prepass["prepass/union_mask"]).bool()
    wrong = _forward(pa_patcher, golden, {PTCM_KEY: PTCMContext(prepass["prepass/first_masks"].bool(), full)})
    assert not compare("all queries", "forward", 1e-5, wrong, want).passed


def test_ptcm_is_gated_by_the_sampler_step(pa_dir, pa_patcher):
    from posegen_core.poseanything.ptcm import PTCM_KEY, PTCMContext

    golden = GoldenFolder(pa_dir)
    prepass = golden.tensors("prepass_ptcm.safetensors")
    context = PTCMContext(prepass["prepass/first_masks"].bool(), prepass["prepass/union_mask"].bool(),
                          frozenset(range(2)))
    schedule = torch.tensor([1.0, 0.9, 0.8, 0.0])
    outputs = golden.tensors("forward_outputs.safetensors")
    for step, key in ((1, "out_ptcm_prepass_masks"), (2, "out_plain")):
        options = {PTCM_KEY: context, "sample_sigmas": schedule, "sigmas": schedule[step:step + 1]}
        assert compare(f"step {step}", "forward", 1e-5, _forward(pa_patcher, golden, options), outputs[key]).passed


def test_masks_for_another_grid_are_a_clear_error(pa_dir, pa_patcher):
    from posegen_core.errors import PoseGenInputError
    from posegen_core.poseanything.ptcm import PTCM_KEY, PTCMContext

    golden = GoldenFolder(pa_dir)
    context = PTCMContext(torch.ones(2, 4, 4).bool(), torch.ones(20, 2, 4, 4).bool())
    with pytest.raises(PoseGenInputError, match="3x4 tokens"):
        _forward(pa_patcher, golden, {PTCM_KEY: context})
