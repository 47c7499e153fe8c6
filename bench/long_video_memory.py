"""Peak RAM of a long video against one 16 times longer, at a size where the output would dominate.

A long video's frames outweigh everything else a run holds once the video is long enough: at 320x576 one float32
IMAGE frame is 2.1 MiB, so 1,000 frames are 2 GiB, while the tiny models, one chunk's latents and its decode are a
few hundred MiB. The run is meant to hold nothing that grows with the length when it streams its frames to a
file: the driving poses are drawn per chunk from POSE_KEYPOINT (``frame_sources.RenderedPoses``), finished frames
go to the video file through the windowed merge, finished latents and the lockstep states go to a run folder on
disk, and one step of the anchor's K/V is held. This measures that, with the tiny real-architecture models
(``devtools.tiny_models``: ComfyUI's Wan DiT and Wan VAE, random weights) and KV sharing on (lockstep):

- **streamed**: ``file_run.generate_to_file`` (what the Segment Sampler runs): a lossless video file and a run
  folder under a temporary directory, no IMAGE batch;
- **image**: ``generate_long_video`` keeping the IMAGE batch, latents in memory (``MemoryStore``), for contrast:
  its peak grows with the output.

Each (path, length) runs in its own fresh process, so peaks do not mix; the peak is the process's ``ru_maxrss``
(everything: Python, torch, ComfyUI, the models) and, sampled, its growth during the run above what the process
held before. At the short length the lossless file's frames are checked to equal the IMAGE frames
(``to_uint8``) exactly.

    python -m bench.long_video_memory                  # 320x576, 3 base segments vs 16 times the driving frames
    python -m bench.long_video_memory --segments 2     # shorter
    python -m bench.long_video_memory --no-image-long  # the IMAGE path only at 1x (for the exactness check)
    python -m bench.long_video_memory --tiny           # 64x64, 2 vs 4 base segments: a smoke run (the test's)
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
MIB = 2**20
PATHS = ("streamed", "image")


def frames_for(base_segments: int, segment: int, head: int, tail: int) -> int:
    """Driving length whose plan has exactly ``base_segments`` base segments (no padding)."""
    return segment + (base_segments - 1) * (2 * segment - head - tail)


def random_poses(frames: int, width: int, height: int, seed: int = 0):
    """One person wandering over the canvas: a PoseSequence (keypoints only, a few KiB per 1,000 frames)."""
    import numpy as np

    from posegen_core.poses.sequence import PoseSequence
    from posegen_core.poses.skeletons import HUMAN

    rng = np.random.default_rng(seed)
    k = HUMAN.num_keypoints
    centre = np.array([width / 2, height / 2]) + np.cumsum(rng.normal(0, 1.0, (frames, 2)), 0)
    centre = np.clip(centre, [0.3 * width, 0.3 * height], [0.7 * width, 0.7 * height])
    offsets = rng.uniform(-0.25, 0.25, (1, k, 2)) * (width, height)
    xy = centre[:, None, None, :] + offsets[None] + rng.normal(0, 1.0, (frames, 1, k, 2))
    kp = np.concatenate([xy, np.ones((frames, 1, k, 1))], -1).astype(np.float32)
    return PoseSequence(HUMAN, kp, width, height)


def _setup(width: int, height: int, tmp: Path):
    import comfy.clip_vision
    import comfy.sd
    import comfy.utils
    import torch

    from devtools.tiny_models import write_all
    from posegen_core.posegen.comfy_model import load_model

    paths = write_all(tmp)
    base = load_model(paths["posegen_base"], "auto", torch.float32)
    cond = load_model(paths["posegen_cond"], "auto", torch.float32)
    vae = comfy.sd.VAE(sd=comfy.utils.load_torch_file(str(paths["vae"])))
    g = torch.Generator().manual_seed(0)
    clip = comfy.clip_vision.Output()
    clip["penultimate_hidden_states"] = torch.randn(1, 257, 1280, generator=g)
    positive = [[torch.randn(1, 16, 64, generator=g), {}]]
    negative = [[torch.randn(1, 16, 64, generator=g), {}]]
    reference = torch.rand(1, height, width, 3, generator=g)
    return base, cond, vae, positive, negative, clip, reference


def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _child(args: argparse.Namespace) -> dict:
    """One run in this fresh process."""
    import psutil

    from bench.rss import PeakRss
    from posegen_core.longvideo import memory
    from posegen_core.longvideo.file_run import VideoOutput, generate_to_file
    from posegen_core.longvideo.frame_sources import RenderedPoses
    from posegen_core.longvideo.options import KVSharing, LongVideoSettings, SegmentLayout
    from posegen_core.longvideo.run import LongVideoInputs, generate_long_video
    from posegen_core.video.writer import to_uint8

    process = psutil.Process()
    after_release: list[float] = []  # RSS after every release between chunks: flat when nothing accumulates
    release = memory.release_memory
    sampler: list[PeakRss] = []  # the run's sampler, once it runs: each release closes one interval (a chunk)

    def release_and_measure() -> None:
        if sampler:
            sampler[0].mark()
        release()
        after_release.append(process.memory_info().rss / MIB)
        if args.verbose:
            peak = f", peak before it {sampler[0].interval_peaks[-1] / MIB:.1f} MiB" if sampler else ""
            print(f"rss after release {len(after_release)}: {after_release[-1]:.1f} MiB{peak}", file=sys.stderr,
                  flush=True)

    memory.release_memory = release_and_measure
    width, height = args.size
    out = {}
    with tempfile.TemporaryDirectory(prefix="posegen-bench-", dir=args.tmp) as tmp:
        tmp = Path(tmp)
        base, cond, vae, positive, negative, clip, reference = _setup(width, height, tmp)
        poses = RenderedPoses(random_poses(args.child_frames, width, height), "posegen", width, height)
        inputs = LongVideoInputs(positive, negative, vae, clip, reference, poses)
        settings = LongVideoSettings(
            width=width, height=height, steps=args.steps, layout=SegmentLayout(args.segment, args.head, args.tail),
            kv_sharing=KVSharing(shared_steps=args.shared_steps, shared_blocks=1, mask_mode="none", lockstep=True))
        release()
        with PeakRss() as rss:
            sampler.append(rss)
            start = time.perf_counter()
            if args.child_path == "streamed":
                video = tmp / "video.mp4"
                result = generate_to_file(base, cond, inputs, settings, None, None, video_path=video,
                                          runs_root=tmp / "runs", output=VideoOutput(encoding="lossless",
                                                                                     keep_run_folder=True))
                seconds = time.perf_counter() - start
                out["video_bytes"] = video.stat().st_size
                out["run_folder_bytes"] = _dir_bytes(result.run_folder)
                if f"({args.child_frames} frames at" not in result.report:
                    raise RuntimeError(f"the file does not hold the {args.child_frames} frames:\n{result.report}")
                out["frames"] = args.child_frames
                if args.keep_video:
                    video.replace(args.keep_video)
            else:
                result = generate_long_video(base, cond, inputs, settings, None, None, keep_frames=True)
                seconds = time.perf_counter() - start
                out["frames"] = int(result.frames.shape[0])
                out["output_mib"] = result.frames.numel() * result.frames.element_size() / MIB
                out["kv_peak_bytes"] = result.kv_peak_bytes
        if args.keep_video and args.child_path == "image":
            import numpy as np

            np.save(args.keep_video, to_uint8(result.frames))
    steady = after_release[2:]
    out.update({
        "path": args.child_path, "seconds": seconds,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_before_run_mib": rss.baseline / MIB, "peak_growth_mib": (rss.peak - rss.baseline) / MIB,
        "rss_after_release_mib": [round(v, 1) for v in (after_release[:3] + after_release[-3:])],
        "rss_after_release_spread_mib": round(max(steady) - min(steady), 1) if steady else 0.0,
        "releases": len(after_release),
        # which interval between releases held the peak (the last one: after the final release)
        "peak_interval": max(range(len(rss.interval_peaks) + 1),
                             key=lambda i: (rss.interval_peaks + [rss.interval_peak])[i]),
    })
    return out


def _run_child(args: argparse.Namespace, path: str, frames: int, keep: Path | None) -> dict:
    command = [sys.executable, "-m", "bench.long_video_memory", "--child-path", path, "--child-frames", str(frames),
               "--size", f"{args.size[0]}x{args.size[1]}", "--segment", str(args.segment), "--head", str(args.head),
               "--tail", str(args.tail), "--steps", str(args.steps), "--shared-steps", str(args.shared_steps),
               "--tmp", str(args.tmp)]
    command += ["--keep-video", str(keep)] if keep else []
    command += ["--verbose"] if args.verbose else []
    started = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=None if args.verbose else subprocess.PIPE,
                          text=True, cwd=REPO_ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"{path} {frames} frames failed:\n{(done.stderr or '')[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall_seconds"] = time.perf_counter() - started
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=lambda v: tuple(int(x) for x in v.split("x")), default=(320, 576),
                        help="WIDTHxHEIGHT (multiples of 16)")
    parser.add_argument("--segment", type=int, default=17)
    parser.add_argument("--head", type=int, default=5)
    parser.add_argument("--tail", type=int, default=4)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--shared-steps", type=int, default=2, help="KV-shared steps (run in lockstep)")
    parser.add_argument("--segments", type=int, default=3, help="base segments of the short video")
    parser.add_argument("--factor", type=int, default=16, help="the long video has this many times the frames")
    parser.add_argument("--paths", nargs="+", default=list(PATHS), choices=PATHS)
    parser.add_argument("--image-long", action=argparse.BooleanOptionalAction, default=True,
                        help="also run the IMAGE path at the long length (slow; the contrast, not the check)")
    parser.add_argument("--tiny", action="store_true", help="64x64, 2 vs 4 base segments (a smoke run)")
    parser.add_argument("--tmp", type=Path, default=Path(tempfile.gettempdir()), help="where files are written")
    parser.add_argument("--json", action="store_true", help="also print the results as JSON")
    parser.add_argument("--verbose", action="store_true", help="the runs' logs and RSS after every chunk, live")
    parser.add_argument("--child-path", choices=PATHS, help=argparse.SUPPRESS)
    parser.add_argument("--child-frames", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--keep-video", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.tiny:
        args.size, args.segments, args.factor = (64, 64), 2, 2
    from bench import comfy_for_benchmarks

    comfy_for_benchmarks()
    if args.child_path:
        result = _child(args)
        print(json.dumps(result))
        return result

    short = frames_for(args.segments, args.segment, args.head, args.tail)
    lengths = {"1x": short, f"{args.factor}x": args.factor * short}
    runs: dict[str, dict[str, dict]] = {path: {} for path in args.paths}
    with tempfile.TemporaryDirectory(prefix="posegen-bench-check-", dir=args.tmp) as check:
        kept = {"streamed": Path(check) / "short.mp4", "image": Path(check) / "short.npy"}
        for path in args.paths:
            for name, frames in lengths.items():
                if path == "image" and name != "1x" and not args.image_long:
                    continue
                runs[path][name] = _run_child(args, path, frames, kept[path] if name == "1x" else None)
                print(f"  {path} {name}: {runs[path][name]['frames']} frames, "
                      f"{runs[path][name]['wall_seconds']:.0f} s", file=sys.stderr, flush=True)
        identical = None
        if set(args.paths) == set(PATHS):
            import numpy as np

            from posegen_core.video.writer import read_frames

            identical = bool(np.array_equal(read_frames(kept["streamed"]), np.load(kept["image"])))

    w, h = args.size
    print(f"\nLong video peak RSS: tiny models at {w}x{h}, segment {args.segment} (overlaps {args.head}/{args.tail}), "
          f"{args.steps} steps, KV sharing lockstep ({args.shared_steps} shared steps), one fresh process each\n")
    print("| Path | Length | Frames | Peak RSS MiB | Growth during run MiB | IMAGE output MiB | Wall s |")
    print("|---|---|---|---|---|---|---|")
    for path, by_length in runs.items():
        for name, r in by_length.items():
            output = f"{r['output_mib']:.0f}" if "output_mib" in r else "-"
            print(f"| {path} | {name} | {r['frames']} | {r['peak_rss_mib']:.0f} | {r['peak_growth_mib']:.0f} | "
                  f"{output} | {r['wall_seconds']:.0f} |")
    long_name = f"{args.factor}x"
    ratios = {}
    for path, by_length in runs.items():
        if long_name not in by_length:
            continue
        a, b = by_length["1x"], by_length[long_name]
        ratios[path] = {"peak_rss": b["peak_rss_mib"] / a["peak_rss_mib"],
                        "growth": b["peak_growth_mib"] / max(a["peak_growth_mib"], 1e-9)}
        print(f"\n{path}: {long_name}/1x peak RSS {ratios[path]['peak_rss']:.3f}, growth during the run "
              f"{ratios[path]['growth']:.3f}; RSS after each release between chunks "
              f"(first 3 .. last 3, MiB): {b['rss_after_release_mib']}")
    if "streamed" in runs:
        s = runs["streamed"][long_name]
        print(f"streamed {long_name}: video file {s['video_bytes'] / MIB:.0f} MiB, run folder "
              f"{s['run_folder_bytes'] / MIB:.1f} MiB on disk")
        ok = ratios["streamed"]["peak_rss"] <= 1.10
        print(f"check streamed {long_name}/1x peak RSS <= 1.10: {ratios['streamed']['peak_rss']:.3f} "
              f"{'PASS' if ok else 'FAIL'}")
    if identical is not None:
        print(f"check lossless file frames == IMAGE frames (to_uint8), 1x: {'exact' if identical else 'DIFFERENT'}")
    result = {"config": {"size": list(args.size), "segment": args.segment, "overlaps": [args.head, args.tail],
                         "steps": args.steps, "shared_steps": args.shared_steps, "lengths": lengths},
              "runs": runs, "ratios": ratios, "file_equals_image": identical}
    if args.json:
        print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
