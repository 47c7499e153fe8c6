"""What the anchor's K/V storage costs and changes in a long video with KV sharing.

The anchor segment's self-attention K/V of the shared steps and blocks are the largest thing KV sharing holds
(at PoseGen's real size about 3 GiB per shared step in bf16). Two options cut it (``options.KVSharing``):

- ``lockstep``: the anchor and the other base segments go through the shared steps together, so one step's K/V
  are held instead of all of them. Exact: the frames must be identical, and the peak must be smaller by the number
  of shared steps.
- ``kv_storage`` "fp8_e4m3fn": the K/V are stored in float8 (per-tensor scale): a quarter of float32, half of
  bf16, not exact. The anchor segment is unchanged (it never reads its own K/V); the sharing segments move by the
  fp8 rounding, measured here on the frames and on every chunk's final latent.

On the tiny real-architecture models (``devtools.tiny_models``, random weights) in float32 and bf16 weights, one
run each, one process; the peak K/V bytes are the run's own count (``LongVideoResult.kv_peak_bytes``).

    python -m bench.kv_storage                   # 160x96, 3 base segments, 3 steps of which 2 shared
    python -m bench.kv_storage --tiny            # 32x48, 2 base segments (the test's)
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path

MIB = 2**20
DTYPES = ("fp32", "bf16")


def frames_for(base_segments: int, segment: int, head: int, tail: int) -> int:
    """Driving length whose plan has exactly ``base_segments`` base segments (no padding)."""
    return segment + (base_segments - 1) * (2 * segment - head - tail)


def _models(tmp: Path, dtype):
    import comfy.sd
    import comfy.utils

    from devtools.tiny_models import write_all
    from posegen_core.posegen.comfy_model import load_model

    paths = write_all(tmp)
    vae = comfy.sd.VAE(sd=comfy.utils.load_torch_file(str(paths["vae"])))
    return load_model(paths["posegen_base"], "auto", dtype), load_model(paths["posegen_cond"], "auto", dtype), vae


def _inputs(vae, frames: int, width: int, height: int):
    import comfy.clip_vision
    import torch

    from bench.long_video_memory import random_poses
    from posegen_core.longvideo.frame_sources import RenderedPoses
    from posegen_core.longvideo.run import LongVideoInputs
    from posegen_core.longvideo.subject import SUBJECT_TOKENS_KEY

    g = torch.Generator().manual_seed(0)
    clip = comfy.clip_vision.Output()
    clip["penultimate_hidden_states"] = torch.randn(1, 257, 1280, generator=g)
    positive = [[torch.randn(1, 16, 64, generator=g), {SUBJECT_TOKENS_KEY: [3]}]]  # attention masks: the subject
    negative = [[torch.randn(1, 16, 64, generator=g), {}]]
    poses = RenderedPoses(random_poses(frames, width, height), "posegen", width, height)
    return LongVideoInputs(positive, negative, vae, clip, torch.rand(1, height, width, 3, generator=g), poses)


def _diff(a, b) -> dict:
    d = (a.float() - b.float()).abs()
    return {"max_abs": float(d.max()), "mean_abs": float(d.mean())}


def _latents_diff(a: dict, b: dict) -> dict:
    import torch

    names = sorted(a)
    assert names == sorted(b)
    flat = [torch.cat([store[n]["x"].float().flatten() for n in names]) for store in (a, b)]
    return _diff(*flat) | {"chunks": len(names)}


def run_dtype(args: argparse.Namespace, name: str) -> dict:
    import torch

    from posegen_core.longvideo.options import KVSharing, LongVideoSettings, SegmentLayout
    from posegen_core.longvideo.run import generate_long_video
    from posegen_core.longvideo.work_store import MemoryStore

    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[name]
    width, height = args.size
    frames = frames_for(args.segments, args.segment, args.head, args.tail)
    kv = KVSharing(anchor_segment=0, shared_steps=args.shared_steps, shared_blocks=1, mask_mode="attention",
                   max_block_idx=1)
    settings = LongVideoSettings(width=width, height=height, steps=args.steps,
                                 layout=SegmentLayout(args.segment, args.head, args.tail), kv_sharing=kv)
    configs = {
        "lockstep, model dtype": kv,
        "lockstep, fp8_e4m3fn": replace(kv, kv_storage="fp8_e4m3fn"),
        "anchor first, model dtype": replace(kv, lockstep=False),
    }
    runs = {}
    with tempfile.TemporaryDirectory(prefix="posegen-bench-") as tmp:
        base, cond, vae = _models(Path(tmp), dtype)
        compute = base.model.manual_cast_dtype or base.model.get_dtype()  # on the CPU ComfyUI computes bf16 in fp32
        inputs = _inputs(vae, frames, width, height)
        for label, kv_sharing in configs.items():
            store = MemoryStore()
            start = time.perf_counter()
            result = generate_long_video(base, cond, inputs, replace(settings, kv_sharing=kv_sharing), None, None,
                                         store=store)
            runs[label] = {"result": result, "latents": store.entries, "seconds": time.perf_counter() - start}
    exact, fp8, whole = (runs[label] for label in configs)
    # the anchor (base segment 0) up to where the first transition's cross-fade starts
    anchor_frames = slice(0, args.segment - args.head)
    return {
        "weights": name, "compute_dtype": str(compute).removeprefix("torch."),
        "frames": int(exact["result"].frames.shape[0]),
        "kv_peak_bytes": {label: r["result"].kv_peak_bytes for label, r in runs.items()},
        "seconds": {label: round(r["seconds"], 1) for label, r in runs.items()},
        "fp8_over_exact_bytes": fp8["result"].kv_peak_bytes / exact["result"].kv_peak_bytes,
        "fp8_vs_exact_frames": _diff(fp8["result"].frames, exact["result"].frames),
        "fp8_vs_exact_final_latents": _latents_diff(fp8["latents"], exact["latents"]),
        "fp8_anchor_frames_identical": bool(torch.equal(fp8["result"].frames[anchor_frames],
                                                        exact["result"].frames[anchor_frames])),
        "frames_max_abs": float(exact["result"].frames.abs().max()),
        "anchor_first_over_lockstep_bytes": whole["result"].kv_peak_bytes / exact["result"].kv_peak_bytes,
        "lockstep_frames_identical": bool(torch.equal(whole["result"].frames, exact["result"].frames)),
        "lockstep_latents_identical": all(torch.equal(whole["latents"][n]["x"], exact["latents"][n]["x"])
                                          for n in exact["latents"]),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=lambda v: tuple(int(x) for x in v.split("x")), default=(160, 96),
                        help="WIDTHxHEIGHT (multiples of 16)")
    parser.add_argument("--segment", type=int, default=17)
    parser.add_argument("--head", type=int, default=5)
    parser.add_argument("--tail", type=int, default=4)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--shared-steps", type=int, default=2)
    parser.add_argument("--segments", type=int, default=3, help="base segments")
    parser.add_argument("--dtypes", nargs="+", default=list(DTYPES), choices=DTYPES, help="model weights")
    parser.add_argument("--tiny", action="store_true", help="32x48, segment 9, 2 base segments (a smoke run)")
    parser.add_argument("--json", action="store_true", help="also print the results as JSON")
    args = parser.parse_args(argv)
    if args.tiny:
        args.size, args.segment, args.head, args.tail, args.segments = (32, 48), 9, 1, 4, 2
    from bench import comfy_for_benchmarks

    comfy_for_benchmarks()
    results = {name: run_dtype(args, name) for name in args.dtypes}

    w, h = args.size
    print(f"\nAnchor K/V storage: tiny models at {w}x{h}, segment {args.segment} (overlaps {args.head}/{args.tail}), "
          f"{args.segments} base segments, {args.steps} steps of which {args.shared_steps} shared, last block, "
          f"attention masks\n")
    print("| Weights (computed in) | Storage | Order | Peak K/V KiB | vs lockstep model dtype | s |")
    print("|---|---|---|---|---|---|")
    for name, r in results.items():
        exact = r["kv_peak_bytes"]["lockstep, model dtype"]
        for label, peak in r["kv_peak_bytes"].items():
            order, storage = label.split(", ")
            print(f"| {name} ({r['compute_dtype']}) | {storage} | {order} | {peak / 1024:.1f} | {peak / exact:.2f} | "
                  f"{r['seconds'][label]} |")
    print("\n| Weights | fp8 vs exact: frames max abs | mean abs | final latents max abs | mean abs | anchor frames "
          "identical | lockstep = anchor first (frames, latents) |")
    print("|---|---|---|---|---|---|---|")
    for name, r in results.items():
        f, lat = r["fp8_vs_exact_frames"], r["fp8_vs_exact_final_latents"]
        print(f"| {name} | {f['max_abs']:.4f} | {f['mean_abs']:.5f} | {lat['max_abs']:.4f} | {lat['mean_abs']:.5f} | "
              f"{r['fp8_anchor_frames_identical']} | {r['lockstep_frames_identical']}, "
              f"{r['lockstep_latents_identical']} |")
    for name, r in results.items():
        print(f"{name}: anchor first / lockstep peak K/V = {r['anchor_first_over_lockstep_bytes']:.2f} "
              f"({args.shared_steps} shared steps); fp8 / model dtype = {r['fp8_over_exact_bytes']:.3f}")
    if args.json:
        print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
