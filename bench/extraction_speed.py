"""How fast MediaPipe Holistic pose extraction (extract_poses) runs on this machine's CPU, at a few frame sizes.

Frames are the public-domain astronaut photo from scikit-image, fitted into each canvas (padded, aspect kept) and
shifted a few pixels per frame so the video-mode tracker has motion to follow. Reports, per size, frames per
second over the whole call (graph start included, what a ComfyUI run sees) and in steady state (after the first
frame, which loads the models), as JSON.

    python -m bench.extraction_speed [--frames 30 --size 512 --size 720x1280 --repeats 3 --complexity 1
                                     --no-refine-face]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np

DEFAULT_SIZES = ("256", "512", "720x1280")


def _parse_size(text: str) -> tuple[int, int]:
    """'512' -> (512, 512); '720x1280' -> (width 720, height 1280)."""
    parts = text.lower().split("x")
    if len(parts) == 1:
        parts = parts * 2
    width, height = (int(p) for p in parts)
    if width <= 0 or height <= 0:
        raise argparse.ArgumentTypeError(f"size must be positive, got {text}")
    return width, height


def astronaut_clip(frames: int, width: int, height: int, step: int = 3) -> np.ndarray:
    """uint8 [frames, height, width, 3]: the astronaut fitted into the canvas, moving ``step`` px right per frame."""
    import cv2
    from skimage import data

    photo = data.astronaut()
    scale = min(width / photo.shape[1], height / photo.shape[0])
    fitted = cv2.resize(photo, (max(1, round(photo.shape[1] * scale)), max(1, round(photo.shape[0] * scale))),
                        interpolation=cv2.INTER_AREA)
    # a mid-grey canvas: black borders are fine too, grey just looks like a plain backdrop
    clip = np.full((frames, height, width, 3), 128, dtype=np.uint8)
    top = (height - fitted.shape[0]) // 2
    for i in range(frames):
        left = (width - fitted.shape[1]) // 2 + step * i - step * (frames - 1) // 2
        # clip the pasted photo to the canvas when the shift pushes it over an edge
        src_x0, dst_x0 = max(0, -left), max(0, left)
        span = min(fitted.shape[1] - src_x0, width - dst_x0)
        if span > 0:
            clip[i, top:top + fitted.shape[0], dst_x0:dst_x0 + span] = fitted[:, src_x0:src_x0 + span]
    return clip


def _measure_once(clip: np.ndarray, complexity: int, refine_face: bool) -> dict:
    from posegen_core.poses.extract_mediapipe import extract_poses

    done_at: list[float] = []
    start = time.perf_counter()
    poses = extract_poses(clip, progress=lambda done, total: done_at.append(time.perf_counter()),
                          model_complexity=complexity, refine_face=refine_face)
    total = time.perf_counter() - start
    frames = clip.shape[0]
    steady = (frames - 1) / (done_at[-1] - done_at[0]) if frames > 1 and done_at[-1] > done_at[0] else None
    found = poses.confidence[:, 0] > 0
    return {
        "frames": frames,
        "seconds": round(total, 3),
        "fps_total": round(frames / total, 2),
        "fps_steady": round(steady, 2) if steady is not None else None,
        "first_frame_seconds": round(done_at[0] - start, 3),
        "frames_with_person": int(found.any(axis=1).sum()),
        "mean_keypoints_found": round(float(found.sum(axis=1).mean()), 1),
    }


def _measure(clip: np.ndarray, complexity: int, refine_face: bool, repeats: int) -> dict:
    """The median run by total time, plus the best rates: on a shared machine the best is what this CPU can do."""
    runs = sorted((_measure_once(clip, complexity, refine_face) for _ in range(repeats)), key=lambda r: r["seconds"])
    result = dict(runs[len(runs) // 2])
    if repeats > 1:
        result["repeats"] = repeats
        result["fps_total_best"] = max(r["fps_total"] for r in runs)
        steady = [r["fps_steady"] for r in runs if r["fps_steady"] is not None]
        result["fps_steady_best"] = max(steady) if steady else None
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--size", action="append", type=_parse_size,
                        help=f"WIDTH or WIDTHxHEIGHT; repeatable (default {' '.join(DEFAULT_SIZES)})")
    parser.add_argument("--complexity", type=int, default=1, choices=(0, 1, 2))
    parser.add_argument("--no-refine-face", dest="refine_face", action="store_false")
    parser.add_argument("--repeats", type=int, default=1, help="runs per size; reports the median and the best")
    args = parser.parse_args(argv)
    sizes = args.size or [_parse_size(s) for s in DEFAULT_SIZES]

    import mediapipe

    if args.frames < 1 or args.repeats < 1:
        parser.error("--frames and --repeats must be at least 1")
    runs = {f"{w}x{h}": _measure(astronaut_clip(args.frames, w, h), args.complexity, args.refine_face, args.repeats)
            for w, h in sizes}
    result = {
        "config": {"frames": args.frames, "model_complexity": args.complexity, "refine_face": args.refine_face,
                   "repeats": args.repeats},
        "mediapipe": getattr(mediapipe, "__version__", "?"),
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "runs": runs,
    }
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
