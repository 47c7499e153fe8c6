"""PoseAnything conditioning (§2): skeleton video + first frame → the 96-channel model input, as ComfyUI carries
it for Wan 2.2.

- The skeleton video (white lines on black; un-posed frames black, §2.4) is VAE-encoded into
  ``concat_latent_image``: WAN22 normalises it and concatenates it after the noisy latent (channels 48-95).
- The first frame is encoded into latent frame 0 of the LATENT, with a noise mask that is 0 there: WAN22 turns it
  into timestep 0 for that frame and ComfyUI's sampler re-imposes it at every step (§2.6).
- Everything is resized by the released rule (long side 832, both sides floored to multiples of 32, no crop).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..errors import PoseGenInputError
from .config import WAN22_LATENT_CHANNELS
from .negative import POSE_VIDEO_KEY, PoseVideoSource
from .video import (
    FRAMES_PER_LATENT,
    assemble_skeleton_video,
    check_skeleton_frames,
    generation_size,
    latent_frame_count,
    parse_frame_indices,
    resize_like_pil_bilinear,
)

SPATIAL_STRIDE = 16  # Wan 2.2 VAE
ASPECT_TOLERANCE = 0.02  # skeletons must be pixel-aligned with the first frame: same aspect ratio


@dataclass
class PreparedVideo:
    first_frame: torch.Tensor  # [1, h, w, 3]
    skeleton_video: torch.Tensor  # [F, h, w, 3], black where un-posed
    posed: list[int]
    size: tuple[int, int]  # (w, h)


def _check_image(image: torch.Tensor | None, input_name: str) -> torch.Tensor:
    if image is None or image.dim() != 4 or image.shape[0] == 0:
        raise PoseGenInputError(input_name, "is missing or empty.", "an IMAGE batch")
    if image.shape[-1] not in (3, 4):
        raise PoseGenInputError(input_name, f"has {image.shape[-1]} channels.", "RGB (an alpha channel is dropped)")
    return image[..., :3].float().cpu()


def posed_skeletons(skeleton_frames: torch.Tensor, posed_frames: str, length: int) -> tuple[torch.Tensor, list[int]]:
    """(posed images, their frame indices). A dense video (``length`` frames) picks its posed frames by the text
    (``auto`` = the non-black ones); a shorter batch is the posed frames themselves, listed in the text."""
    count = skeleton_frames.shape[0]
    if count == length:
        indices = parse_frame_indices(posed_frames, length, images=skeleton_frames, input_name="posed_frames")
        return skeleton_frames[indices], indices
    if count > length:
        raise PoseGenInputError("skeleton_frames", f"has {count} frames for a {length}-frame video.",
                                f"at most {length} frames (or raise length)")
    if posed_frames.strip().lower() == "auto":
        raise PoseGenInputError("posed_frames", f"'auto' cannot place {count} skeleton frames in a {length}-frame "
                                "video.", f"the {count} frame indices they belong to, e.g. '0,20,40' or '0-80:20'")
    indices = parse_frame_indices(posed_frames, length, input_name="posed_frames")
    if len(indices) != count:
        raise PoseGenInputError("posed_frames", f"lists {len(indices)} frames for {count} skeleton frames.",
                                "one index per skeleton frame")
    return skeleton_frames, indices


def prepare_video(first_frame: torch.Tensor | None, skeleton_frames: torch.Tensor | None, posed_frames: str,
                  length: int, long_side: int) -> PreparedVideo:
    first = _check_image(first_frame, "first_frame")[:1]
    skeletons = _check_image(skeleton_frames, "skeleton_frames")
    if length < 1 or (length - 1) % FRAMES_PER_LATENT:  # the causal VAE's 4k+1 frames; named after the node input
        raise PoseGenInputError("length", f"{length} frames.", "4k+1 frames (e.g. 81), as the Wan VAE needs")
    check_skeleton_frames(skeletons, "skeleton_frames")
    _, fh, fw, _ = first.shape
    _, sh, sw, _ = skeletons.shape
    if abs((sw / sh) / (fw / fh) - 1.0) > ASPECT_TOLERANCE:
        raise PoseGenInputError("skeleton_frames", f"are {sw}x{sh} but the first frame is {fw}x{fh}.",
                                "skeletons pixel-aligned with the first frame (same aspect ratio)")
    size = generation_size(fw, fh, long_side, input_name="first_frame")
    images, indices = posed_skeletons(skeletons, posed_frames, length)
    video = assemble_skeleton_video((images, indices), length, size)
    return PreparedVideo(first_frame=resize_like_pil_bilinear(first, size), skeleton_video=video,
                         posed=list(indices), size=size)


def encode_wan22(vae: Any, frames: torch.Tensor, input_name: str = "vae") -> torch.Tensor:
    """Raw VAE latent of ``frames``, checked to be the Wan 2.2 VAE's (48 channels, 16x spatial, 4x temporal)."""
    latent = vae.encode(frames[..., :3])
    want = (1, WAN22_LATENT_CHANNELS, latent_frame_count(frames.shape[0]), frames.shape[1] // SPATIAL_STRIDE,
            frames.shape[2] // SPATIAL_STRIDE)
    if tuple(latent.shape) != want:
        raise PoseGenInputError(input_name, f"encoded {frames.shape[0]} frames of {frames.shape[2]}x"
                                f"{frames.shape[1]} to a latent of shape {tuple(latent.shape)}.",
                                f"the Wan 2.2 VAE (latent {want})")
    return latent


@dataclass
class PoseAnythingInputs:
    positive_values: dict[str, Any]
    latent: dict[str, torch.Tensor]
    video: PreparedVideo


def build_inputs(vae: Any, first_frame: torch.Tensor | None, skeleton_frames: torch.Tensor | None,
                 posed_frames: str, length: int, long_side: int) -> PoseAnythingInputs:
    """Conditioning values (for positive and negative) and the LATENT with the first frame fused in."""
    import comfy.latent_formats

    video = prepare_video(first_frame, skeleton_frames, posed_frames, length, long_side)
    skeleton_latent = encode_wan22(vae, video.skeleton_video)
    first_latent = encode_wan22(vae, video.first_frame)
    samples = torch.zeros_like(skeleton_latent)
    mask = torch.ones(1, 1, *samples.shape[2:])
    mask[:, :, :1] = 0.0
    # frames 1.. hold the latent format's zero (as Wan22ImageToVideoLatent does), frame 0 the first frame
    samples = comfy.latent_formats.Wan22().process_out(samples) * mask
    samples[:, :, :1] = first_latent
    source = PoseVideoSource.from_images(video.skeleton_video, tuple(video.posed), vae, binary=True)
    values = {"concat_latent_image": skeleton_latent, POSE_VIDEO_KEY: source}
    return PoseAnythingInputs(positive_values=values, latent={"samples": samples, "noise_mask": mask}, video=video)
