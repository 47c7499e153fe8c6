"""Video files written batch by batch: exact lossless frames, no half-written file under the final name."""

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from posegen_core.errors import PoseGenInputError
from posegen_core.video.writer import ENCODINGS, VideoFileWriter, read_frames, to_uint8

REPO = Path(__file__).resolve().parents[3]


def _frames(n: int = 9, h: int = 48, w: int = 64, seed: int = 0, noise: float = 0.3) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    smooth = torch.linspace(0, 1, w)[None, None, :, None].expand(n, h, w, 3)
    return ((1 - noise) * smooth + noise * torch.rand(n, h, w, 3, generator=g)).clamp(0, 1)


def test_quantisation_is_comfyuis_save_video():
    x = torch.tensor([[[[0.0, 0.5, 1.0]]]])
    assert to_uint8(x).tolist() == [[[[0, 127, 255]]]]  # truncation, as (x * 255).clamp(0, 255).byte()
    assert to_uint8(torch.tensor([[[[1.7, -0.2, 0.999]]]])).tolist() == [[[[255, 0, 254]]]]


def test_lossless_gives_back_exactly_the_frames_written_in_batches(tmp_path):
    frames = _frames()
    path = tmp_path / "out.mp4"
    with VideoFileWriter(path, fps=30, encoding="lossless") as video:
        for batch in frames.split(4):  # written in pieces, as a long video is
            video.write(batch)
    assert path.is_file() and video.frames_written == 9
    assert np.array_equal(read_frames(path), to_uint8(frames))
    assert list(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize("encoding,bound", [("near-lossless", 2.5), ("compact", 5.0)])
def test_lossy_encodings_stay_close_and_are_smaller(tmp_path, encoding, bound):
    frames = _frames(noise=0.05)  # image-like content (per-pixel colour noise is the worst case for 4:2:0)
    sizes = {}
    for name in ("lossless", encoding):
        with VideoFileWriter(tmp_path / f"{name}.mp4", fps=24, encoding=name) as video:
            video.write(frames)
        sizes[name] = (tmp_path / f"{name}.mp4").stat().st_size
    back = read_frames(tmp_path / f"{encoding}.mp4").astype(int)
    assert back.shape == (9, 48, 64, 3)
    assert np.abs(back - to_uint8(frames)).mean() < bound and sizes[encoding] < sizes["lossless"]


def test_fps_is_kept(tmp_path):
    import av

    with VideoFileWriter(tmp_path / "v.mp4", fps=29.97) as video:
        video.write(_frames(3))
    with av.open(str(tmp_path / "v.mp4")) as container:
        assert abs(float(container.streams.video[0].average_rate) - 29.97) < 1e-3


def test_an_error_inside_leaves_no_file(tmp_path):
    path = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError), VideoFileWriter(path, fps=30) as video:
        video.write(_frames(3))
        assert not path.exists()  # at most the partial file, under another name
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_unwritable_folder_is_an_input_error_and_leaves_nothing(tmp_path):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(PoseGenInputError, match="^filename_prefix: cannot write the video to"):
        with VideoFileWriter(blocker / "sub" / "out.mp4", fps=30) as video:
            video.write(_frames(2))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not_a_folder"]


def test_bad_settings_name_their_input(tmp_path):
    with pytest.raises(PoseGenInputError, match="^encoding:"):
        VideoFileWriter(tmp_path / "v.mp4", fps=30, encoding="best")
    with pytest.raises(PoseGenInputError, match="^fps:"):
        VideoFileWriter(tmp_path / "v.mp4", fps=0)
    with pytest.raises(PoseGenInputError, match="even width and height"):
        VideoFileWriter(tmp_path / "v.mp4", fps=30).write(_frames(1, h=47))
    with pytest.raises(PoseGenInputError, match="no frame was written"):
        VideoFileWriter(tmp_path / "v.mp4", fps=30).close()
    assert list(tmp_path.iterdir()) == []
    assert set(ENCODINGS) == {"lossless", "near-lossless", "compact"}


def test_full_disk_is_an_input_error_and_leaves_nothing(tmp_path):
    """A 64 KiB tmpfs (in a private user and mount namespace, so no root is needed) fills up mid-video."""
    target = tmp_path / "small"
    target.mkdir()
    script = textwrap.dedent(f"""
        import sys, torch
        sys.path.insert(0, {str(REPO)!r})
        from posegen_core.errors import PoseGenInputError
        from posegen_core.video.writer import VideoFileWriter
        try:
            with VideoFileWriter({str(target / "out.mp4")!r}, fps=30, encoding="lossless") as video:
                for seed in range(40):
                    video.write(torch.rand(4, 96, 128, 3, generator=torch.Generator().manual_seed(seed)))
        except PoseGenInputError as exc:
            print("ERROR", exc)
        import os
        print("LEFT", sorted(os.listdir({str(target)!r})))
    """)
    shell = f"mount -t tmpfs -o size=64k tmpfs {target} && {sys.executable} -c \"$0\""
    result = subprocess.run(["unshare", "-rm", "sh", "-c", shell, script], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert "ERROR filename_prefix: cannot write the video to" in result.stdout
    assert "No space left on device" in result.stdout
    assert "LEFT []" in result.stdout
