"""3-axis RoPE tables for video and reference tokens (§2.3).

The tables use ComfyUI's rotation-matrix layout ``[1, L, 1, head_dim/2, 2, 2]`` so that
``comfy.ldm.flux.math.apply_rope1`` applies them, in the table's dtype: float32 as ComfyUI's Wan (``native``
numerics) or float64 as PoseGen's code (``reference``). Angles, cosines and sines are always computed in float64,
per axis (a few hundred values), and only then cast and spread over the grid, so a float32 table holds the
correctly rounded values of the float64 one and no float64 tensor of the grid's size is ever made.
"""

from __future__ import annotations

import torch

ROPE_THETA = 10000.0


def axis_dims(head_dim: int) -> tuple[int, int, int]:
    """Channels given to the frame, height and width axes (Wan's split: 44/42/42 for 128)."""
    third = head_dim // 6
    return head_dim - 4 * third, 2 * third, 2 * third


def _axis_cos_sin(positions: torch.Tensor, dim: int, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    # pair j of an axis of `dim` channels turns at 1 / theta^(2j/dim)
    exponents = torch.arange(0, dim, 2, dtype=torch.float64, device=positions.device) / dim
    omega = 1.0 / torch.pow(ROPE_THETA, exponents)
    angles = torch.outer(positions.to(torch.float64), omega)
    return torch.cos(angles).to(dtype), torch.sin(angles).to(dtype)


def rope_table(frames: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor, head_dim: int,
               dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Rotation table for tokens on the grid ``frames x rows x cols`` (positions given per axis), f-major."""
    f_dim, h_dim, w_dim = axis_dims(head_dim)
    nf, nh, nw = len(frames), len(rows), len(cols)
    per_axis = (_axis_cos_sin(frames, f_dim, dtype), _axis_cos_sin(rows, h_dim, dtype),
                _axis_cos_sin(cols, w_dim, dtype))
    shapes = ((nf, 1, 1, -1), (1, nh, 1, -1), (1, 1, nw, -1))

    def spread(part: int) -> torch.Tensor:
        spread_axes = [axis[part].view(shape).expand(nf, nh, nw, -1)
                       for axis, shape in zip(per_axis, shapes, strict=True)]
        return torch.cat(spread_axes, dim=-1).reshape(nf * nh * nw, head_dim // 2)

    cos, sin = spread(0), spread(1)
    table = torch.stack([cos, -sin, sin, cos], dim=-1).reshape(*cos.shape, 2, 2)
    return table[None, :, None]


def video_and_reference_rope(
    grid: tuple[int, int, int], ref_grid: tuple[int, int], head_dim: int, shift_ref_pos: bool, device: torch.device,
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """Tables for ``[video tokens ; reference tokens]`` concatenated along the sequence.

    Reference tokens sit at frame 0 with their own rows and columns, i.e. co-located with latent frame 0;
    with ``shift_ref_pos`` their columns are ``-W..-1``, to the left of the video.
    """
    f, h, w = grid
    rh, rw = ref_grid

    def arange(start: int, stop: int) -> torch.Tensor:
        return torch.arange(start, stop, dtype=torch.float64, device=device)

    video = rope_table(arange(0, f), arange(0, h), arange(0, w), head_dim, dtype)
    ref_cols = arange(-rw, 0) if shift_ref_pos else arange(0, rw)
    reference = rope_table(arange(0, 1), arange(0, rh), ref_cols, head_dim, dtype)
    return torch.cat([video, reference], dim=1)


def video_rope(grid: tuple[int, int, int], head_dim: int, device: torch.device,
               dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Table for video tokens alone at positions ``0..f-1 x 0..h-1 x 0..w-1`` (PoseAnything)."""
    def arange(n: int) -> torch.Tensor:
        return torch.arange(n, dtype=torch.float64, device=device)

    return rope_table(arange(grid[0]), arange(grid[1]), arange(grid[2]), head_dim, dtype)
