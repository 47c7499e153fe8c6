"""The negative branch of decoupled subject/camera guidance (§4): the same conditioning re-encoded from a
static first-frame pose video ("no subject motion") and, experimentally, with a camera trajectory applied.

Conditioning nodes that encode a pose video into ``concat_latent_image`` (PoseAnything Conditioning, PoseGen
Conditioning) keep the pixel video, its posed frames and the VAE under :data:`POSE_VIDEO_KEY`, so any Wan-family
model's negative can be rebuilt here without re-wiring the graph.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..errors import PoseGenInputError
from .camera import apply_camera_motion
from .video import static_skeleton_video

POSE_VIDEO_KEY = "posegen_pose_video"
NEGATIVE_POSES = ("same as positive", "static first frame")


@dataclass(frozen=True)
class PoseVideoSource:
    """The pixel pose video behind a conditioning's ``concat_latent_image``."""

    frames: torch.Tensor  # [F, H, W, 3] uint8 on the CPU (a quarter of float32: PoseGen's videos are 720p)
    posed: tuple[int, ...]
    vae: Any
    binary: bool  # white-on-black skeletons (PoseAnything) rather than coloured renders (PoseGen)

    @classmethod
    def from_images(cls, images: torch.Tensor, posed: tuple[int, ...], vae: Any, binary: bool) -> PoseVideoSource:
        frames = (images[..., :3].detach().float().cpu().clamp(0, 1) * 255.0).round().to(torch.uint8)
        return cls(frames=frames, posed=posed, vae=vae, binary=binary)

    def video(self) -> torch.Tensor:
        return self.frames.float() / 255.0

    def encode(self, video: torch.Tensor) -> torch.Tensor:
        return self.vae.encode(video[..., :3])


def negative_video(source: PoseVideoSource, negative_pose: str, camera_motion: str, camera_amount: float,
                   ) -> torch.Tensor:
    if negative_pose not in NEGATIVE_POSES:
        raise PoseGenInputError("negative_pose", f"'{negative_pose}' is unknown.", f"one of {list(NEGATIVE_POSES)}")
    video = source.video()
    if negative_pose == "static first frame":
        video = static_skeleton_video(video, source.posed)
    return apply_camera_motion(video, source.posed, camera_motion, camera_amount, source.binary)


def decoupled_negative(negative: list, negative_pose: str, camera_motion: str = "none", camera_amount: float = 0.0,
                       ) -> list:
    """``negative`` with each entry's pose latent replaced by the encoded static (and camera-moved) pose video."""
    if negative_pose == "same as positive" and (camera_motion == "none" or camera_amount == 0.0):
        return negative
    encoded: dict[int, torch.Tensor] = {}
    out = []
    for cond, values in negative:
        source = values.get(POSE_VIDEO_KEY)
        if source is None:
            raise PoseGenInputError("negative", "this conditioning carries no pose video to make a static or "
                                    "camera-moved negative from.", "the negative output of PoseAnything "
                                    "Conditioning or PoseGen Conditioning")
        if id(source) not in encoded:
            latent = source.encode(negative_video(source, negative_pose, camera_motion, camera_amount))
            original = values.get("concat_latent_image")
            if original is not None and latent.shape != original.shape:
                raise PoseGenInputError("negative", f"the re-encoded pose latent {tuple(latent.shape)} does not "
                                        f"match the conditioning's {tuple(original.shape)}.")
            encoded[id(source)] = latent
        out.append([cond, {**values, "concat_latent_image": encoded[id(source)]}])
    return out
