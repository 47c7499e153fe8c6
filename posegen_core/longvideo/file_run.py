"""A long video written to a file while it is made, with its finished work in a run folder so a stopped run
(interrupt, error, killed server) continues where it stopped when the same graph is queued again.

The video file appears under its final name only when it is complete (``video.writer``); the run folder is keyed
by everything that determines the result (``run_key``), refused when it belongs to other inputs, and removed when
the video is complete unless it is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import PoseGenInputError
from ..video.writer import ENCODINGS, VideoFileWriter
from .chunk_sampler import Progress
from .options import LongVideoSettings
from .run import LongVideoInputs, generate_long_video
from .run_folder import RunFolder
from .run_key import long_video_key

DEFAULT_FPS = 16.0  # Wan 2.1's frame rate, for driving poses that carry none


@dataclass(frozen=True)
class VideoOutput:
    """Where and how the video is written: ``filename_prefix`` under ComfyUI's output folder, an encoding of
    ``video.writer.ENCODINGS``, ``fps`` (0 = the driving poses' own, else 16), and whether the run folder stays
    after the video is complete."""

    filename_prefix: str = "posegen/long_video"
    encoding: str = "near-lossless"
    fps: float = 0.0
    keep_run_folder: bool = False

    def __post_init__(self) -> None:
        if self.encoding not in ENCODINGS:
            raise PoseGenInputError("encoding", f"'{self.encoding}' is unknown.", f"one of {', '.join(ENCODINGS)}")
        if not self.fps >= 0:
            raise PoseGenInputError("fps", f"{self.fps}.", "0 (the driving poses' frame rate) or a positive rate")

    def frame_rate(self, driving_fps: float | None) -> float:
        return self.fps or driving_fps or DEFAULT_FPS


@dataclass
class FileRunResult:
    path: Path
    fps: float
    frames: torch.Tensor | None  # the IMAGE batch, when asked for
    report: str
    run_folder: Path
    steps_run: int


def generate_to_file(base_model, cond_model, inputs: LongVideoInputs, settings: LongVideoSettings, sampler,
                     progress: Progress | None, *, video_path: Path, runs_root: Path, output: VideoOutput,
                     driving_fps: float | None = None, keep_frames: bool = False,
                     metadata: dict[str, str] | None = None, remote=None) -> FileRunResult:
    """Make the video into ``video_path`` with its run folder under ``runs_root`` (see the module docstring);
    ``remote``: as for ``generate_long_video`` (the chunks sampled on workers)."""
    fps = output.frame_rate(driving_fps)
    writer = VideoFileWriter(video_path, fps, output.encoding, metadata=metadata)
    writer.check_writable()  # before hours of sampling, not after
    key = long_video_key(base_model, cond_model, inputs, settings, sampler)
    folder = RunFolder(runs_root, key, description=f"{video_path.name}, {settings.width}x{settings.height}").open()
    resumed = folder.resumed
    try:
        result = generate_long_video(base_model, cond_model, inputs, settings, sampler, progress,
                                     sink=writer.write, keep_frames=keep_frames, store=folder,
                                     store_where=str(folder.path), remote=remote)
        path = writer.close()
    except BaseException:
        writer.abort()  # the finished chunks stay in the run folder
        raise
    size = folder.bytes
    if output.keep_run_folder:
        where = f"run folder {folder.path}: {size / 2**20:.1f} MiB, kept"
    else:
        folder.delete()
        where = f"run folder {folder.path}: {size / 2**20:.1f} MiB, removed (the video is complete)"
    report = (f"{result.report}\n{'resumed from' if resumed else 'finished work kept in'} {where}\nvideo: {path} "
              f"({writer.frames_written} frames at {fps:g} fps, {output.encoding})")
    return FileRunResult(path, fps, result.frames, report, folder.path, result.steps_run)
