"""Speed and memory of PoseGen's forward against ComfyUI's own Wan forward on the same weights, in one run.

Sections (``--only`` picks some):

- ``forward``: ours / native Wan for each CPU attention ComfyUI offers (PyTorch SDPA, sub-quadratic, split), in
  native and reference numerics; native Wan on the video tokens and on as many tokens as ours (the reference as one
  more latent frame); the FLOPs of each forward and the FLOP/s achieved, so the token ratio can be taken out.
- ``block``: one KV-shared block against one unshared block (both CFG passes, the anchor's K/V in memory).
- ``memory``: peak memory of one block, measured at this config in both numerics modes and computed from the
  shapes at PoseGen's real size.
- ``segment``: a KV-shared base segment against the same segment unshared at PoseGen's preset shape scaled down
  (25 steps of which 2 share, 40 blocks of which the last 6 share, subject masks from attention), with a profile of
  what the run builds once.

    python -m bench.forward_speed [--dim 512 --heads 4 --layers 8 --frames 21 --height 32 --width 32 --threads 1]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import json
import pstats
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import torch

from bench import comfy_for_benchmarks
from bench.rss import PeakRss
from bench.wan_flops import WanShape, block_peak_bytes, forward_flops

ATTENTIONS = {"pytorch": "attention_pytorch", "sub-quadratic": "attention_sub_quad", "split": "attention_split"}
TEXT_TOKENS, CLIP_TOKENS = 512, 257
REAL = WanShape(dim=5120, ffn=13824, heads=40, layers=40, video_tokens=75_600, reference_tokens=3_600)


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


@contextlib.contextmanager
def attention_backend(name: str) -> Iterator[None]:
    """ComfyUI's attention as if started with that flag: ComfyUI's Wan binds it at import, our forward looks it up
    on every call, so both names are swapped."""
    import comfy.ldm.modules.attention as comfy_attention
    import comfy.ldm.wan.model as wan_model

    chosen = getattr(comfy_attention, ATTENTIONS[name])
    saved = comfy_attention.optimized_attention, wan_model.optimized_attention
    comfy_attention.optimized_attention = wan_model.optimized_attention = chosen
    try:
        yield
    finally:
        comfy_attention.optimized_attention, wan_model.optimized_attention = saved


def build_patcher(dim: int, heads: int, layers: int, ffn: int):
    import comfy.model_management

    from devtools.tiny_models import random_like_trained, tiny_config
    from posegen_core.posegen.checkpoint import PoseGenCheckpoint
    from posegen_core.posegen.comfy_model import PoseGenWan21Config, build_model_patcher

    config = tiny_config(dim=dim, num_heads=heads, num_layers=layers, ffn_dim=ffn)
    model_config = PoseGenWan21Config(config)
    model_config.set_inference_dtype(torch.float32, None)
    shapes = {k: v.shape for k, v in model_config.get_model({}).diffusion_model.state_dict().items()}
    weights = random_like_trained(shapes, torch.Generator().manual_seed(0), config.dim)
    patcher = build_model_patcher(PoseGenCheckpoint(config, weights, "base", source=Path("bench")), "base",
                                  torch.float32)
    comfy.model_management.load_models_gpu([patcher])
    return patcher, config


def forward_inputs(config, frames: int, height: int, width: int, batch: int = 1) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return {"x": torch.randn(batch, 36, frames, height, width, generator=g),
            "context": torch.randn(batch, TEXT_TOKENS, config.text_dim, generator=g),
            "clip_fea": torch.randn(batch, CLIP_TOKENS, 1280, generator=g),
            "reference_latent": torch.randn(batch, 16, height, width, generator=g),
            "posegen_hand_latent": torch.randn(batch, 16, frames, height, width, generator=g)}


def _interleaved(runs: dict[str, Callable[[], None]], repeats: int) -> dict[str, float]:
    """Median seconds of each run, the runs taking turns so that machine load hits all alike."""
    for run in runs.values():
        run()  # warm-up
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: _median(values) for name, values in times.items()}


def forward_section(args: argparse.Namespace) -> dict:
    from posegen_core.golden import sampler_transformer_options
    from posegen_core.wan.numerics import NUMERICS_KEY

    patcher, config = build_patcher(args.dim, args.heads, args.layers, args.ffn)
    wan = patcher.model.diffusion_model
    f, h, w = args.frames, args.height, args.width
    inputs = forward_inputs(config, f, h, w)
    wider = forward_inputs(config, f + 1, h, w)  # native Wan on as many tokens as ours
    t = torch.full((1,), 937.5)
    stock = type(wan)._forward.__get__(wan)
    options = sampler_transformer_options(patcher)
    reference_options = {**options, NUMERICS_KEY: "reference"}

    def ours(opts: dict) -> Callable[[], None]:
        return lambda: wan(inputs["x"], t, inputs["context"], clip_fea=inputs["clip_fea"], transformer_options=opts,
                           reference_latent=inputs["reference_latent"],
                           posegen_hand_latent=inputs["posegen_hand_latent"])

    def native(given: dict) -> Callable[[], None]:
        return lambda: stock(given["x"], t, given["context"], clip_fea=given["clip_fea"],
                             transformer_options=options)

    tokens_per_frame = (h // 2) * (w // 2)
    shape = WanShape(dim=args.dim, ffn=args.ffn, heads=args.heads, layers=args.layers,
                     video_tokens=f * tokens_per_frame, reference_tokens=tokens_per_frame)
    flops = {"ours": forward_flops(shape, TEXT_TOKENS, CLIP_TOKENS, reference=True, text_dim=config.text_dim),
             "native": forward_flops(shape, TEXT_TOKENS, CLIP_TOKENS, reference=False, text_dim=config.text_dim),
             "native_same_tokens": forward_flops(shape.with_video_tokens(shape.video_tokens + tokens_per_frame),
                                                 TEXT_TOKENS, CLIP_TOKENS, reference=False,
                                                 text_dim=config.text_dim)}
    per_backend = {}
    with torch.no_grad():
        for backend in args.attentions:
            with attention_backend(backend):
                seconds = _interleaved({"ours": ours(options), "ours_reference_numerics": ours(reference_options),
                                        "native": native(inputs), "native_same_tokens": native(wider)},
                                       args.repeats)
            per_flop = {name: seconds[name] / flops[name.replace("_reference_numerics", "")] for name in seconds}
            per_backend[backend] = {
                "seconds": seconds,
                "gflop_per_s": {name: 1e-9 / value for name, value in per_flop.items()},
                "ours_over_native": seconds["ours"] / seconds["native"],
                "ours_over_native_same_tokens": seconds["ours"] / seconds["native_same_tokens"],
                "ours_over_native_per_flop": per_flop["ours"] / per_flop["native"],
                "reference_over_native_numerics": seconds["ours_reference_numerics"] / seconds["ours"],
            }
    fastest = min(per_backend, key=lambda name: per_backend[name]["seconds"]["ours"])
    return {"video_tokens": shape.video_tokens, "reference_tokens": shape.reference_tokens,
            "token_ratio": (shape.video_tokens + shape.reference_tokens) / shape.video_tokens,
            "flop_ratio_ours_over_native": flops["ours"] / flops["native"],
            "gflop": {name: value / 1e9 for name, value in flops.items()},
            "attention": per_backend, "fastest_attention_for_ours": fastest}


@torch.no_grad()
def _shared_block_setup(args: argparse.Namespace, own_share: float):
    """A block, its inputs for both CFG passes, and a KV-sharing hook holding an anchor's K/V for it."""
    from posegen_core.longvideo.kvshare import AnchorRecord, ForwardKV, KVShareContext, KVShareSettings
    from posegen_core.posegen.dit_forward import posegen_block, time_modulation
    from posegen_core.wan.rope import video_and_reference_rope

    patcher, config = build_patcher(args.dim, args.heads, 1, args.ffn)
    wan = patcher.model.diffusion_model
    block = wan.blocks[0]
    grid = (args.frames, args.height // 2, args.width // 2)
    n_video, n_ref = grid[0] * grid[1] * grid[2], grid[1] * grid[2]
    g = torch.Generator().manual_seed(2)
    video = torch.randn(2, n_video, args.dim, generator=g)
    ref = torch.randn(1, n_ref, args.dim, generator=g)
    _, e6 = time_modulation(wan, torch.full((2,), 937.5), torch.float32)
    _, e6_ref = time_modulation(wan, torch.zeros(1), torch.float32)
    rope = video_and_reference_rope(grid, grid[1:], args.dim // args.heads, False, torch.device("cpu"), torch.float32)
    context = torch.cat([wan.img_emb(torch.randn(2, CLIP_TOKENS, 1280, generator=g)),
                         wan.text_embedding(torch.randn(2, TEXT_TOKENS, config.text_dim, generator=g))], dim=1)
    subject = torch.rand(n_video, generator=g) < own_share
    settings = KVShareSettings(steps=frozenset({0}), blocks=frozenset({0}), mask_mode="pose")
    masks = {"curr": subject, "prev": subject}
    record = AnchorRecord()
    with torch.no_grad():  # the anchor's K/V: the same block on other latents, recorded as the anchor run does
        anchor = ForwardKV(KVShareContext(settings, "record", record, static_masks=masks), 0, [0, 1], grid)
        posegen_block(block, torch.randn(2, n_video, args.dim, generator=g), ref, e6, e6_ref, rope, context,
                      CLIP_TOKENS, {}, kv=anchor, index=0)
    context_kv = KVShareContext(settings, "share", record, static_masks=masks)
    hook = ForwardKV(context_kv, 0, [0, 1], grid)
    return block, (video, ref, e6, e6_ref, rope, context, CLIP_TOKENS), hook


def block_section(args: argparse.Namespace) -> dict:
    from posegen_core.posegen.dit_forward import posegen_block

    block, block_args, hook = _shared_block_setup(args, args.own_share)
    with torch.no_grad():
        seconds = _interleaved({"unshared": lambda: posegen_block(block, *block_args, {}),
                                "shared": lambda: posegen_block(block, *block_args, {}, kv=hook, index=0)},
                               args.repeats)
    return {"subject_share_of_tokens": args.own_share, "seconds": seconds,
            "shared_over_unshared": seconds["shared"] / seconds["unshared"]}


def _peak_of(run: Callable[[], object], repeats: int = 3) -> float:
    """Peak RSS growth (MiB) while ``run`` executes, least of a few tries (the heap's history adds noise)."""
    from posegen_core.longvideo.memory import bound_heap

    bound_heap()
    peaks = []
    for _ in range(repeats):
        gc.collect()
        with PeakRss() as rss:
            run()
        peaks.append((rss.peak - rss.baseline) / 2**20)
    return min(peaks)


def memory_section(args: argparse.Namespace) -> dict:
    """Peak of one block and of its Q/K/V step alone (where RoPE's copies live), measured here in both numerics
    modes and computed from the shapes, here and at PoseGen's real size."""
    from posegen_core.posegen.dit_forward import NATIVE, joint_modulated, joint_qkv, posegen_block
    from posegen_core.wan.numerics import NUMERICS
    from posegen_core.wan.rope import video_and_reference_rope

    block, block_args, _ = _shared_block_setup(args, args.own_share)
    video, ref, e6, e6_ref, rope, context, clip_tokens = block_args
    grid = (args.frames, args.height // 2, args.width // 2)
    tables = {"native": rope, "reference": video_and_reference_rope(grid, grid[1:], args.dim // args.heads, False,
                                                                     torch.device("cpu"))}
    with torch.no_grad():
        video_table, ref_table = block.modulation + e6, block.modulation + e6_ref  # shift, scale are rows 0, 1
        joint = joint_modulated(NATIVE, block.norm1, video, ref, (video_table[:, 0:1], video_table[:, 1:2]),
                                (ref_table[:, 0:1], ref_table[:, 1:2]))
        measured = {}
        for mode, rope_table in tables.items():
            num = NUMERICS[mode]
            measured[mode] = {
                "qkv": _peak_of(lambda rope_table=rope_table, num=num: joint_qkv(block.self_attn, joint, rope_table,
                                                                                 num)),
                "block": _peak_of(lambda rope_table=rope_table, num=num: posegen_block(
                    block, video, ref, e6, e6_ref, rope_table, context, clip_tokens, {}, num=num))}
    tokens_per_frame = grid[1] * grid[2]
    here = WanShape(dim=args.dim, ffn=args.ffn, heads=args.heads, layers=1, video_tokens=grid[0] * tokens_per_frame,
                    reference_tokens=tokens_per_frame)

    def computed(shape: WanShape, element: int, unit: int) -> dict:
        return {mode: {phase: value / unit for phase, value in block_peak_bytes(
            shape, batch=2, element=element, rope_element=NUMERICS[mode].rope_dtype.itemsize).items()}
                for mode in NUMERICS}

    return {"measured_mib_this_config_fp32": measured, "computed_mib_this_config_fp32": computed(here, 4, 2**20),
            "real_size_gib_bf16": computed(REAL, 2, 2**30),
            "real_size_float64_copy_of_q_one_pass_gib": REAL.self_tokens * REAL.dim * 8 / 2**30}


def segment_section(args: argparse.Namespace) -> dict:
    """Base segment KV-shared vs unshared, 25 steps, CFG, through ComfyUI's own sampling."""
    import comfy.clip_vision
    import comfy.sample
    import comfy.samplers

    from posegen_core.longvideo.kvshare import AnchorRecord, KVShareContext, KVShareSettings
    from posegen_core.posegen.attention_hooks import KVSHARE_KEY
    from posegen_core.posegen.conditioning import MASK_CHANNELS, posegen_conditioning_values
    from posegen_core.wan import run_cache
    from posegen_core.wan.schedule import flow_match_sigmas

    layers, steps = args.segment_layers, args.segment_steps
    patcher, config = build_patcher(args.segment_dim, args.segment_dim // 128 or 1, layers, args.segment_dim * 27 // 10)
    f, h, w = args.segment_frames, args.segment_height, args.segment_width
    g = torch.Generator().manual_seed(3)
    clip = comfy.clip_vision.Output()
    clip["penultimate_hidden_states"] = torch.randn(1, CLIP_TOKENS, 1280, generator=g)
    values = posegen_conditioning_values(
        pose_latent=torch.randn(1, 16, f, h, w, generator=g), given_mask=torch.zeros(MASK_CHANNELS, f),
        reference_latent=torch.randn(1, 16, 1, h, w, generator=g), hand_latent=None, clip_vision_output=clip)
    positive = [[torch.randn(1, TEXT_TOKENS, config.text_dim, generator=g), dict(values)]]
    negative = [[torch.randn(1, TEXT_TOKENS, config.text_dim, generator=g), dict(values)]]
    empty = torch.zeros(1, 16, f, h, w)
    sigmas = flow_match_sigmas(steps, 5.0)
    sampler = comfy.samplers.ksampler("euler")
    shared_blocks = frozenset(range(layers - args.segment_shared_blocks, layers))
    settings = KVShareSettings(steps=frozenset(range(args.segment_shared_steps)), blocks=shared_blocks,
                               mask_mode="attention", max_block_idx=min(10, layers - 1), token_indices=(3,))
    record = AnchorRecord()

    def sample(kv: KVShareContext | None) -> torch.Tensor:
        model = patcher
        if kv is not None:
            model = patcher.clone()
            model.model_options["transformer_options"][KVSHARE_KEY] = kv
        noise = torch.randn(empty.shape, generator=torch.Generator().manual_seed(4))
        return comfy.sample.sample_custom(model, noise, 5.0, sampler, sigmas, positive, negative, empty,
                                          disable_pbar=True, seed=4)

    builds: list[dict] = []
    clear = run_cache.RunCache.clear

    def clear_and_note(cache: run_cache.RunCache) -> None:
        builds.append({"built": dict(cache.built), "reused": dict(cache.reused)})
        clear(cache)

    run_cache.RunCache.clear = clear_and_note
    try:
        with torch.no_grad():
            sample(KVShareContext(settings, "record", record))
            seconds = _interleaved({"plain": lambda: sample(None),
                                    "kv_shared": lambda: sample(KVShareContext(settings, "share", record))},
                                   args.segment_repeats)
            profile = cProfile.Profile()
            profile.enable()
            sample(KVShareContext(settings, "share", record))
            profile.disable()
    finally:
        run_cache.RunCache.clear = clear
    stats = pstats.Stats(profile)
    calls = {}
    for (_, _, name), (_, ncalls, _, cumulative, _) in stats.stats.items():
        if name in ("video_and_reference_rope", "time_modulation", "posegen_forward", "attend_split"):
            calls[name] = {"calls": ncalls, "seconds": round(cumulative, 3)}
    return {"shape": {"dim": args.segment_dim, "layers": layers, "shared_blocks": sorted(shared_blocks),
                      "steps": steps, "shared_steps": args.segment_shared_steps,
                      "tokens": f * (h // 2) * (w // 2), "reference_tokens": (h // 2) * (w // 2)},
            "seconds": seconds, "shared_over_plain": seconds["kv_shared"] / seconds["plain"],
            "anchor_kv_mib": record.nbytes / 2**20,
            "profile_of_one_shared_segment": calls, "run_cache_of_the_last_run": builds[-1]}


SECTIONS = {"forward": forward_section, "block": block_section, "memory": memory_section, "segment": segment_section}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--layers", type=int, default=8)
    parser.add_argument("--ffn", type=int, default=None, help="FFN width (default 4 x dim)")
    parser.add_argument("--frames", type=int, default=21, help="latent frames")
    parser.add_argument("--height", type=int, default=32, help="latent height")
    parser.add_argument("--width", type=int, default=32, help="latent width")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--attentions", nargs="+", choices=sorted(ATTENTIONS), default=list(ATTENTIONS))
    parser.add_argument("--attention", choices=sorted(ATTENTIONS), default="pytorch",
                        help="attention for the block, memory and segment sections")
    parser.add_argument("--own-share", type=float, default=0.35, help="share of tokens in the subject masks")
    parser.add_argument("--segment-dim", type=int, default=128)
    parser.add_argument("--segment-layers", type=int, default=40)
    parser.add_argument("--segment-shared-blocks", type=int, default=6)
    parser.add_argument("--segment-steps", type=int, default=25)
    parser.add_argument("--segment-shared-steps", type=int, default=2)
    parser.add_argument("--segment-frames", type=int, default=6, help="latent frames")
    parser.add_argument("--segment-height", type=int, default=24)
    parser.add_argument("--segment-width", type=int, default=24)
    parser.add_argument("--segment-repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--only", nargs="+", choices=sorted(SECTIONS), default=list(SECTIONS))
    args = parser.parse_args(argv)
    args.ffn = args.ffn or 4 * args.dim
    threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    comfy_for_benchmarks()
    result = {"config": {k: v for k, v in vars(args).items() if k != "only"}}
    try:
        for name in args.only:
            with attention_backend(args.attention) if name != "forward" else contextlib.nullcontext():
                result[name] = SECTIONS[name](args)
            print(json.dumps({name: result[name]}, indent=2), flush=True)
    finally:
        torch.set_num_threads(threads)
    return result


if __name__ == "__main__":
    main()
