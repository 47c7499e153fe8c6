"""Synthetic demo inputs: a reference picture of a figure and a driving pose video of it waving.

Stand-ins so the demo and the integration tests need no downloaded media. The pose video is an
OpenPose-18 skeleton in the limb colours PoseGen's renderer uses (as the model sees them, R and B swapped).
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw

# OpenPose-18 limbs and PoseGen's limb colours (§8.3, channel-swapped as decoded by the model)
LIMBS = [(1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11), (11, 12), (12, 13),
         (1, 0), (0, 14), (14, 16), (0, 15), (15, 17)]
LIMB_BGR = [(255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0), (0, 255, 0),
            (0, 255, 85), (0, 255, 170), (0, 255, 225), (0, 170, 255), (0, 85, 255), (0, 0, 255), (255, 0, 170),
            (170, 0, 255), (255, 0, 255), (255, 0, 170)]


def skeleton(phase: float, width: int, height: int) -> np.ndarray:
    """18 (x, y) keypoints of a standing figure; ``phase`` swings the arms and shifts the weight."""
    u = height / 8.0  # head-to-chin unit
    cx, sway = width / 2.0, 0.15 * u * math.sin(phase)
    neck = (cx + sway, 2.2 * u)
    hips_y = 4.6 * u
    wave = math.sin(phase)
    pts = {
        0: (cx + sway, 1.3 * u), 1: neck,
        2: (neck[0] - 0.9 * u, neck[1]), 5: (neck[0] + 0.9 * u, neck[1]),
        8: (cx - 0.5 * u, hips_y), 11: (cx + 0.5 * u, hips_y),
        9: (cx - 0.6 * u, hips_y + 1.4 * u), 12: (cx + 0.6 * u, hips_y + 1.4 * u),
        10: (cx - 0.65 * u, hips_y + 2.8 * u), 13: (cx + 0.65 * u, hips_y + 2.8 * u),
        14: (cx + sway - 0.25 * u, 1.1 * u), 15: (cx + sway + 0.25 * u, 1.1 * u),
        16: (cx + sway - 0.5 * u, 1.2 * u), 17: (cx + sway + 0.5 * u, 1.2 * u),
    }
    # right arm hangs and swings a little, left arm waves overhead
    pts[3] = (pts[2][0] - 0.3 * u, pts[2][1] + 1.2 * u)
    pts[4] = (pts[3][0] + 0.2 * u * wave, pts[3][1] + 1.1 * u)
    pts[6] = (pts[5][0] + 0.9 * u, pts[5][1] - 0.6 * u)
    angle = -math.pi / 2 + 0.6 * wave
    pts[7] = (pts[6][0] + 1.1 * u * math.cos(angle), pts[6][1] + 1.1 * u * math.sin(angle))
    return np.array([pts[i] for i in range(18)], dtype=np.float32)


def render_skeleton(points: np.ndarray, width: int, height: int) -> Image.Image:
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    line = max(2, round(height / 80))
    for (a, b), (bc, gc, rc) in zip(LIMBS, LIMB_BGR, strict=True):
        draw.line([tuple(points[a]), tuple(points[b])], fill=(bc, gc, rc), width=line)
    for x, y in points:
        draw.ellipse([x - line, y - line, x + line, y + line], fill=(255, 255, 255))
    return image


def reference_image(width: int, height: int) -> Image.Image:
    """A flat-shaded figure in the skeleton's rest pose on a two-tone background."""
    image = Image.new("RGB", (width, height), (70, 110, 160))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, int(height * 0.8), width, height], fill=(120, 100, 80))
    pts = skeleton(0.0, width, height)
    limb = max(3, round(height / 40))
    for a, b in LIMBS[:12]:
        draw.line([tuple(pts[a]), tuple(pts[b])], fill=(200, 60, 60), width=limb)
    draw.polygon([tuple(pts[2]), tuple(pts[5]), tuple(pts[11]), tuple(pts[8])], fill=(200, 60, 60))
    r = height / 16
    draw.ellipse([pts[0][0] - r, pts[0][1] - r, pts[0][0] + r, pts[0][1] + r], fill=(235, 200, 170))
    return image


def write_reference(path: Path, width: int, height: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    reference_image(width, height).save(path)
    return path


def write_pose_video(path: Path, frames: int, width: int, height: int, fps: int = 30) -> Path:
    """An H.264 pose video, one waving cycle over the clip."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv444p"
        stream.options = {"crf": "0"}  # lossless, so decoded frames are the rendered ones
        for i in range(frames):
            picture = render_skeleton(skeleton(2 * math.pi * i / frames, width, height), width, height)
            for packet in stream.encode(av.VideoFrame.from_image(picture)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
