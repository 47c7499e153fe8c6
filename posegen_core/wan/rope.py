"""3-axis RoPE tables for video and reference tokens, in float64 as PoseGen computes them (§2.3).

The tables use ComfyUI's rotation-matrix layout ``[1, L, 1, head_dim/2, 2, 2]`` so that
``comfy.ldm.flux.math.apply_rope1`` applies them; a float64 table makes that rotation run in float64.
"""

from __future__ import annotations

import torch

ROPE_THETA = 10000.0


def axis_dims(head_dim: int) -> tuple[int, int, int]:
    """Channels given to the frame, height and width axes (Wan's split: 44/42/42 for 128)."""
    third = head_dim // 6
    return head_dim - 4 * third, 2 * third, 2 * third


def _axis_angles(positions: torch.Tensor, dim: int) -> torch.Tensor:
    # pair j of an axis of `dim` channels turns at 1 / theta^(2j/dim)
    exponents = torch.arange(0, dim, 2, dtype=torch.float64, device=positions.device) / dim
    omega = 1.0 / torch.pow(ROPE_THETA, exponents)
    return torch.outer(positions.to(torch.float64), omega)


def rope_table(frames: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor, head_dim: int) -> torch.Tensor:
    """Rotation table for tokens on the grid ``frames x rows x cols`` (positions given per axis), f-major."""
    f_dim, h_dim, w_dim = axis_dims(head_dim)
    nf, nh, nw = len(frames), len(rows), len(cols)
    angles = torch.cat(
        [
            _axis_angles(frames, f_dim)[:, None, None, :].expand(nf, nh, nw, -1),
            _axis_angles(rows, h_dim)[None, :, None, :].expand(nf, nh, nw, -1),
            _axis_angles(cols, w_dim)[None, None, :, :].expand(nf, nh, nw, -1),
        ],
        dim=-1,
    ).reshape(nf * nh * nw, head_dim // 2)
    cos, sin = torch.cos(angles), torch.sin(angles)
    table = torch.stack([cos, -sin, sin, cos], dim=-1).reshape(*angles.shape, 2, 2)
    return table[None, :, None]


def video_and_reference_rope(
    grid: tuple[int, int, int], ref_grid: tuple[int, int], head_dim: int, shift_ref_pos: bool, device: torch.device,
) -> torch.Tensor:
    """Tables for ``[video tokens ; reference tokens]`` concatenated along the sequence.

    Reference tokens sit at frame 0 with their own rows and columns, i.e. co-located with latent frame 0;
    with ``shift_ref_pos`` their columns are ``-W..-1``, to the left of the video.
    """
    f, h, w = grid
    rh, rw = ref_grid

    def arange(start: int, stop: int) -> torch.Tensor:
        return torch.arange(start, stop, dtype=torch.float64, device=device)

    video = rope_table(arange(0, f), arange(0, h), arange(0, w), head_dim)
    ref_cols = arange(-rw, 0) if shift_ref_pos else arange(0, rw)
    reference = rope_table(arange(0, 1), arange(0, rh), ref_cols, head_dim)
    return torch.cat([video, reference], dim=1)
