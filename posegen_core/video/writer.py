"""A video file written frame batch by frame batch, so a long video never has to be held in memory.

The file grows under a temporary name beside the final one and is renamed only when it is complete; an error, an
interrupt or :meth:`VideoFileWriter.abort` removes it. Frames are quantised exactly as ComfyUI's own Save Video
does (``(x * 255).clamp(0, 255)`` truncated to uint8), so the lossless encoding gives back exactly the frames
ComfyUI would have saved from the IMAGE output.
"""

from __future__ import annotations

import glob
import os
import uuid
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import numpy as np
import torch

from ..errors import PoseGenInputError


@dataclass(frozen=True)
class Encoding:
    """How frames become a file: codec, pixel format and encoder options (H.264 in MP4 for every choice, which
    browsers, ComfyUI's previews and Save Video take)."""

    codec: str
    pix_fmt: str
    options: dict[str, str] = field(default_factory=dict)
    lossless: bool = False


ENCODINGS: dict[str, Encoding] = {
    # RGB without chroma subsampling, quantiser 0: the decoded frames equal the uint8 frames written
    "lossless": Encoding("libx264rgb", "rgb24", {"crf": "0", "preset": "medium"}, lossless=True),
    # 4:4:4 chroma, very low quantiser: visually identical, a fraction of the lossless size
    "near-lossless": Encoding("libx264", "yuv444p", {"crf": "4", "preset": "medium"}),
    # ordinary 4:2:0 H.264 as players expect; what Save Video itself writes
    "compact": Encoding("libx264", "yuv420p", {"crf": "19", "preset": "medium"}),
}


def to_uint8(frames: torch.Tensor) -> np.ndarray:
    """IMAGE frames [n, H, W, 3] in 0..1 as uint8, exactly as ComfyUI's Save Video quantises them."""
    return (frames[..., :3].float() * 255).clamp(0, 255).byte().cpu().numpy()


class VideoFileWriter:
    """``with VideoFileWriter(path, fps, "compact") as video: video.write(frames)`` — the file appears at ``path``
    when the block ends without an error, and nowhere otherwise."""

    def __init__(self, path: Path, fps: float, encoding: str = "compact", input_name: str = "filename_prefix",
                 metadata: dict[str, str] | None = None) -> None:
        if encoding not in ENCODINGS:
            raise PoseGenInputError("encoding", f"'{encoding}' is not an encoding.", f"one of {list(ENCODINGS)}")
        if not fps > 0:
            raise PoseGenInputError("fps", f"{fps} frames per second.", "a positive frame rate")
        self.path = Path(path)
        self.fps = fps
        self.encoding = ENCODINGS[encoding]
        self.input_name = input_name
        self.metadata = dict(metadata or {})
        self.partial = self.path.with_name(f".{self.path.stem}.{uuid.uuid4().hex[:8]}.partial{self.path.suffix}")
        self.frames_written = 0
        self._container = None
        self._stream = None

    # --- writing -----------------------------------------------------------------------------------------------

    def check_writable(self) -> None:
        """Fail now, naming the input, if the folder cannot take the file (before any frame is made)."""
        def probe() -> None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.partial, "wb") as out:
                out.write(b"\0")
            self.partial.unlink()

        self._io(probe)

    def write(self, frames: torch.Tensor) -> None:
        """Append IMAGE frames [n, H, W, 3]; the first batch fixes the size."""
        pixels = to_uint8(frames)
        if self._container is None:
            self._open(width=pixels.shape[2], height=pixels.shape[1])
        if (pixels.shape[2], pixels.shape[1]) != (self._stream.width, self._stream.height):
            raise ValueError(f"frames of {pixels.shape[2]}x{pixels.shape[1]} in a {self._stream.width}x"
                             f"{self._stream.height} video")
        import av

        for pixel_frame in pixels:
            self._mux(self._stream.encode(av.VideoFrame.from_ndarray(pixel_frame, format="rgb24")))
        self.frames_written += len(pixels)

    def close(self) -> Path:
        """Finish the file and move it to its final name."""
        if self._container is None:
            raise PoseGenInputError(self.input_name, "no frame was written, so there is no video.")
        self._mux(self._stream.encode(None))
        self._io(self._container.close)
        self._container = None
        self._io(lambda: os.replace(self.partial, self.path))
        self._remove_stale_partials()
        return self.path

    def _remove_stale_partials(self) -> None:
        """Partial files of earlier tries of this file: a killed server leaves its partial file behind, and
        queued again, the run continues into the same file name."""
        for stale in self.path.parent.glob(f"{glob.escape(f'.{self.path.stem}.')}*.partial{self.path.suffix}"):
            try:
                stale.unlink()
            except OSError:  # gone already, or not ours to remove: the video itself is complete
                pass

    def abort(self) -> None:
        """Drop the partial file (after an error or an interrupt)."""
        if self._container is not None:
            try:
                self._container.close()
            except Exception:  # the file is being thrown away: its own closing error does not matter
                pass
            self._container = None
        try:
            self.partial.unlink(missing_ok=True)
        except OSError:  # the folder itself is unusable: nothing was written there
            pass

    def __enter__(self) -> VideoFileWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()

    # --- internals ---------------------------------------------------------------------------------------------

    def _open(self, width: int, height: int) -> None:
        import av

        if width % 2 or height % 2:
            raise PoseGenInputError(self.input_name, f"frames of {width}x{height} px.",
                                    "an even width and height (H.264)")
        self._io(lambda: self.path.parent.mkdir(parents=True, exist_ok=True))
        self._container = self._io(lambda: av.open(str(self.partial), mode="w", format="mp4",
                                                   options={"movflags": "use_metadata_tags"}))
        for key, value in self.metadata.items():
            self._container.metadata[key] = value
        stream = self._container.add_stream(self.encoding.codec, rate=Fraction(round(self.fps * 1000), 1000))
        stream.width, stream.height, stream.pix_fmt = width, height, self.encoding.pix_fmt
        stream.options = dict(self.encoding.options)
        self._stream = stream

    def _mux(self, packets) -> None:
        self._io(lambda: self._container.mux(packets))

    def _io(self, step):
        """Run a file step; a full disk or a folder without write permission becomes an error naming the input
        (the partial file is removed first)."""
        try:
            return step()
        except OSError as exc:  # PyAV raises its errors as OSError subclasses with the errno of the failing call
            self.abort()
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            raise PoseGenInputError(self.input_name, f"cannot write the video to '{self.path.parent}' ({reason}).",
                                    "a writable output folder with room for the video") from exc


def read_frames(path: Path) -> np.ndarray:
    """Every frame of a video file as uint8 RGB [n, H, W, 3] (for tests and checks; loads the whole file)."""
    import av

    with av.open(str(path)) as container:
        return np.stack([frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)])
