"""The benchmarks keep running as the code changes (tiny sizes; no timing is asserted here)."""

from bench import camera_term, checkpoint_load, forward_cost, fp8_weights


def test_forward_cost_benchmark_runs():
    result = forward_cost.main(["--dim", "64", "--layers", "2", "--frames", "3", "--height", "8", "--width", "6",
                                "--repeats", "1"])
    assert result["video_tokens"] == 3 * 4 * 3
    assert result["token_ratio_with_reference"] == 4 / 3
    assert all(seconds > 0 for seconds in result["seconds"].values())


def test_checkpoint_load_benchmark_runs():
    result = checkpoint_load.main(["--dim", "128", "--layers", "1", "--repeats", "1"])
    assert set(result["runs"]) == {"shards_fp32 -> fp32 model", "converted_fp32 -> fp32 model",
                                   "shards_fp32 -> bf16 model", "converted_bf16 -> bf16 model"}
    assert result["file_bytes"]["converted_bf16"] < result["file_bytes"]["converted_fp32"]


def test_camera_term_benchmark_runs():
    result = camera_term.main(["--frames", "5", "--steps", "2", "--amounts", "0.5", "--size", "64", "64"])
    assert len(result["rows"]) == len(camera_term.MOTIONS)
    for row in result["rows"]:
        assert row["final_delta_cfg1"] == [0.0, 0.0]  # cfg 1 never evaluates the negative branch
        assert row["negative_pose_latent_delta"][0] == 0.0 and row["negative_pose_latent_delta"][1] > 0
        assert row["final_delta_cfg"][1] > 0  # with CFG the camera-moved negative reaches the result


def test_fp8_weights_benchmark_runs():
    result = fp8_weights.main([])
    sizes, errors = result["file_bytes"], result["final_latent_vs_fp32"]
    assert sizes["fp8_e4m3fn"] == sizes["fp8_e5m2"] < 0.6 * sizes["bf16"] < 0.6 * sizes["fp32"]
    assert 0 < errors["bf16"]["max_abs"] < errors["fp8_e4m3fn"]["max_abs"]
    assert 0 < errors["bf16"]["max_abs"] < errors["fp8_e5m2"]["max_abs"]


def test_gpu_check_runs_its_cpu_path_at_tiny_size():
    from bench import gpu_check

    result = gpu_check.main(["--tiny", "--configs", "bf16", "--steps", "2"])["bf16"]
    assert "error" not in result, result
    assert result["anchor_kv_gib"] > 0  # the anchor recorded K/V and the base shared them
    assert list(result["chunks"]) == ["anchor (records K/V)", "base (shares K/V)", "transition (cond model)"]
    assert all(len(chunk["seconds_per_step"]) == 2 for chunk in result["chunks"].values())
    assert result["peak_ram_gib"] >= 0 and result["size"] == [64, 64, 17]
