"""The distributed Segment Sampler on 1 and 2 Ray workers against one process, and the critical-path model.

A real ComfyUI server (``--cpu``) runs the tiny long-video workflow (6 base segments, 5 transitions by default)
three ways: in one process, on 1 worker and on 2 workers (``cluster`` local, CPU workers). Every process computes
with one thread (``OMP_NUM_THREADS=1``, and the workers take the server's count), so a worker is one CPU core,
the CPU's stand-in for one GPU each. The distributed runs are made twice: cold (Ray starts, the workers make
their models) and warm (kept workers, another seed), and the frames of every run are checked equal to the
single-process run of the same seed.

Reported: wall times and their ratios, the bytes the driver sent and received per job, and the critical-path
model (``posegen_core.distributed.critical_path``) fed with the job times the 1-worker run measured, predicting
the 2-worker time (compared with the measured one), then PoseGen's real size on N GPUs.

    python -m bench.distributed_speedup [--segments 6 --steps 20 --size 64x64]
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = REPO_ROOT / "tests" / "workflows" / "posegen_long_video_tiny.api.json"
SAMPLER = "15"


def _server(base: Path):
    from devtools.comfy_server import FAST_CPU_ATTENTION, ComfyServer, comfyui_path_from_env, prepare_base_dir
    from devtools.pose_inputs import write_driving_poses, write_reference_photo
    from devtools.tiny_models import write_all

    prepare_base_dir(base, {"posegen_comfyui": REPO_ROOT, "posegen_stand_ins": REPO_ROOT / "devtools" /
                            "comfy_stand_ins"})
    write_all(base / "models")
    write_reference_photo(base / "input" / "reference.png")
    write_driving_poses(base / "input" / "driving_poses.json", frames=33)
    env = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    return ComfyServer(base, comfyui_path=comfyui_path_from_env(), env=env, startup_timeout=300,
                       extra_args=FAST_CPU_ATTENTION).start()


def _prompt(args, tag: str, seed: int, workers: int | None) -> dict:
    from bench.long_video_memory import frames_for
    from devtools.prompts import node_of_type

    prompt = json.loads(WORKFLOW.read_text(encoding="utf-8"))
    node_of_type(prompt, "PoseGenPoseSequence")["inputs"]["length"] = frames_for(args.segments, 17, 5, 4)
    sampler = prompt[SAMPLER]["inputs"]
    sampler.update(seed=seed, steps=args.steps, width=args.size[0], height=args.size[1])
    prompt["90"] = {"class_type": "SaveImage", "inputs": {"images": [SAMPLER, 0], "filename_prefix": f"b_{tag}"}}
    if workers:
        prompt["95"] = {"class_type": "PoseGenDistributed",
                        "inputs": {"cluster": "local", "workers": workers, "gpus_per_worker": 0.0}}
        sampler["distributed"] = ["95", 0]
    return copy.deepcopy(prompt)


def _run(server, prompt: dict) -> dict:
    import numpy as np
    from PIL import Image

    started = time.perf_counter()
    result = server.run_ok(prompt, timeout=7200)
    wall = time.perf_counter() - started
    frames = np.stack([np.asarray(Image.open(f)) for f in sorted(result.output_files("images", node_id="90"))])
    return {"wall": wall, "frames": frames, "report": result.outputs[SAMPLER]["text"][0]}


def _job_stats(report: str) -> dict:
    line = next(x for x in report.splitlines() if x.startswith("job seconds on the workers"))
    jobs = {kind: (int(n), float(mean)) for kind, n, mean in re.findall(r"(\w+) (\d+) x ([\d.]+)", line)}
    decode = float(re.search(r"a decode ([\d.]+)", line).group(1))
    sent, back = (float(x) for x in re.search(r"([\d.]+) MiB sent to them, ([\d.]+) MiB back", report).groups())
    count = int(re.search(r"distributed: (\d+) jobs", report).group(1))
    return {"jobs": jobs, "decode": decode, "sent_mib": sent, "back_mib": back, "count": count}


def _model(args, stats: dict, workers: int) -> float:
    """The 2-worker wall time predicted from the 1-worker run's measured job times."""
    from bench.long_video_memory import frames_for
    from posegen_core.distributed.critical_path import ChunkCosts, simulate
    from posegen_core.longvideo.plan import plan_segments

    plan = plan_segments(frames_for(args.segments, 17, 5, 4), 17, 5, 4)
    jobs = stats["jobs"]
    groups = jobs["shared"][0]  # the anchor's group runs it, every other group recomputes it
    per_member = groups * jobs["shared"][1] / (len(plan.base_chunks) + groups - 1)

    def seconds(job) -> float:
        if job.kind == "shared":
            return per_member * (len(job.chunks) + (0 if plan.anchor in job.chunks else 1))
        return jobs[job.kind][1]

    costs = ChunkCosts(step=0.0, decode=stats["decode"])  # the job times include the workers' decodes
    return simulate(plan, workers, costs, args.steps, 2, seconds=seconds).total


def _real_size(steps: int = 50, shared: int = 2) -> list[tuple]:
    """PoseGen's layout (``SegmentLayout``'s defaults: 81-frame segments, overlaps 21/20), ``minutes`` at Wan's
    16 fps: the speed-up over one process on N GPUs, in units of one sampler step, for a decode of 1 or 3 steps
    (an encode half of it), the driver's fetch, merge and file encode of a chunk a tenth of a step (model inputs,
    not measurements)."""
    from posegen_core.distributed.critical_path import ChunkCosts, simulate, single_process_seconds
    from posegen_core.longvideo.options import SegmentLayout
    from posegen_core.longvideo.plan import plan_segments

    layout = SegmentLayout()
    rows = []
    for minutes in (1, 10):
        plan = plan_segments(minutes * 60 * 16, layout.segment_length, layout.head_overlap, layout.tail_overlap)
        for decode in (1.0, 3.0):
            costs = ChunkCosts(step=1.0, decode=decode, encode=decode / 2, merge=0.1)
            single = single_process_seconds(plan, costs, steps)
            for n in (1, 2, 4, 8, 16, 64):
                rows.append((minutes, len(plan.base_chunks), decode, n,
                             single / simulate(plan, n, costs, steps, shared).total))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=6)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--size", type=lambda v: tuple(int(x) for x in v.split("x")), default=(64, 64))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO_ROOT))
    import numpy as np

    with tempfile.TemporaryDirectory(prefix="posegen-bench-dist-") as tmp:
        server = _server(Path(tmp) / "base")
        try:
            runs = {"single": _run(server, _prompt(args, "single", 1, None))}
            runs["single_b"] = _run(server, _prompt(args, "single_b", 2, None))
            for workers in (1, 2):
                runs[f"{workers}w cold"] = _run(server, _prompt(args, f"w{workers}c", 1, workers))
                runs[f"{workers}w warm"] = _run(server, _prompt(args, f"w{workers}w", 2, workers))
        finally:
            server.stop()
    for name, run in runs.items():
        reference = runs["single_b" if name.endswith("warm") or name == "single_b" else "single"]["frames"]
        run["equal"] = bool(np.array_equal(run["frames"], reference))
    one, two = _job_stats(runs["1w warm"]["report"]), _job_stats(runs["2w warm"]["report"])
    predicted = _model(args, one, 2)
    w, h = args.size
    print(f"\nDistributed Segment Sampler: tiny models, {args.segments} base segments at {w}x{h}, {args.steps} steps, "
          "lockstep (2 shared steps), one CPU thread per process\n")
    print("| Run | Wall s | vs one process | Frames equal to one process |")
    print("|---|---|---|---|")
    for name, run in runs.items():
        base = runs["single_b" if name.endswith("warm") or name == "single_b" else "single"]["wall"]
        print(f"| {name} | {run['wall']:.1f} | {base / run['wall']:.2f} | {run['equal']} |")
    ratio = runs["1w warm"]["wall"] / runs["2w warm"]["wall"]
    print(f"\nwarm 1 worker / 2 workers: {ratio:.2f}")
    for name, stats in (("1 worker", one), ("2 workers", two)):
        print(f"{name}: {stats['count']} jobs, {stats['sent_mib'] / stats['count']:.2f} MiB sent and "
              f"{stats['back_mib'] / stats['count']:.2f} MiB back per job; job seconds {stats['jobs']}, "
              f"decode {stats['decode']:.2f}")
    measured = runs["2w warm"]["wall"]
    own = _model(args, two, 2)
    print(f"critical-path model, 2 workers: {predicted:.1f} s from the 1-worker run's job times, {own:.1f} s from the "
          f"2-worker run's own; measured {measured:.1f} s (model / measured {predicted / measured:.2f} and "
          f"{own / measured:.2f}). The model gives the driver a device of its own; here the driver's in-order "
          "merge and both workers share this machine's cores")
    print("\nPoseGen's layout (81-frame segments, overlaps 21/20) at 16 fps, 50 steps, 2 shared: the model's "
          "speed-up over one process (a decode = 1 or 3 steps, an encode half of it, the driver's merge of a "
          "chunk 0.1 step)\n")
    print("| Video | Base segments | Decode (steps) | GPUs | Speed-up |")
    print("|---|---|---|---|---|")
    for minutes, bases, decode, n, speed in _real_size():
        print(f"| {minutes} min | {bases} | {decode:g} | {n} | {speed:.2f} |")
    if args.json:
        print(json.dumps({k: {"wall": v["wall"], "equal": v["equal"]} for k, v in runs.items()}, indent=2))
    return 0 if all(run["equal"] for run in runs.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
