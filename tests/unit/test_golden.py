"""The fidelity check itself: it must pass on PoseGen's golden data and fail when the port is wrong."""

import torch

from posegen_core.golden import GoldenFolder, compare, run_forward, run_golden, tolerances_from_readme


def test_readme_tolerances_are_read(golden_dir):
    tol = tolerances_from_readme(golden_dir / "README.md")
    assert tol["forward"] == 1e-5 and tol["sampling"] == 1e-4 and tol["exact"] == 0.0


def test_all_plain_cases_pass_at_the_readme_tolerances(golden_dir):
    lines: list[str] = []
    results = run_golden(golden_dir, log=lines.append)
    by_name = {r.name: r for r in results}
    required = ["lora_merge (model weights)", "forward out_plain", "forward out_plain_condmode",
                "forward out_plain_nohand", "forward out_base_plain", "schedule sigmas (PoseGenScheduler)",
                "sampling noise (seed 1234)", "sampling anch/final_latents", "sampling base_nokv/final_latents"]
    for name in required:
        assert by_name[name].ran and by_name[name].passed, by_name[name].line()
    assert by_name["lora_merge (model weights)"].max_abs == 0.0
    assert len(lines) == len(results)


def _golden_patcher(golden_dir, tmp_path, **config_changes):
    from posegen_core.checkpoint import load_checkpoint
    from posegen_core.comfy_model import build_model_patcher

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
