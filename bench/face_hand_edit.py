"""What PoseCrafter's face/hand latent edit touches at a real video size, and what it costs next to the latent.

The example workflow's inputs: the astronaut photo's pose (MediaPipe) as the reference, the demo's waving figure
with DWPose-style face and hands retargeted onto it as the driving poses (or the figure's own first frame as the
reference, ``--reference figure``, which has hands too); one segment planned at
``--width`` x ``--height`` (PoseGen: 720 x 1280, 81 frames; with the inserted reference pose 85). Prints per part
how many latent frames are edited or skipped, the fraction of each latent frame's area the boxes cover, and the
time to plan and to apply the edit relative to one copy of the latent (both CPU, one run), as JSON.

    python -m bench.face_hand_edit [--frames 81 --width 720 --height 1280 --insert --reference photo|figure]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from bench import comfy_for_benchmarks


def example_poses(frames: int, reference_kind: str):
    """(reference pose, driving poses with face and hands on the reference's canvas). ``photo``: the astronaut's
    MediaPipe pose (a close-up portrait: face, no hands detected), the driving figure retargeted onto it;
    ``figure``: the driving figure's own first frame (full body with face and hands)."""
    from devtools.pose_inputs import driving_pose_keypoint
    from posegen_core.poses.formats.keypoint import from_pose_keypoint
    from posegen_core.poses.retarget import retarget

    driving = from_pose_keypoint(driving_pose_keypoint(frames, 288, 512, face_and_hands=True))
    if reference_kind == "figure":
        return driving.frames([0]), driving
    from skimage import data

    from posegen_core.poses.extract_mediapipe import extract_poses

    reference = extract_poses(data.astronaut()[None])
    return reference, retarget(driving, reference)


def measure(frames: int, width: int, height: int, insert: bool, reference_kind: str) -> dict:
    comfy_for_benchmarks()
    from posegen_core.posecrafter.face_hand import FaceHandEdit
    from posegen_core.posecrafter.latent_edit import PART_NAMES
    from posegen_core.posegen.conditioning import poses_on_canvas

    reference, targets = example_poses(frames, reference_kind)
    if insert:  # the reference pose first, then the driving poses: still 4k+1 frames with 4 more driving ones
        more = example_poses(frames + 3, reference_kind)[1]
        keypoints = np.concatenate([reference.keypoints[:1], more.keypoints])
        targets = more.with_keypoints(keypoints)
    t = (targets.num_frames - 1) // 4 + 1
    grid = (t, height // 8, width // 8)
    edit = FaceHandEdit(poses_on_canvas(reference, width, height))
    started = time.perf_counter()
    plan = edit.plan_for(poses_on_canvas(targets, width, height), grid)
    plan_s = time.perf_counter() - started
    latent = torch.randn((1, 16, *grid), generator=torch.Generator().manual_seed(0))
    started = time.perf_counter()
    latent.clone()
    copy_s = time.perf_counter() - started
    started = time.perf_counter()
    edited = edit.editor(plan)(latent)
    apply_s = time.perf_counter() - started
    changed = (edited != latent).any(dim=1)[0].float().mean(dim=(1, 2))  # per latent frame
    touched = np.asarray(plan.fraction_touched)
    return {
        "reference": reference_kind, "frames": targets.num_frames, "latent_grid": list(grid),
        "inserted_reference_pose": insert,
        "edited_frames": {p: sum(e.part == p for e in plan.edits) for p in PART_NAMES},
        "skipped_frames": plan.skipped,
        "fraction_touched_mean": float(touched.mean()), "fraction_touched_max": float(touched.max()),
        "fraction_touched_per_latent_frame": [round(float(f), 4) for f in touched],
        "fraction_changed_mean": float(changed.mean()),
        "plan_seconds": plan_s, "apply_seconds": apply_s, "apply_over_latent_copy": apply_s / max(copy_s, 1e-9),
        "summary": plan.summary(),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=81)
    parser.add_argument("--width", type=int, default=720)
    parser.add_argument("--height", type=int, default=1280)
    parser.add_argument("--insert", action="store_true", help="with the inserted reference pose first")
    parser.add_argument("--reference", choices=("photo", "figure"), default="photo",
                        help="photo: the astronaut (MediaPipe); figure: the driving figure's first frame")
    args = parser.parse_args(argv)
    result = measure(args.frames, args.width, args.height, args.insert, args.reference)
    print(result.pop("summary"))
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
