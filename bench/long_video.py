"""Long-video benchmarks on the tiny models, one run each, reported as ratios:

- peak RSS of a whole run for 1, 2, 4 and 8 base segments, each in a fresh process (goal: 8 ≤ 1.10 × 1);
- time of a KV-shared base segment against the same segment without sharing (goal ≤ 1.10);
- bytes the run writes to disk (goal 0);
- on paper, the memory of the shared-attention step at PoseGen's real size, ours against the reference code.

    python -m bench.long_video [--size 160x96 --segment 17 --steps 8]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.rss import PeakRss

REPO_ROOT = Path(__file__).resolve().parents[1]
GIB = 2**30


def _setup(size: tuple[int, int], tmp: Path):
    import comfy.clip_vision
    import comfy.sd
    import comfy.utils
    import torch

    from devtools.tiny_models import write_all
    from posegen_core.longvideo.subject import SUBJECT_TOKENS_KEY
    from posegen_core.posegen.comfy_model import load_model

    paths = write_all(tmp)
    base, cond = load_model(paths["posegen_base"], "auto"), load_model(paths["posegen_cond"], "auto")
    vae = comfy.sd.VAE(sd=comfy.utils.load_torch_file(str(paths["vae"])))
    g = torch.Generator().manual_seed(0)
    clip = comfy.clip_vision.Output()
    clip["penultimate_hidden_states"] = torch.randn(1, 257, 1280, generator=g)
    positive = [[torch.randn(1, 16, 64, generator=g), {SUBJECT_TOKENS_KEY: [3]}]]
    negative = [[torch.randn(1, 16, 64, generator=g), {}]]
    width, height = size
    reference = torch.rand(1, height, width, 3, generator=g)
    return base, cond, vae, positive, negative, clip, reference


def _frames_for(base_segments: int, segment: int, head: int, tail: int) -> int:
    """Driving length whose plan has exactly ``base_segments`` base segments (no padding)."""
    return segment + (base_segments - 1) * (2 * segment - head - tail)


def _child(args: argparse.Namespace) -> None:
    """One whole run in this fresh process: peak RSS growth, disk bytes written, seconds."""
    import psutil
    import torch

    from posegen_core.longvideo import memory
    from posegen_core.longvideo.options import KVSharing, LongVideoSettings, SegmentLayout
    from posegen_core.longvideo.run import LongVideoInputs, generate_long_video

    # RSS right after each segment's memory release: flat when memory is bounded by one segment
    after_chunk: list[float] = []
    release = memory.release_memory

    def release_and_measure() -> None:
        release()
        after_chunk.append(psutil.Process().memory_info().rss / 2**20)

    memory.release_memory = release_and_measure

    width, height = args.size
    with tempfile.TemporaryDirectory(prefix="posegen-bench-") as tmp:
        base, cond, vae, positive, negative, clip, reference = _setup(args.size, Path(tmp))
        frames = _frames_for(args.child_segments, args.segment, args.head, args.tail)
        poses = torch.rand(frames, height, width, 3, generator=torch.Generator().manual_seed(1))
        settings = LongVideoSettings(width=width, height=height, steps=args.steps,
                                     layout=SegmentLayout(args.segment, args.head, args.tail),
                                     kv_sharing=KVSharing(shared_steps=2, shared_blocks=1, mask_mode="attention",
                                                          max_block_idx=1))
        inputs = LongVideoInputs(positive, negative, vae, clip, reference, poses)
        io_before = psutil.Process().io_counters()
        with PeakRss() as rss:
            start = time.perf_counter()
            result = generate_long_video(base, cond, inputs, settings)
            seconds = time.perf_counter() - start
        io_after = psutil.Process().io_counters()
    steady = after_chunk[1:-1]  # after the first segment (one-time warm-up) up to before the final release
    print(json.dumps({"base_segments": args.child_segments, "frames": int(result.frames.shape[0]),
                      "seconds": seconds, "peak_rss_growth_mib": (rss.peak - rss.baseline) / 2**20,
                      "rss_after_each_chunk_mib": [round(v) for v in after_chunk],
                      "steady_rss_spread_mib": round(max(steady) - min(steady), 1) if steady else 0.0,
                      "output_mib": result.frames.numel() * result.frames.element_size() / 2**20,
                      "disk_write_bytes": io_after.write_bytes - io_before.write_bytes}))


def _segment_time_ratio(args: argparse.Namespace, repeats: int = 3) -> dict:
    """One base segment sampled with the anchor's K/V shared versus without, same process, median of runs."""
    import torch

    from posegen_core.longvideo.chunk_sampler import ChunkSampler
    from posegen_core.longvideo.kvshare import AnchorRecord, KVShareContext, KVShareSettings
    from posegen_core.longvideo.options import LongVideoSettings, SegmentLayout
    from posegen_core.longvideo.run import LongVideoInputs
    from posegen_core.posegen.conditioning import MASK_CHANNELS

    width, height = args.size
    with tempfile.TemporaryDirectory(prefix="posegen-bench-") as tmp:
        base, _, vae, positive, negative, clip, reference = _setup(args.size, Path(tmp))
        poses = torch.rand(args.segment, height, width, 3, generator=torch.Generator().manual_seed(1))
        settings = LongVideoSettings(width=width, height=height, steps=args.steps,
                                     layout=SegmentLayout(args.segment, args.head, args.tail))
        chunks = ChunkSampler(LongVideoInputs(positive, negative, vae, clip, reference, poses), settings,
                              args.steps * (2 * repeats + 1), None)
        pose_latent = chunks.encode(poses, "pose_frames")
        given = torch.zeros(MASK_CHANNELS, pose_latent.shape[2])
        kv = KVShareSettings(steps=frozenset({0, 1}), blocks=frozenset({1}), mask_mode="attention", max_block_idx=1,
                             token_indices=(3,))
        record = AnchorRecord()
        chunks.sample(base, pose_latent, None, given, KVShareContext(kv, "record", record), "anchor")

        def timed(context) -> float:
            start = time.perf_counter()
            chunks.sample(base, pose_latent, None, given, context, "segment")
            return time.perf_counter() - start

        plain, shared = [], []
        for _ in range(repeats):  # interleaved, so machine load hits both alike
            plain.append(timed(None))
            shared.append(timed(KVShareContext(kv, "share", record)))
    median = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
    return {"plain_seconds": median(plain), "kv_shared_seconds": median(shared),
            "ratio_shared_over_plain": median(shared) / median(plain), "shared_steps": 2, "steps": args.steps,
            "shared_blocks": 1, "blocks": 2, "anchor_kv_mib": record.nbytes / 2**20}


def paper_estimate() -> dict:
    """Memory of one KV-shared block call at PoseGen's real size (§1, §10): 79,200 tokens (75,600 video +
    3,600 reference), dim 5120, 40 heads, bf16; 2 shared steps x 6 blocks x 2 CFG passes by default."""
    tokens, video, dim, heads, text, bf16 = 79_200, 75_600, 5120, 40, 512, 2
    act = tokens * dim * bf16  # one [1, N, D] bf16 activation: 811 MB
    kv_store = 2 * act * 2 * 6 * 2  # K and V, 2 steps, 6 blocks, 2 passes
    reference = {
        "dense_mask_gpu": tokens * tokens * bf16,  # [1, N, N] bf16, plus the same again in CPU RAM
        "dense_mask_cpu": tokens * tokens * bf16,
        "anchor_kv_for_the_call": 2 * act,
        "second_attention_output": act,
        "keyword_logits_temporary": heads * video * text * bf16,  # [1, 40, 75600, 512], per map block
        "anchor_disk_total": kv_store + 2 * 40 * (video * dim + text * dim) * bf16,  # + cross-attn Q/K per block
    }
    ours = {
        "dense_mask_gpu": 0,
        "dense_mask_cpu": 0,
        "anchor_kv_for_the_call": 2 * act,  # moved in per block from wherever the store lives
        "second_attention_output": act,
        "keyword_logits_temporary": video * 4,  # one float32 column per token: q . sum(k_keyword)
        "anchor_disk_total": 0,
    }
    step_ref = sum(v for k, v in reference.items() if k not in ("anchor_disk_total", "dense_mask_cpu"))
    step_ours = sum(v for k, v in ours.items() if k not in ("anchor_disk_total", "dense_mask_cpu"))
    return {
        "reference_gib": {k: round(v / GIB, 2) for k, v in reference.items()},
        "ours_gib": {k: round(v / GIB, 3) for k, v in ours.items()},
        "shared_attention_step_extra_gpu_gib": {"reference": round(step_ref / GIB, 2), "ours": round(step_ours / GIB,
                                                                                                        2)},
        "anchor_kv_store_gib (RAM or GPU, never disk)": round(kv_store / GIB, 1),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=lambda v: tuple(int(x) for x in v.split("x")), default=(160, 96),
                        help="WIDTHxHEIGHT of the video (multiples of 16)")
    parser.add_argument("--segment", type=int, default=17)
    parser.add_argument("--head", type=int, default=5)
    parser.add_argument("--tail", type=int, default=4)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--segments", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--repeats", type=int, default=3, help="fresh processes per segment count (median)")
    parser.add_argument("--child-segments", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    from bench import comfy_for_benchmarks

    comfy_for_benchmarks()
    if args.child_segments:
        _child(args)
        return {}
    # glibc gives each thread its own heap arena, which makes peak RSS wander from run to run; two arenas and the
    # median of fresh processes keep the comparison about segments, not about the allocator
    env = {**os.environ, "MALLOC_ARENA_MAX": "2"}
    runs = []
    for count in args.segments:
        command = [sys.executable, "-m", "bench.long_video", "--child-segments", str(count), "--size",
                   f"{args.size[0]}x{args.size[1]}", "--segment", str(args.segment), "--head", str(args.head),
                   "--tail", str(args.tail), "--steps", str(args.steps)]
        samples = []
        for _ in range(args.repeats):
            out = subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT, check=True, env=env)
            samples.append(json.loads(out.stdout.strip().splitlines()[-1]))
        samples.sort(key=lambda r: r["peak_rss_growth_mib"])
        runs.append({**samples[len(samples) // 2],
                     "peak_rss_growth_mib_all": [round(r["peak_rss_growth_mib"], 1) for r in samples]})
    first, last = runs[0], runs[-1]
    result = {
        "config": {"size": args.size, "segment": args.segment, "overlaps": [args.head, args.tail],
                   "steps": args.steps},
        "runs": runs,
        "peak_rss_ratio_most_over_one_segment": last["peak_rss_growth_mib"] / first["peak_rss_growth_mib"],
        "peak_rss_ratio_most_over_two_segments (both run every kind of chunk)": (
            last["peak_rss_growth_mib"] / runs[1]["peak_rss_growth_mib"] if len(runs) > 1 else None),
        "steady_rss_spread_mib_most_segments": last["steady_rss_spread_mib"],
        "disk_write_bytes_max": max(r["disk_write_bytes"] for r in runs),
        "kv_shared_segment_time": _segment_time_ratio(args),
        "paper_estimate_real_size": paper_estimate(),
    }
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
