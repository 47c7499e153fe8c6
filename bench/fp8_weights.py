"""fp8 weights: converted file sizes and how far a sampled latent moves from the fp32 one, in one run.

The PoseGen golden set's model (tiny, random weights: a worst case, since trained weights are smoother) is
loaded in fp32, bf16, fp8_e4m3fn and fp8_e5m2 and samples the golden "base_nokv" case (PoseGen's settings through
ComfyUI's CFG guider and Euler) from the same noise; the converted files are written in each dtype.

    python -m bench.fp8_weights [--golden tests/data/golden/posegen_tiny_v1]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DTYPES = ("fp32", "bf16", "fp8_e4m3fn", "fp8_e5m2")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--golden", type=Path, default=REPO_ROOT / "tests" / "data" / "golden" / "posegen_tiny_v1")
    args = parser.parse_args(argv)

    from bench import comfy_for_benchmarks

    comfy_for_benchmarks()
    import torch

    from posegen_core.golden import GoldenFolder, run_sampling
    from posegen_core.posegen.checkpoint import load_checkpoint
    from posegen_core.posegen.checkpoint_writer import write_converted_file
    from posegen_core.posegen.comfy_model import build_model_patcher, load_model

    torch_dtypes = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp8_e4m3fn": torch.float8_e4m3fn,
                    "fp8_e5m2": torch.float8_e5m2}
    golden = GoldenFolder(args.golden)
    sizes, finals = {}, {}
    with tempfile.TemporaryDirectory(prefix="posegen-fp8-") as tmp:
        folder = golden.write_checkpoint_folder(Path(tmp))
        sizes["shard_folder_fp32"] = sum(p.stat().st_size for p in folder.iterdir())
        for name in DTYPES:
            path = write_converted_file(Path(tmp) / f"{name}.safetensors", load_checkpoint(folder), "base",
                                        torch_dtypes[name])
            sizes[name] = path.stat().st_size
            model = (build_model_patcher(load_checkpoint(folder), "base", torch.float32) if name == "fp32"
                     else load_model(path, "base", torch_dtypes[name]))
            _, finals[name] = run_sampling(model, golden, "pose_latent_base", "hand_latents_base")
            del model
    reference = finals["fp32"]
    scale = reference.abs().max().item()
    result = {
        "file_bytes": sizes,
        "file_ratio_over_bf16": {k: round(v / sizes["bf16"], 3) for k, v in sizes.items()},
        "final_latent_vs_fp32": {
            name: {"max_abs": (finals[name] - reference).abs().max().item(),
                   "mean_abs": (finals[name] - reference).abs().mean().item(),
                   "max_abs_relative": (finals[name] - reference).abs().max().item() / scale}
            for name in DTYPES[1:]},
        "latent_abs_max": scale,
    }
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
