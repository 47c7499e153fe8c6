"""The fidelity check itself: it must pass on PoseGen's golden data and fail when the port is wrong."""

import pytest
import torch

from posegen_core.golden import GoldenFolder, compare, run_forward, run_golden, tolerances_from_readme


def test_readme_tolerances_are_read(golden_dir):
    tol = tolerances_from_readme(golden_dir / "README.md")
    assert tol["forward"] == 1e-5 and tol["sampling"] == 1e-4 and tol["exact"] == 0.0


@pytest.mark.parametrize("numerics", ["native", "reference"])
def test_every_case_passes_at_the_readme_tolerances(golden_dir, numerics):
    lines: list[str] = []
    results = run_golden(golden_dir, log=lines.append, numerics=numerics)
    by_name = {r.name: r for r in results}
    required = ["lora_merge (model weights)", "forward out_plain", "forward out_plain_condmode",
                "forward out_plain_nohand", "forward out_base_plain", "forward out_anchor (records K/V)",
                "anchor K step0 block1 (recorded)", "anchor keyword map step0 block1",
                "forward out_base_kvshare_masked",
                "mask forward union/step0_block2", "forward out_base_kvshare_nomask",
                "schedule sigmas (PoseGenScheduler)", "sampling noise (seed 1234)", "sampling base_nokv/final_latents",
                "sampling anch/final_latents (records K/V)", "anchor K/V sa_negative/step1_block2",
                "sampling base/final_latents (KV shared)", "mask sampling curr/step1_block2"]
    for name in required:
        assert by_name[name].passed, by_name[name].line()
    assert all(r.passed for r in results), [r.line() for r in results if not r.passed]
    assert by_name["lora_merge (model weights)"].max_abs == 0.0
    assert all(r.max_abs == 0.0 for r in results if r.name.startswith("mask "))
    assert len(lines) == len(results) >= 39


def _golden_patcher(golden_dir, tmp_path, **config_changes):
    from posegen_core.posegen.checkpoint import load_checkpoint
    from posegen_core.posegen.comfy_model import build_model_patcher

    golden = GoldenFolder(golden_dir)
    golden.model_config = dict(golden.model_config, **config_changes)
    ckpt = load_checkpoint(golden.write_checkpoint_folder(tmp_path))
    return golden, build_model_patcher(ckpt, "base", weight_dtype=torch.float32)


def test_check_fails_for_a_small_weight_error(golden_dir, tmp_path):
    golden, patcher = _golden_patcher(golden_dir, tmp_path)
    with torch.no_grad():
        patcher.model.diffusion_model.blocks[1].ffn[0].weight.mul_(1.001)  # a 0.1 % weight error
    got = run_forward(patcher, golden.tensors("inputs.safetensors"), "x_anchor", "cond_latents_anchor",
                      "hand_latents_anchor")
    result = compare("perturbed", "forward", golden.tolerances["forward"], got,
                     golden.tensors("forward_outputs.safetensors")["out_plain"])
    assert not result.passed and result.max_abs > 10 * result.tolerance


def test_check_fails_for_wrong_reference_positions(golden_dir, tmp_path):
    golden, patcher = _golden_patcher(golden_dir, tmp_path, shift_ref_pos=True)
    got = run_forward(patcher, golden.tensors("inputs.safetensors"), "x_anchor", "cond_latents_anchor",
                      "hand_latents_anchor")
    result = compare("shifted", "forward", golden.tolerances["forward"], got,
                     golden.tensors("forward_outputs.safetensors")["out_plain"])
    assert not result.passed


def test_kv_sharing_changes_the_output_and_the_check_sees_it(golden_dir, tmp_path):
    """Sharing the anchor's K/V moves the base forward by ~4e-2 (golden README); without it the case fails."""
    golden, patcher = _golden_patcher(golden_dir, tmp_path)
    inputs = golden.tensors("inputs.safetensors")
    plain = run_forward(patcher, inputs, "x_base", "cond_latents_base", "hand_latents_base")
    result = compare("kv case without sharing", "forward", golden.tolerances["forward"], plain,
                     golden.tensors("forward_outputs.safetensors")["out_base_kvshare_masked"])
    assert not result.passed and result.max_abs > 1e-2
