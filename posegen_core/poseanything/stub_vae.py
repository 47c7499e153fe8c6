"""The golden folder's stand-in VAE (poseanything_tiny_v1 README, "Stand-in VAE"): a documented linear map used only to
check that the skeleton video is assembled exactly as the released code assembles it. Not a real encoder.

pixels (0..255) → ``value·2/255 − 1`` → temporal groups (frame 0 alone, then the mean of frames 4k−3..4k) → 16×16
average pool → ``z[c] = Σ_j A[c, j]·x[j] + b[c]``, giving [1, C, T, H/16, W/16] like Wan 2.2's VAE.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..errors import PoseGenInputError

SPATIAL_STRIDE = 16
TEMPORAL_STRIDE = 4


def _temporal_groups(pixels: torch.Tensor) -> torch.Tensor:
    """[F, 3, H, W] → [T, 3, H, W]: frame 0 alone, then the mean of each following group of 4 frames."""
    rest = pixels[1:].reshape(-1, TEMPORAL_STRIDE, *pixels.shape[1:]).mean(dim=1)
    return torch.cat([pixels[:1], rest], dim=0)


def stub_vae_encode(video: torch.Tensor, A: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Encode a float [F, H, W, 3] video in 0..1 (8-bit levels) with the stand-in VAE → [1, C, T, H/16, W/16]."""
    frames, height, width, channels = video.shape
    if channels != 3 or (frames - 1) % TEMPORAL_STRIDE or height % SPATIAL_STRIDE or width % SPATIAL_STRIDE:
        raise PoseGenInputError(
            "video", f"got shape {tuple(video.shape)}.", "[4k+1, H, W, 3] with H and W multiples of 16"
        )
    # The released preprocessing maps the integer pixel values, so recover them before scaling.
    values = torch.round(video.float() * 255.0)
    pixels = (values * 2.0 / 255.0 - 1.0).permute(0, 3, 1, 2)
    pooled = F.avg_pool2d(_temporal_groups(pixels), SPATIAL_STRIDE)
    z = torch.einsum("cj,tjhw->cthw", A.float(), pooled) + b.float()[:, None, None, None]
    return z.unsqueeze(0)
