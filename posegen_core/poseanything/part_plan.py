"""Part masks of a whole skeleton video for the PTCM pre-pass, on the token grid of the latent being sampled."""

from __future__ import annotations

import numpy as np
import torch

from .guidance import VideoParts
from .parts import segment_video_parts

PART_COLOURS = np.array([[230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48]],
                        dtype=np.float32) / 255.0


def video_parts(video: torch.Tensor, posed: list[int], subject_mask: torch.Tensor | None, grid_w: int,
                grid_h: int) -> VideoParts:
    """Parts of each posed frame of ``video`` [F, H, W, 3] (segmented on the released 832 basis, α from frame 0 and
    the subject mask) sampled onto the ``grid_w x grid_h`` token grid."""
    frames: list[np.ndarray | None] = [None] * video.shape[0]
    for index in posed:
        frames[index] = (video[index].numpy() * 255.0).round().astype(np.uint8)
    subject = None if subject_mask is None else subject_mask[0].float().cpu().numpy()
    found = segment_video_parts(frames, subject, grid=(grid_w, grid_h), input_name="skeleton_frames")
    return VideoParts(posed_frames=list(found.frame_indices), masks=list(found.masks), alpha=found.alpha)


def parts_preview(parts: VideoParts, size: tuple[int, int]) -> torch.Tensor:
    """One image per posed frame: each part's tokens in its own colour (later parts on top), at ``size`` (w, h)."""
    import cv2

    width, height = size
    images = []
    for stack in parts.masks:
        canvas = np.zeros((*stack.shape[1:], 3), dtype=np.float32)
        for j, mask in enumerate(stack):
            canvas[mask] = PART_COLOURS[j % len(PART_COLOURS)]
        images.append(cv2.resize(canvas, (width, height), interpolation=cv2.INTER_NEAREST))
    return torch.from_numpy(np.stack(images))
