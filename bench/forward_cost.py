"""What PoseGen's forward costs over ComfyUI's stock Wan forward, on the same weights, in one run.

PoseGen adds one latent frame of reference tokens to self-attention and FFN (plus float64 RoPE and a second
time embedding). Prints the time ratio PoseGen / stock, the token ratio that explains most of it, and the saving
of skipping the reference stream's work in the last block.

    python -m bench.forward_cost [--dim 256 --layers 4 --frames 21 --height 32 --width 18 --repeats 5]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from posegen_core.comfy_env import ensure_comfy_importable


def _median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--heads", type=int, default=2)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--frames", type=int, default=21, help="latent frames")
    parser.add_argument("--height", type=int, default=32, help="latent height")
    parser.add_argument("--width", type=int, default=18, help="latent width")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    ensure_comfy_importable()
    import comfy.model_management

    import posegen_core.posegen.dit_forward as fwd
    from devtools.tiny_models import random_like_trained, tiny_config
    from posegen_core.golden import sampler_transformer_options
    from posegen_core.posegen.checkpoint import PoseGenCheckpoint
    from posegen_core.posegen.comfy_model import PoseGenWan21Config, build_model_patcher

    torch.manual_seed(0)
    config = tiny_config(dim=args.dim, num_heads=args.heads, num_layers=args.layers, ffn_dim=4 * args.dim)
    model_config = PoseGenWan21Config(config)
    model_config.set_inference_dtype(torch.float32, None)
    shapes = {k: v.shape for k, v in model_config.get_model({}).diffusion_model.state_dict().items()}
    weights = random_like_trained(shapes, torch.Generator().manual_seed(0), config.dim)
    patcher = build_model_patcher(PoseGenCheckpoint(config, weights, "base", source=Path("bench")), "base",
                                  torch.float32)
    comfy.model_management.load_models_gpu([patcher])
    wan = patcher.model.diffusion_model
    options = sampler_transformer_options(patcher)

    f, h, w = args.frames, args.height, args.width
    g = torch.Generator().manual_seed(1)
    x = torch.randn(1, 36, f, h, w, generator=g)
    t = torch.full((1,), 937.5)
    context = torch.randn(1, 512, config.text_dim, generator=g)
    clip = torch.randn(1, 257, 1280, generator=g)
    ref = torch.randn(1, 16, h, w, generator=g)
    hand = torch.randn(1, 16, f, h, w, generator=g)
    stock = type(wan)._forward.__get__(wan)

    @torch.no_grad()
    def run_posegen():
        wan(x, t, context, clip_fea=clip, transformer_options=options, reference_latent=ref, posegen_hand_latent=hand)

    @torch.no_grad()
    def run_stock():
        stock(x, t, context, clip_fea=clip, transformer_options=options)

    @torch.no_grad()
    def run_posegen_full_last_block():
        original = fwd.posegen_block
        fwd.posegen_block = lambda *a, **k: original(*a, **{**k, "ref_needed_after": True})
        try:
            run_posegen()
        finally:
            fwd.posegen_block = original

    posegen_s = _median_seconds(run_posegen, args.repeats)
    stock_s = _median_seconds(run_stock, args.repeats)
    full_s = _median_seconds(run_posegen_full_last_block, args.repeats)
    video_tokens = f * (h // 2) * (w // 2)
    result = {
        "config": vars(args),
        "video_tokens": video_tokens,
        "token_ratio_with_reference": (video_tokens + (h // 2) * (w // 2)) / video_tokens,
        "seconds": {"posegen": posegen_s, "stock_wan": stock_s, "posegen_without_last_block_skip": full_s},
        "ratio_posegen_over_stock": posegen_s / stock_s,
        "ratio_last_block_skip_saving": full_s / posegen_s,
        "threads": torch.get_num_threads(),
    }
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
