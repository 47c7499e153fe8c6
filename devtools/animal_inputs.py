"""A drawn four-legged animal walking, for PoseAnything's example workflows and tests: the first frame (the animal
on a meadow) and the subject-mask video a segmentation node would give (white animal on black, lossless H.264)."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
from PIL import Image

FIRST_FRAME = "poseanything_animal_first_frame.png"
MASK_VIDEO = "poseanything_animal_masks.mp4"


def animal_mask(phase: float, width: int, height: int) -> np.ndarray:
    """uint8 0/255 silhouette: body, neck and head, tail, four legs swinging with ``phase`` (radians)."""
    canvas = np.zeros((height, width), np.uint8)
    s = min(width, height)
    body = (int(0.45 * width), int(0.45 * height))
    cv2.ellipse(canvas, body, (int(0.22 * width), int(0.11 * height)), 0, 0, 360, 255, -1)
    head = (int(0.74 * width), int(0.24 * height))
    cv2.line(canvas, (int(0.6 * width), int(0.4 * height)), head, 255, max(2, int(0.07 * s)))
    cv2.circle(canvas, head, max(2, int(0.07 * s)), 255, -1)
    cv2.line(canvas, (int(0.24 * width), int(0.42 * height)), (int(0.12 * width), int(0.3 * height)), 255,
             max(1, int(0.025 * s)))
    leg_len = 0.32 * height
    for i, x in enumerate((0.3, 0.38, 0.52, 0.6)):
        swing = 0.35 * math.sin(phase + (math.pi if i % 2 else 0.0))
        top = (int(x * width), int(0.5 * height))
        foot = (int(top[0] + leg_len * math.sin(swing)), int(top[1] + leg_len * math.cos(swing)))
        cv2.line(canvas, top, foot, 255, max(2, int(0.04 * s)))
    return canvas


def first_frame(width: int, height: int) -> Image.Image:
    """The animal (brown, darker legs) on sky and grass."""
    image = np.zeros((height, width, 3), np.uint8)
    image[: height * 2 // 3] = (150, 200, 240)
    image[height * 2 // 3:] = (80, 150, 60)
    mask = animal_mask(0.0, width, height) > 0
    image[mask] = (140, 90, 45)
    return Image.fromarray(image)


def write_animal_inputs(input_dir: Path, frames: int, width: int, height: int, fps: int = 24) -> tuple[Path, Path]:
    """``input/FIRST_FRAME`` and ``input/MASK_VIDEO`` (one stride cycle over the clip)."""
    input_dir.mkdir(parents=True, exist_ok=True)
    image_path = input_dir / FIRST_FRAME
    first_frame(width, height).save(image_path)
    video_path = input_dir / MASK_VIDEO
    with av.open(str(video_path), mode="w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv444p"
        stream.options = {"crf": "0"}
        for i in range(frames):
            mask = animal_mask(2 * math.pi * i / frames, width, height)
            picture = Image.fromarray(np.repeat(mask[..., None], 3, axis=2))
            for packet in stream.encode(av.VideoFrame.from_image(picture)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return image_path, video_path
