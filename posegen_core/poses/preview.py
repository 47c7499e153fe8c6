"""The compact JSON a pose node sends to the frontend so the user can watch the sequence before sampling.

Sent as the node's UI output under ``PREVIEW_KEY``; ``js/posegen_pose_preview.js`` animates it on the node.
"""

from __future__ import annotations

import colorsys
from typing import Any

import numpy as np

from .sequence import PoseSequence

PREVIEW_KEY = "posegen_pose_preview"
MAX_PREVIEW_FRAMES = 240  # longer sequences are shown with a frame stride, to keep the message small


def _edge_colors(seq: PoseSequence) -> list[list[int]]:
    skeleton = seq.skeleton
    if skeleton.edge_colors is not None:
        return [list(c) for c in skeleton.edge_colors]
    count = max(1, len(skeleton.edges))
    return [[round(255 * v) for v in colorsys.hsv_to_rgb(i / count, 0.9, 1.0)] for i in range(count)]


def preview_payload(seq: PoseSequence, max_frames: int = MAX_PREVIEW_FRAMES) -> dict[str, Any]:
    """Canvas, timing, skeleton edges/colours and rounded keypoints (x, y, confidence per point, flat per person)."""
    stride = max(1, -(-seq.num_frames // max_frames))
    shown = seq.keypoints[::stride]
    rounded = np.concatenate([np.round(shown[..., :2], 1), np.round(shown[..., 2:], 2)], axis=-1)
    return {
        "width": seq.width,
        "height": seq.height,
        "fps": seq.fps,
        "frames": seq.num_frames,
        "stride": stride,
        "people": seq.num_people,
        "skeleton": seq.skeleton.name,
        "edges": [list(e) for e in seq.skeleton.edges],
        "colors": _edge_colors(seq),
        "inserted": list(seq.inserted),
        "keypoints": rounded.reshape(rounded.shape[0], rounded.shape[1], -1).tolist(),
    }
