"""The benchmarks keep running as the code changes (tiny sizes; no timing is asserted here)."""

from bench import camera_term, checkpoint_load, forward_speed, fp8_weights


def test_forward_speed_benchmark_runs():
    result = forward_speed.main(["--dim", "64", "--heads", "1", "--layers", "2", "--frames", "3", "--height", "8",
                                 "--width", "6", "--repeats", "1", "--attentions", "pytorch", "--segment-dim", "64",
                                 "--segment-layers", "3", "--segment-shared-blocks", "1", "--segment-steps", "3",
                                 "--segment-frames", "2", "--segment-height", "8", "--segment-width", "8",
                                 "--segment-repeats", "1", "--threads", "2"])
    forward = result["forward"]
    assert forward["video_tokens"] == 3 * 4 * 3 and forward["token_ratio"] == 4 / 3
    assert forward["gflop"]["native"] < forward["gflop"]["ours"] < forward["gflop"]["native_same_tokens"] * 1.1
    assert all(seconds > 0 for seconds in forward["attention"]["pytorch"]["seconds"].values())
    assert result["block"]["shared_over_unshared"] > 0
    memory = result["memory"]["real_size_gib_bf16"]
    assert memory["reference"]["qkv"] > memory["native"]["qkv"]  # float64 RoPE copies at real size
    segment = result["segment"]
    # the run builds its RoPE table and the reference's t = 0 modulation once, for 3 steps of batched CFG
    assert segment["run_cache_of_the_last_run"]["built"] == {"rope": 1, "reference modulation": 1}
    assert segment["profile_of_one_shared_segment"]["posegen_forward"]["calls"] == 3
    assert segment["profile_of_one_shared_segment"]["video_and_reference_rope"]["calls"] == 1


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


def test_long_video_memory_benchmark_runs_at_tiny_size(capsys):
    from bench import long_video_memory

    result = long_video_memory.main(["--tiny"])
    assert result["file_equals_image"] is True  # the lossless file holds exactly the IMAGE frames
    assert result["config"]["lengths"] == {"1x": 42, "2x": 84}
    for path in ("streamed", "image"):
        for length, frames in result["config"]["lengths"].items():
            run = result["runs"][path][length]
            assert run["frames"] == frames and run["peak_rss_mib"] > run["rss_before_run_mib"] > 0
    assert result["runs"]["streamed"]["2x"]["video_bytes"] > 0
    out = capsys.readouterr().out
    assert "| Path | Length | Frames | Peak RSS MiB |" in out and "check streamed 2x/1x peak RSS <= 1.10" in out


def test_kv_storage_benchmark_runs_at_tiny_size(capsys):
    from bench import kv_storage

    result = kv_storage.main(["--tiny", "--dtypes", "fp32"])["fp32"]
    assert result["anchor_first_over_lockstep_bytes"] == 2  # two shared steps held at once against one
    assert result["fp8_over_exact_bytes"] == 0.25  # float8 K/V against float32 ones
    assert result["lockstep_frames_identical"] and result["lockstep_latents_identical"]
    assert result["fp8_anchor_frames_identical"]
    assert 0 < result["fp8_vs_exact_frames"]["max_abs"] < 0.1
    assert 0 < result["fp8_vs_exact_final_latents"]["max_abs"] < 0.5
    assert "| Weights (computed in) | Storage | Order | Peak K/V KiB |" in capsys.readouterr().out
