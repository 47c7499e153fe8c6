"""Where a long video's per-frame inputs come from, one chunk's frames at a time.

The Segment Sampler never needs the whole driving video at once: each chunk asks its source for the frames it
covers. A source is an IMAGE batch already in memory (short videos, or frames from another pack), poses rendered
on demand from POSE_KEYPOINT (nothing of size frames x height x width is held), or black frames (PoseGen's input
where no hand is visible).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from ..errors import PoseGenInputError
from ..posegen.conditioning import check_image
from ..poses.render import STYLES, render_sequence, skeleton_supports
from ..poses.sequence import PoseSequence


class FrameSource(Protocol):
    """Frames [n, height, width, 3] (float32 in 0..1, on the CPU) for driving-frame indices."""

    @property
    def num_frames(self) -> int: ...

    @property
    def size(self) -> tuple[int, int]: ...  # (width, height)

    def frames(self, indices: np.ndarray) -> torch.Tensor: ...


@dataclass(frozen=True)
class TensorFrames:
    """An IMAGE batch already in memory."""

    images: torch.Tensor  # [L, H, W, C]

    @property
    def num_frames(self) -> int:
        return int(self.images.shape[0])

    @property
    def size(self) -> tuple[int, int]:
        return int(self.images.shape[2]), int(self.images.shape[1])

    def frames(self, indices: np.ndarray) -> torch.Tensor:
        return self.images[torch.as_tensor(np.asarray(indices), dtype=torch.long), ..., :3].float().cpu()


@dataclass(frozen=True)
class RenderedPoses:
    """Poses drawn when a chunk needs them, exactly as Render Poses draws them (frames are drawn independently,
    so drawing a chunk's frames equals drawing all and picking)."""

    poses: PoseSequence
    style: str
    width: int
    height: int

    def __post_init__(self) -> None:
        if self.style not in STYLES or not skeleton_supports(self.style, self.poses.skeleton):
            raise PoseGenInputError("render_style", f"'{self.style}' cannot draw skeleton "
                                    f"'{self.poses.skeleton.name}'.",
                                    "posegen for the human layout, openpose or mono for any skeleton")

    @property
    def num_frames(self) -> int:
        return self.poses.num_frames

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height

    def frames(self, indices: np.ndarray) -> torch.Tensor:
        drawn = render_sequence(self.poses.frames(np.asarray(indices)), self.style, self.width, self.height)
        return torch.from_numpy(drawn).float().div(255)


@dataclass(frozen=True)
class BlackFrames:
    """Black frames the size of another source (PoseGen's hand input where no hand is visible)."""

    like: FrameSource

    @property
    def num_frames(self) -> int:
        return self.like.num_frames

    @property
    def size(self) -> tuple[int, int]:
        return self.like.size

    def frames(self, indices: np.ndarray) -> torch.Tensor:
        width, height = self.size
        return torch.zeros(len(np.asarray(indices)), height, width, 3)


def frame_source(value: torch.Tensor | FrameSource | None, input_name: str) -> FrameSource | None:
    """An input's frames as a source: an IMAGE batch (checked) becomes :class:`TensorFrames`, a source stays."""
    if value is None or not isinstance(value, torch.Tensor):
        return value
    return TensorFrames(check_image(value, input_name))
