"""PoseGen's conditioning inputs (§3): frame preprocessing, the I2V mask, and the values ComfyUI carries.

The pose-video latent rides in ComfyUI's standard ``concat_latent_image``/``concat_mask`` slot (WAN21 turns it
into the 20 extra input channels), the reference latent in the standard ``reference_latents`` list, the
CLIP features in ``clip_vision_output``, and the hand-normal latent in PoseGen's own ``posegen_hand_latent``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import torch
import torch.nn.functional as F

from ..errors import PoseGenInputError
from ..poses.sequence import PoseSequence
from .config import LATENT_CHANNELS, MASK_CHANNELS

TEMPORAL_STRIDE = 4  # Wan 2.1 VAE: latent frame k covers pixel frames 4k-3..4k (frame 0 alone)
SPATIAL_STRIDE = 8
SIZE_MULTIPLE = 16  # VAE /8 times the DiT's 2x2 patch
HAND_LATENT_KEY = "posegen_hand_latent"  # PoseGen's own conditioning entry, read by PoseGenWan21.extra_conds


def latent_frames(pixel_frames: int) -> int:
    return (pixel_frames - 1) // TEMPORAL_STRIDE + 1


def mask_channels(given: torch.Tensor) -> torch.Tensor:
    """PoseGen's 4 mask channels per latent frame from a per-pixel-frame 0/1 mask (§3.3).

    Frame 0 is repeated four times, then frames 1.. follow; groups of four become the 4 channels.
    Returns shape ``(4, T)``.
    """
    frames = given.shape[0]
    if (frames - 1) % TEMPORAL_STRIDE:
        raise ValueError(f"a mask over {frames} pixel frames; expected 4k+1 frames")
    padded = torch.cat([given[:1].repeat(TEMPORAL_STRIDE - 1), given]).float()
    return padded.reshape(latent_frames(frames), TEMPORAL_STRIDE).transpose(0, 1)


def center_crop_box(height: int, width: int, aspect: float) -> tuple[int, int, int, int]:
    """torchvision ``RandomResizedCrop``'s fallback crop (what PoseGen's transform does): (top, left, h, w)."""
    ratio = width / height
    if ratio < aspect:
        w, h = width, int(round(width / aspect))
    elif ratio > aspect:
        h, w = height, int(round(height * aspect))
    else:
        h, w = height, width
    return (height - h) // 2, (width - w) // 2, h, w


def preprocess_frames(images: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """Centre-crop to ``width:height`` then antialiased bilinear resize, rounded to 8-bit levels (§3.1).

    ``images`` is a ComfyUI IMAGE batch ``[F, H, W, C]`` in [0, 1]; the result has 3 channels.
    """
    frames = images[..., :3]
    src_h, src_w = frames.shape[1:3]
    if (src_h, src_w) == (height, width):
        return frames
    top, left, h, w = center_crop_box(src_h, src_w, width / height)
    cropped = frames[:, top:top + h, left:left + w].movedim(-1, 1).float()
    resized = F.interpolate(cropped, size=(height, width), mode="bilinear", align_corners=False, antialias=True)
    return (torch.round(resized.clamp(0, 1) * 255) / 255).movedim(1, -1).to(images.dtype)


def poses_on_canvas(seq: PoseSequence, width: int, height: int) -> PoseSequence:
    """Keypoints moved through the same centre crop + resize that ``preprocess_frames`` gives their frames."""
    top, left, h, w = center_crop_box(seq.height, seq.width, width / height)
    keypoints = seq.keypoints.copy()
    keypoints[..., 0] = (keypoints[..., 0] - left) * (width / w)
    keypoints[..., 1] = (keypoints[..., 1] - top) * (height / h)
    return replace(seq, keypoints=keypoints, width=width, height=height)


@dataclass(frozen=True)
class SegmentShape:
    length: int
    height: int
    width: int

    @property
    def latent_shape(self) -> tuple[int, int, int, int, int]:
        return (1, LATENT_CHANNELS, latent_frames(self.length), self.height // SPATIAL_STRIDE,
                self.width // SPATIAL_STRIDE)


def check_segment_shape(length: int, width: int, height: int) -> SegmentShape:
    if length < 1 or (length - 1) % TEMPORAL_STRIDE:
        raise PoseGenInputError("length", f"{length} frames.", "4k+1 frames (e.g. 81), as the Wan VAE needs")
    for name, value in (("width", width), ("height", height)):
        if value < SIZE_MULTIPLE or value % SIZE_MULTIPLE:
            raise PoseGenInputError(name, f"{value} px.", f"a positive multiple of {SIZE_MULTIPLE}")
    return SegmentShape(length, height, width)


def check_image(images: torch.Tensor | None, input_name: str) -> torch.Tensor:
    if images is None or not isinstance(images, torch.Tensor) or images.dim() != 4 or images.shape[-1] not in (3, 4):
        shape = None if images is None else tuple(getattr(images, "shape", ()))
        raise PoseGenInputError(input_name, f"got {shape}.", "an IMAGE batch [frames, height, width, 3]")
    if images.shape[0] == 0 or images.shape[1] == 0 or images.shape[2] == 0:
        raise PoseGenInputError(input_name, f"the batch is empty (shape {tuple(images.shape)}).",
                                "at least one frame")
    return images


def check_frames_match(frames: torch.Tensor, input_name: str, reference: torch.Tensor, length: int) -> None:
    if frames.shape[0] != length:
        raise PoseGenInputError(input_name, f"{frames.shape[0]} frames but the segment length is {length}.",
                                f"exactly {length} frames (trim or resample the pose sequence, or change length)")
    ref_hw = tuple(reference.shape[1:3])
    if tuple(frames.shape[1:3]) != ref_hw:
        raise PoseGenInputError(
            input_name, f"frames are {frames.shape[2]}x{frames.shape[1]} px but reference_image is "
            f"{ref_hw[1]}x{ref_hw[0]} px.", "frames drawn on the reference's canvas (same width and height), so the "
            "pose stays aligned with the subject after cropping")


def posegen_conditioning_values(
    pose_latent: torch.Tensor,
    given_mask: torch.Tensor,
    reference_latent: torch.Tensor,
    hand_latent: torch.Tensor | None,
    clip_vision_output: Any,
) -> dict[str, Any]:
    """Conditioning entries for one segment. Latents are raw VAE outputs; ``given_mask`` is ``(4, T)``
    with 1 on latent-frame slots whose pixels are given (all 0 for segments, §3.3)."""
    _, _, t, h, w = pose_latent.shape
    if given_mask.shape != (MASK_CHANNELS, t):
        raise ValueError(f"given_mask has shape {tuple(given_mask.shape)}; expected {(MASK_CHANNELS, t)}")
    # ComfyUI's WAN21 inverts concat_mask (it feeds 1 - mask), so hand it 1 - PoseGen's mask.
    concat_mask = (1.0 - given_mask.to(pose_latent))[None, :, :, None, None].expand(1, MASK_CHANNELS, t, h, w)
    values: dict[str, Any] = {
        "concat_latent_image": pose_latent,
        "concat_mask": concat_mask.contiguous(),
        "reference_latents": [reference_latent],
        "clip_vision_output": clip_vision_output,
    }
    if hand_latent is not None:
        values[HAND_LATENT_KEY] = hand_latent
    return values


def encode_video(vae: Any, frames: torch.Tensor, shape: SegmentShape, input_name: str) -> torch.Tensor:
    """VAE-encode frames and make sure the VAE is a Wan 2.1 one (16 channels, 4x temporal, 8x spatial)."""
    latent = vae.encode(frames[..., :3])
    want = (1, LATENT_CHANNELS, latent_frames(frames.shape[0]), shape.height // SPATIAL_STRIDE,
            shape.width // SPATIAL_STRIDE)
    if tuple(latent.shape) != want:
        raise PoseGenInputError("vae", f"encoding {input_name} gave a latent of shape {tuple(latent.shape)}.",
                                f"{want}: the Wan 2.1 VAE (16 channels, 4x temporal and 8x spatial compression)")
    return latent


@torch.inference_mode()  # VAE encodes; outside ComfyUI's executor autograd would keep their graphs
def build_segment_conditioning(
    vae: Any,
    reference_image: torch.Tensor,
    pose_frames: torch.Tensor,
    hand_frames: torch.Tensor | None,
    clip_vision_output: Any,
    width: int,
    height: int,
    length: int,
    black_hands_when_missing: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[dict[str, Any], SegmentShape]:
    """Everything PoseGenConditioning adds to positive and negative for one segment.

    ``progress(done, total)`` is called after each VAE encode (ComfyUI's progress hook also checks for an
    interrupt there, so a cancelled prompt stops between encodes).
    """
    shape = check_segment_shape(length, width, height)
    reference_image = check_image(reference_image, "reference_image")
    if reference_image.shape[0] != 1:
        raise PoseGenInputError("reference_image", f"a batch of {reference_image.shape[0]} images.",
                                "one image (pick a frame of a reference clip first)")
    pose_frames = check_image(pose_frames, "pose_frames")
    check_frames_match(pose_frames, "pose_frames", reference_image, length)
    if hand_frames is not None:
        hand_frames = check_image(hand_frames, "hand_frames")
        check_frames_match(hand_frames, "hand_frames", reference_image, length)
    if clip_vision_output is None or getattr(clip_vision_output, "penultimate_hidden_states", None) is None:
        raise PoseGenInputError("clip_vision_output", "it has no penultimate_hidden_states.",
                                "the output of CLIPVisionEncode with CLIP-H (clip_vision_h)")

    if hand_frames is None and black_hands_when_missing:
        # PoseGen's hand video is black wherever no hand is visible: the in-distribution "no hands" input.
        hand_frames = torch.zeros((length, height, width, 3), dtype=pose_frames.dtype, device=pose_frames.device)
    jobs = [("reference_image", reference_image), ("pose_frames", pose_frames)]
    if hand_frames is not None:
        jobs.append(("hand_frames", hand_frames))
    latents: dict[str, torch.Tensor] = {}
    for done, (name, frames) in enumerate(jobs, start=1):
        latents[name] = encode_video(vae, preprocess_frames(frames, width, height), shape, name)
        if progress is not None:
            progress(done, len(jobs))
    given = torch.zeros(MASK_CHANNELS, latent_frames(length))
    values = posegen_conditioning_values(latents["pose_frames"], given, latents["reference_image"],
                                         latents.get("hand_frames"), clip_vision_output)
    return values, shape
