"""PoseGenStandInPosePreview: a synthetic waving pose sequence, sent to the frontend's pose preview.

Exercises ``js/posegen_pose_preview.js`` without any pose reader or video: the figures come from
``devtools.demo_inputs.skeleton()`` (OpenPose-18 body), placed into the pack's 136-point ``HUMAN`` layout with
feet, face and hands missing (confidence 0), and the node returns the preview payload as its UI output.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from comfy_api.v0_0_2 import io

from .common import CATEGORY, ensure_repo_on_path

ensure_repo_on_path()  # the repo's posegen_core and devtools, inside the server
from devtools.demo_inputs import skeleton  # noqa: E402
from posegen_core.poses.preview import PREVIEW_KEY, preview_payload  # noqa: E402
from posegen_core.poses.sequence import PoseSequence  # noqa: E402
from posegen_core.poses.skeletons import HUMAN, HUMAN_BODY  # noqa: E402


def waving_sequence(frames: int, fps: float | None, width: int, height: int, people: int = 1) -> PoseSequence:
    """``people`` figures side by side, each waving one full cycle over ``frames`` (person k half a cycle behind
    person k-1), in the ``HUMAN`` layout with only the 18 body points present."""
    if frames < 1 or people < 1 or width < 1 or height < 1:
        raise ValueError(f"frames, people, width and height must be >= 1, got {frames}, {people}, {width}, {height}")
    keypoints = np.zeros((frames, people, HUMAN.num_keypoints, 3), dtype=np.float32)
    column = width / people
    for f in range(frames):
        for p in range(people):
            phase = 2 * math.pi * f / frames + math.pi * p
            body = skeleton(phase, round(column), height)
            body[:, 0] += p * column + (column - round(column)) / 2
            keypoints[f, p, HUMAN_BODY, :2] = body
            keypoints[f, p, HUMAN_BODY, 2] = 1.0
    return PoseSequence(skeleton=HUMAN, keypoints=keypoints, width=width, height=height, fps=fps)


class PoseGenStandInPosePreview(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="PoseGenStandInPosePreview",
            display_name="PoseGen Stand-in Pose Preview (tests only)",
            category=CATEGORY,
            description=(
                "STAND-IN FOR TESTS AND DEMOS ONLY: no model, no pose input. Builds a synthetic pose sequence of "
                "`people` figures waving (136-point human layout, body only) and shows it with the pose preview "
                "that pose nodes get in the frontend. fps 0 means 'unknown'. Always runs (never cached)."
            ),
            inputs=[
                io.Int.Input("frames", default=48, min=1, max=2000),
                io.Float.Input("fps", default=24.0, min=0.0, max=240.0, step=0.01, tooltip="0: unknown fps"),
                io.Int.Input("width", default=512, min=16, max=4096, step=8),
                io.Int.Input("height", default=512, min=16, max=4096, step=8),
                io.Int.Input("people", default=1, min=1, max=8),
            ],
            outputs=[],
            is_output_node=True,
        )

    @classmethod
    def fingerprint_inputs(cls, **kwargs: Any) -> float:
        return float("nan")  # never cached: every run sends the preview again

    @classmethod
    def execute(cls, frames: int = 48, fps: float = 24.0, width: int = 512, height: int = 512,
                people: int = 1) -> io.NodeOutput:
        seq = waving_sequence(frames, fps if fps > 0 else None, width, height, people)
        return io.NodeOutput(ui={PREVIEW_KEY: [preview_payload(seq)]})
