"""Loading a PoseGen checkpoint folder (pickled fp32 shards + LoRA) versus its converted single file, in one run.

Writes a mid-size PoseGen model of the real layout, converts it (fp32 "keep" and bf16), then loads each form
through LoadPoseGenModel's code path in a fresh process and reports time and peak RSS above the process's
baseline, as ratios against the shard folder.

    python -m bench.checkpoint_load [--dim 1024 --layers 8]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.rss import PeakRss

REPO_ROOT = Path(__file__).resolve().parents[1]


def _measure_child(path: str, dtype: str) -> None:
    """Runs in a fresh process: load once and report time and RSS growth."""
    from bench import comfy_for_benchmarks

    comfy_for_benchmarks()
    import torch

    from posegen_core.posegen.comfy_model import load_model

    torch_dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[dtype]
    with PeakRss() as rss:
        start = time.perf_counter()
        model = load_model(Path(path), "auto", torch_dtype)
        seconds = time.perf_counter() - start
    del model
    print(json.dumps({"seconds": seconds, "peak_rss_growth_mib": (rss.peak - rss.baseline) / 2**20}))


def _measure(path: Path, dtype: str, repeats: int) -> dict:
    """Median over fresh processes (the page cache is warm for every form: all were just written)."""
    runs = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-m", "bench.checkpoint_load", "--child", str(path), dtype],
                             capture_output=True, text=True, cwd=REPO_ROOT, check=True)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {key: sorted(r[key] for r in runs)[len(runs) // 2] for key in runs[0]}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, default=1024)
    parser.add_argument("--layers", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", nargs=2, metavar=("PATH", "DTYPE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _measure_child(*args.child)
        return {}

    from bench import comfy_for_benchmarks

    comfy_for_benchmarks()
    import torch

    from devtools.tiny_models import make_tiny_posegen, tiny_config, write_tiny_posegen
    from posegen_core.posegen.checkpoint import load_checkpoint
    from posegen_core.posegen.checkpoint_writer import write_converted_file

    config = tiny_config(dim=args.dim, num_heads=args.dim // 128, num_layers=args.layers, ffn_dim=4 * args.dim,
                         text_dim=4096, freq_dim=256)
    with tempfile.TemporaryDirectory(prefix="posegen-bench-") as tmp:
        folder = write_tiny_posegen(Path(tmp), make_tiny_posegen(config))[0]
        converted_fp32 = write_converted_file(Path(tmp) / "keep.safetensors", load_checkpoint(folder), "base", None)
        converted_bf16 = write_converted_file(Path(tmp) / "bf16.safetensors", load_checkpoint(folder), "base",
                                              torch.bfloat16)
        sizes = {"shards_fp32": sum(p.stat().st_size for p in folder.glob("*.bin")),
                 "converted_fp32": converted_fp32.stat().st_size, "converted_bf16": converted_bf16.stat().st_size}
        runs = {
            "shards_fp32 -> fp32 model": _measure(folder, "fp32", args.repeats),
            "converted_fp32 -> fp32 model": _measure(converted_fp32, "fp32", args.repeats),
            "shards_fp32 -> bf16 model": _measure(folder, "bf16", args.repeats),
            "converted_bf16 -> bf16 model": _measure(converted_bf16, "bf16", args.repeats),
        }
    params = sizes["converted_fp32"] / 4
    result = {
        "parameters_millions": round(params / 1e6, 1),
        "file_bytes": sizes,
        "runs": runs,
        "time_ratio_converted_over_shards": {
            "fp32": runs["converted_fp32 -> fp32 model"]["seconds"] / runs["shards_fp32 -> fp32 model"]["seconds"],
            "bf16": runs["converted_bf16 -> bf16 model"]["seconds"] / runs["shards_fp32 -> bf16 model"]["seconds"],
        },
        "peak_rss_ratio_converted_over_shards": {
            "fp32": runs["converted_fp32 -> fp32 model"]["peak_rss_growth_mib"]
            / runs["shards_fp32 -> fp32 model"]["peak_rss_growth_mib"],
            "bf16": runs["converted_bf16 -> bf16 model"]["peak_rss_growth_mib"]
            / runs["shards_fp32 -> bf16 model"]["peak_rss_growth_mib"],
        },
    }
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
