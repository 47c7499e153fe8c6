"""The benchmarks keep running as the code changes (tiny sizes; no timing is asserted here)."""

from bench import checkpoint_load, forward_cost


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
