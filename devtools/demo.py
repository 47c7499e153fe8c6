"""The demo: one PoseGen segment, end to end, through a real ComfyUI server's API, on tiny random weights.

Run with ``./scripts/demo.sh`` (it bootstraps the environment). It writes tiny models and synthetic inputs into
a private ComfyUI base folder, starts ``main.py --cpu --use-pytorch-cross-attention`` (the fastest attention on
the CPU), queues the example workflow's API form through ``/prompt``, follows it on the websocket and leaves the
video in ``output/`` (or ``--output``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from devtools.comfy_server import FAST_CPU_ATTENTION, ComfyServer, WsMessage, comfyui_path_from_env, prepare_base_dir
from devtools.demo_inputs import write_pose_video, write_reference
from devtools.prompts import node_of_type

REPO_ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = REPO_ROOT / "tests" / "workflows" / "posegen_single_segment_tiny.api.json"
NOTICE = """\
PoseGen demo on TINY RANDOM WEIGHTS: the pipeline is real (ComfyUI server, PoseGen nodes, VAE, sampler, video),
but the weights are random, so the video shows noise, not a person. For real results put
  - PoseGen checkpoint folders (720p-81f-base, 720p-81f-cond) in ComfyUI/models/posegen/
  - wan_2.1_vae.safetensors in models/vae/, umt5_xxl_fp16.safetensors in models/text_encoders/,
    clip_vision_h.safetensors in models/clip_vision/
and open workflows/posegen_single_segment.json in ComfyUI."""


def demo_prompt(length: int, width: int, height: int) -> dict:
    prompt = json.loads(WORKFLOW.read_text(encoding="utf-8"))
    node_of_type(prompt, "PoseGenConditioning")["inputs"].update(length=length, width=width, height=height)
    return prompt


def input_files(prompt: dict) -> tuple[str, str]:
    return node_of_type(prompt, "LoadImage")["inputs"]["image"], node_of_type(prompt, "LoadVideo")["inputs"]["file"]


def prepare(base: Path, length: int, width: int, height: int, prompt: dict) -> None:
    from devtools.tiny_models import write_all

    prepare_base_dir(base, {"posegen_comfyui": REPO_ROOT, "posegen_stand_ins": REPO_ROOT / "devtools" /
                            "comfy_stand_ins"})
    write_all(base / "models")
    image, video = input_files(prompt)
    write_reference(base / "input" / image, width, height)
    write_pose_video(base / "input" / video, length, width, height)


def print_progress(message: WsMessage) -> None:
    if message.type == "progress":
        data = message.data
        print(f"\r  node {data.get('node')}: {data.get('value')}/{data.get('max')}   ", end="", flush=True)
    elif message.type == "executing" and message.data.get("node"):
        print(f"\n  running node {message.data['node']}", end="", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=81, help="frames (4k+1; PoseGen: 81)")
    parser.add_argument("--width", type=int, default=144, help="multiple of 16 (PoseGen: 720)")
    parser.add_argument("--height", type=int, default=256, help="multiple of 16 (PoseGen: 1280)")
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "output", help="where the video goes")
    parser.add_argument("--base", type=Path, default=REPO_ROOT / ".cache" / "demo-comfy",
                        help="private ComfyUI base folder (models, input, custom_nodes)")
    args = parser.parse_args(argv)

    print(NOTICE)
    prompt = demo_prompt(args.length, args.width, args.height)
    prepare(args.base, args.length, args.width, args.height, prompt)
    args.output.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with ComfyServer(args.base, comfyui_path=comfyui_path_from_env(), output_directory=args.output,
                     extra_args=FAST_CPU_ATTENTION) as server:
        print(f"ComfyUI is up at {server.url} ({time.monotonic() - started:.1f} s); queueing the workflow")
        result = server.run(prompt, timeout=3600, on_message=print_progress)
        print()
        if not result.ok:
            print(result.describe(), file=sys.stderr)
            return 1
        videos = [v for v in result.output_files("images") if v.is_file()]
    print(f"done in {time.monotonic() - started:.1f} s: {args.length} frames at {args.width}x{args.height}")
    for video in videos:
        print(f"video: {video}")
    return 0 if videos else 1


if __name__ == "__main__":
    raise SystemExit(main())
