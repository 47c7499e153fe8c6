"""The real-size GPU check: PoseGen's base and cond DiTs at full size (Wan2.1-I2V-14B geometry, random weights, no
download) sample a KV-recording anchor, a KV-sharing base segment and a transition at 720x1280x81 for a few steps,
through the pack's own chunk sampler and ComfyUI's model management. For each configuration — bf16, fp8_e4m3fn,
and bf16 with ComfyUI's --reserve-vram set so that only 24 GB stay usable (a 24 GB card imitated) — it prints
seconds per step of each chunk, peak VRAM and peak RAM, as JSON.

    python -m bench.gpu_check                 # the full check on one GPU
    python -m bench.gpu_check --steps 2       # steadier per-step figures, about twice the sampling time
    python -m bench.gpu_check --tiny          # the same code path at tiny size on the CPU (what the tests run)

Expected time, by arithmetic (not yet measured): one forward at 79,200 tokens is about 7.3 PFLOP (2 x 79,200 x
13.6 B linear weights + 4 x 79,200^2 x 5,120 x 40 blocks of attention), two per step with CFG, so about 35 s per
step at 400 TFLOP/s; with one step per chunk, three chunks and three configurations plus building and loading the
models, about 7-8 minutes.

Each configuration runs in a fresh process (ComfyUI reads --reserve-vram when it is imported). The VAE is not
timed: the chunks sample from random pose latents of the right shape; the reference latent is encoded once.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path

from bench.rss import PeakRss

REPO_ROOT = Path(__file__).resolve().parents[1]
GIB = 2**30
# Wan2.1-I2V-14B-720P, PoseGen's released geometry (docs/method/posegen.md §0, §1.3)
FULL = dict(dim=5120, in_dim=36, ffn_dim=13824, out_dim=16, text_dim=4096, freq_dim=256, num_heads=40,
            num_layers=40)
TINY = dict(dim=128, in_dim=36, ffn_dim=256, out_dim=16, text_dim=64, freq_dim=64, num_heads=2, num_layers=4)
CONFIGS = {"bf16": ("bf16", None), "fp8_e4m3fn": ("fp8_e4m3fn", None), "bf16_24gb": ("bf16", 24.0)}


def _random_checkpoint(config, variant: str, device, dtype, seed: int):
    """A PoseGen checkpoint of ``config``'s shapes with trained-scale random values, made on ``device`` (fast on a
    GPU) and handed over on the CPU as a loader would; the model is built on the meta device for its shapes."""
    import torch

    from posegen_core.posegen.checkpoint import PoseGenCheckpoint
    from posegen_core.posegen.comfy_model import PoseGenWan21Config

    model_config = PoseGenWan21Config(config)
    model_config.set_inference_dtype(torch.float32, None)
    shapes = {k: v.shape for k, v in model_config.get_model({}, device=torch.device("meta")).diffusion_model
              .state_dict().items()}
    g = torch.Generator(device=device).manual_seed(seed)
    state = {}
    for key, shape in shapes.items():
        value = torch.randn(shape, generator=g, device=device, dtype=torch.float32)
        if key.endswith("modulation"):
            value /= math.sqrt(config.dim)
        elif "norm" in key:
            value = (0.1 * value) if key.endswith("bias") else (1 + 0.1 * value)
        elif key.endswith("bias") or len(shape) < 2:
            value *= 0.02
        else:
            value /= math.sqrt(math.prod(shape[1:]))
        state[key] = value.to(dtype).cpu()
    return PoseGenCheckpoint(config=config, state_dict=state, variant=variant, source=Path(f"random-{variant}"))


def _child(args: argparse.Namespace) -> dict:
    from posegen_core.comfy_env import comfyui_path

    sys.path.insert(0, str(comfyui_path()))
    import comfy.cli_args  # read by comfy.model_management when it is first imported: set before that
    import torch

    if not torch.cuda.is_available():
        comfy.cli_args.args.cpu = True
    elif args.reserve_to is not None:
        total = torch.cuda.get_device_properties(0).total_memory / GIB
        comfy.cli_args.args.reserve_vram = max(0.0, total - args.reserve_to)
    from posegen_core.comfy_env import ensure_comfy_importable

    ensure_comfy_importable()
    import comfy.clip_vision
    import comfy.model_management
    import comfy.sd
    import torch

    from devtools.tiny_models import tiny_vae_state_dict
    from posegen_core.longvideo.chunk_sampler import ChunkSampler
    from posegen_core.longvideo.kvshare import AnchorRecord, KVShareContext, KVShareSettings
    from posegen_core.longvideo.options import LongVideoSettings, SegmentLayout
    from posegen_core.longvideo.plan import plan_segments, transition_mask_channels
    from posegen_core.longvideo.run import LongVideoInputs
    from posegen_core.posegen.comfy_model import build_model_patcher
    from posegen_core.posegen.conditioning import MASK_CHANNELS
    from posegen_core.posegen.config import PoseGenConfig

    cuda = torch.cuda.is_available()
    device = comfy.model_management.get_torch_device()
    dtypes = {"bf16": torch.bfloat16, "fp8_e4m3fn": torch.float8_e4m3fn, "fp32": torch.float32}
    weight_dtype = dtypes[args.dtype]
    sizes = TINY if args.tiny else FULL
    config = PoseGenConfig(**sizes, eps=1e-6, patch_size=(1, 2, 2), has_image_input=True, has_image_pos_emb=False,
                           shift_ref_pos=False, use_hand=True, use_hand_proj=False)
    width, height, frames = (64, 64, 17) if args.tiny else (720, 1280, 81)
    made = time.perf_counter()
    with PeakRss() as rss:
        base = build_model_patcher(_random_checkpoint(config, "base", device, torch.bfloat16, 0), "base",
                                   weight_dtype)
        cond = build_model_patcher(_random_checkpoint(config, "cond", device, torch.bfloat16, 1), "cond",
                                   weight_dtype)
        vae = comfy.sd.VAE(sd=tiny_vae_state_dict(dim=8 if args.tiny else 96))
        built = time.perf_counter() - made
        g = torch.Generator().manual_seed(0)
        clip = comfy.clip_vision.Output()
        clip["penultimate_hidden_states"] = torch.randn(1, 257, 1280, generator=g)
        positive = [[torch.randn(1, 512 if not args.tiny else 16, sizes["text_dim"], generator=g), {}]]
        negative = [[torch.randn(1, 512 if not args.tiny else 16, sizes["text_dim"], generator=g), {}]]
        reference = torch.rand(1, height, width, 3, generator=g)
        settings = LongVideoSettings(width=width, height=height, steps=args.steps,
                                     layout=SegmentLayout(frames, 1 + 4 * ((frames // 4) // 4), 4 * (frames // 16)))
        inputs = LongVideoInputs(positive, negative, vae, clip, reference, torch.zeros(frames, height, width, 3))
        stamps: list[float] = []
        chunks = ChunkSampler(inputs, settings, total_steps=3 * args.steps,
                              progress=lambda done, total, preview: stamps.append(time.perf_counter()))
        latent_t = 1 + (frames - 1) // 4
        pose_latent = torch.randn(1, 16, latent_t, height // 8, width // 8, generator=g)
        layers = config.num_layers
        kv = KVShareSettings(steps=frozenset(range(args.kv_steps)), blocks=frozenset(range(layers - args.kv_blocks,
                                                                                            layers)),
                             mask_mode="none")
        record = AnchorRecord(storage=device)
        plan = plan_segments(frames, frames, settings.layout.head_overlap, settings.layout.tail_overlap)
        runs = [("anchor (records K/V)", base, torch.zeros(MASK_CHANNELS, latent_t),
                 KVShareContext(kv, "record", record)),
                ("base (shares K/V)", base, torch.zeros(MASK_CHANNELS, latent_t), KVShareContext(kv, "share", record)),
                ("transition (cond model)", cond, transition_mask_channels(plan), None)]
        results = {}
        for label, model, given, share in runs:
            if cuda:
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
            loading = time.perf_counter()
            comfy.model_management.load_models_gpu([model])  # timed apart from the steps
            loaded = time.perf_counter() - loading
            before = len(stamps)
            start = time.perf_counter()
            with torch.inference_mode():
                chunks.sample(model, pose_latent, None, given, share, label)
            if cuda:
                torch.cuda.synchronize()
            times = [start, *stamps[before:]]
            results[label] = {
                "load_seconds": round(loaded, 2),
                "seconds_per_step": [round(b - a, 3) for a, b in zip(times, times[1:], strict=False)],
                "peak_vram_gib": round(torch.cuda.max_memory_allocated() / GIB, 2) if cuda else None,
            }
        kv_bytes = record.nbytes
        record.clear()
    return {"dtype": args.dtype, "reserve_to_gib": args.reserve_to, "device": str(device), "size": [width, height,
            frames], "params_million": round(sum(v.numel() for v in base.model.diffusion_model.state_dict()
                                                 .values()) / 1e6, 1),
            "build_seconds": round(built, 1), "anchor_kv_gib": round(kv_bytes / GIB, 3), "chunks": results,
            "peak_ram_gib": round((rss.peak - rss.baseline) / GIB, 2)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="tiny models on the CPU (the tested path)")
    parser.add_argument("--steps", type=int, default=1, help="sampler steps per chunk (1 keeps the check short)")
    parser.add_argument("--kv-steps", type=int, default=1)
    parser.add_argument("--kv-blocks", type=int, default=6)
    parser.add_argument("--configs", nargs="*", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--dtype", default="bf16", help=argparse.SUPPRESS)
    parser.add_argument("--reserve-to", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.tiny:
        args.kv_blocks = min(args.kv_blocks, TINY["num_layers"] - 1)
    if args.child:
        result = _child(args)
        print(json.dumps(result))
        return result
    out = {}
    for name in args.configs:
        dtype, reserve_to = CONFIGS[name]
        command = [sys.executable, "-m", "bench.gpu_check", "--child", "--dtype", dtype, "--steps", str(args.steps),
                   "--kv-steps", str(args.kv_steps), "--kv-blocks", str(args.kv_blocks)]
        command += ["--tiny"] if args.tiny else []
        command += ["--reserve-to", str(reserve_to)] if reserve_to is not None else []
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT)
        if done.returncode != 0:
            out[name] = {"error": done.stderr.strip().splitlines()[-5:]}
        else:
            out[name] = json.loads(done.stdout.strip().splitlines()[-1])
        out[name]["wall_seconds"] = round(time.perf_counter() - started, 1)
        print(json.dumps({name: out[name]}), flush=True)
    return out


if __name__ == "__main__":
    main()
