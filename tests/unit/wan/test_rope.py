import torch

from posegen_core.wan.rope import axis_dims, video_and_reference_rope, video_rope


def _as_complex_parts(table: torch.Tensor) -> torch.Tensor:
    """ComfyUI rotation matrices [[cos, -sin], [sin, cos]] -> (cos, sin) pairs like view_as_real."""
    return torch.stack([table[..., 0, 0], table[..., 1, 0]], dim=-1)


def test_axis_split_matches_wan():
    assert axis_dims(128) == (44, 42, 42)
    assert axis_dims(32) == (12, 10, 10)


def test_tables_equal_posegens_complex128_factors(golden_tensors):
    inter = golden_tensors("forward_intermediates.safetensors")
    video_want, ref_want = inter["plain_freqs_real"], inter["plain_ref_freqs_real"]
    grid = golden_tensors("inputs.safetensors")["x_anchor"].shape[2:]
    f, h, w = grid[0], grid[1] // 2, grid[2] // 2
    head_dim = video_want.shape[2] * 2
    table = video_and_reference_rope((f, h, w), (h, w), head_dim, False, torch.device("cpu"))
    parts = _as_complex_parts(table[0, :, 0])
    assert table.dtype == torch.float64
    assert torch.allclose(parts[: f * h * w], video_want[:, 0], atol=1e-15, rtol=0)
    assert torch.allclose(parts[f * h * w:], ref_want[:, 0], atol=1e-15, rtol=0)


def test_reference_positions():
    head_dim = 32
    table = video_and_reference_rope((3, 2, 4), (2, 4), head_dim, False, torch.device("cpu"))[0, :, 0]
    # default: reference tokens share latent frame 0's positions exactly
    assert torch.equal(table[24:], table[:8])
    shifted = video_and_reference_rope((3, 2, 4), (2, 4), head_dim, True, torch.device("cpu"))[0, :, 0]
    assert not torch.equal(shifted[24:], shifted[:8])
    assert torch.equal(shifted[:24], table[:24])  # video positions do not move
    # frame and height channels of shifted reference tokens still equal frame 0's
    f_pairs = axis_dims(head_dim)[0] // 2 + axis_dims(head_dim)[1] // 2
    assert torch.equal(shifted[24:, :f_pairs], table[:8, :f_pairs])


def test_float32_table_is_the_float64_table_correctly_rounded():
    grid, ref_grid = (4, 3, 5), (3, 5)
    wide = video_and_reference_rope(grid, ref_grid, 128, True, torch.device("cpu"))
    narrow = video_and_reference_rope(grid, ref_grid, 128, True, torch.device("cpu"), torch.float32)
    assert narrow.dtype == torch.float32 and torch.equal(narrow, wide.float())
    assert torch.equal(video_rope(grid, 128, torch.device("cpu"), torch.float32), narrow[:, : 4 * 3 * 5])
