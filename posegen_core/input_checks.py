"""Checks on the values of the IMAGE and MASK batches a node reads, before anything is computed from them.

ComfyUI: free (no ComfyUI imports; enforced by ruff TID251). Imports only ``errors``.

ComfyUI's IMAGE is float [frames, height, width, 3] in 0..1 and its MASK float [frames, height, width] (or
[height, width]) in 0..1. A batch with NaN or infinite values, 8-bit values (0..255), values far outside 0..1 or
another channel count would still make a video, from garbage, so it is refused, naming the input. A small
overshoot from resampling (bicubic and Lanczos resizes ring past 0 and 1) passes unchanged: values within
``RANGE_SLACK`` of 0..1 are what image nodes legitimately hand on. Nothing is converted: a node never guesses.
"""

from __future__ import annotations

import torch

from .errors import PoseGenInputError

RANGE_SLACK = 0.05
FRAMES_PER_PASS = 16  # the range is read a few frames at a time: no temporary the size of the batch


def value_range(batch: torch.Tensor) -> tuple[float, float]:
    """(min, max) of ``batch``; NaN when it holds a NaN, and ±inf when it holds an infinity."""
    low, high = float("inf"), float("-inf")
    if batch.numel() == 0:
        return low, high
    flat = batch.reshape(batch.shape[0], -1) if batch.dim() > 1 else batch.reshape(1, -1)
    for start in range(0, flat.shape[0], FRAMES_PER_PASS):
        part = flat[start:start + FRAMES_PER_PASS]
        if part.is_floating_point() and torch.isnan(part).any():
            return float("nan"), float("nan")
        part_low, part_high = torch.aminmax(part)
        low, high = min(low, float(part_low)), max(high, float(part_high))
    return low, high


def _check_values(batch: torch.Tensor, input_name: str, kind: str) -> None:
    if batch.numel() == 0:
        return  # emptiness is the node's own check, with its own wording
    low, high = value_range(batch)
    if low != low or high != high or abs(low) == float("inf") or abs(high) == float("inf"):
        raise PoseGenInputError(input_name, "holds NaN or infinite values.",
                                f"a {kind} with finite values in 0..1 (check the node that made it)")
    if low >= -RANGE_SLACK and high <= 1 + RANGE_SLACK:
        return
    if low >= -0.5 and 1 + RANGE_SLACK < high <= 255.5:
        hint = " They look like 8-bit values: ComfyUI's IMAGE and MASK hold 0..1, so divide by 255."
    else:
        hint = ""
    raise PoseGenInputError(input_name, f"values run from {low:.4g} to {high:.4g}.{hint}",
                            f"a {kind} with values in 0..1")


def check_image_batch(images: torch.Tensor, input_name: str) -> None:
    """An IMAGE: [frames, height, width, 3], finite, in 0..1."""
    if not isinstance(images, torch.Tensor) or images.dim() != 4:
        shape = tuple(getattr(images, "shape", ()))
        raise PoseGenInputError(input_name, f"got {type(images).__name__} of shape {shape}.",
                                "an IMAGE batch [frames, height, width, 3]")
    channels = images.shape[-1]
    if channels != 3:
        alpha = " (RGBA: split the alpha off first, e.g. with core 'Split Image with Alpha')" if channels == 4 else ""
        raise PoseGenInputError(input_name, f"frames have {channels} channels{alpha}.", "RGB frames, 3 channels")
    _check_values(images, input_name, "IMAGE")


def check_mask_batch(masks: torch.Tensor, input_name: str) -> None:
    """A MASK: [frames, height, width] or [height, width], finite, in 0..1."""
    if not isinstance(masks, torch.Tensor) or masks.dim() not in (2, 3):
        shape = tuple(getattr(masks, "shape", ()))
        raise PoseGenInputError(input_name, f"got {type(masks).__name__} of shape {shape}.",
                                "a MASK [frames, height, width]")
    _check_values(masks, input_name, "MASK")
