"""The pack's one pose representation: frames x people x keypoints x (x, y, confidence) on a canvas.

Coordinates are canvas pixels (x right, y down); a missing keypoint has confidence 0 (its x, y are then
meaningless and kept at 0). Every reader (cn_aux POSE_KEYPOINT, OpenPose JSON, COCO-WholeBody arrays,
mediapipe) produces a :class:`PoseSequence`; every operation (sequence ops, retargeting, rendering) takes one.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import PoseGenInputError
from .skeletons import Skeleton


class PoseDataError(PoseGenInputError):
    """Keypoints or canvas that break the PoseSequence invariants; ``input_name`` is the field at fault, and the
    readers that build sequences from user files name their own input with ``problem``."""

    def __init__(self, input_name: str, problem: str) -> None:
        super().__init__(input_name, problem)


@dataclass(frozen=True)
class PoseSequence:
    skeleton: Skeleton
    keypoints: np.ndarray  # float32 [frames, people, keypoints, 3]
    width: int  # canvas size in pixels
    height: int
    fps: float | None = None
    # frames that are not driving poses but a reference pose inserted for sampling (PoseCrafter); the frames
    # generated for them are dropped afterwards
    inserted: tuple[int, ...] = field(default=())

    def __post_init__(self) -> None:
        kp = self.keypoints
        if not isinstance(kp, np.ndarray) or kp.ndim != 4 or kp.shape[3] != 3:
            raise PoseDataError("keypoints", f"keypoints must be an array [frames, people, keypoints, 3], got "
                                             f"{getattr(kp, 'shape', type(kp).__name__)}")
        if kp.shape[2] != self.skeleton.num_keypoints:
            raise PoseDataError("keypoints", f"{kp.shape[2]} keypoints per person but skeleton "
                                             f"'{self.skeleton.name}' has {self.skeleton.num_keypoints}")
        if kp.dtype != np.float32:
            object.__setattr__(self, "keypoints", kp.astype(np.float32))
        if not np.isfinite(self.keypoints).all():
            raise PoseDataError("keypoints", "keypoints contain NaN or infinite values")
        conf = self.keypoints[..., 2]
        if (conf < 0).any() or (conf > 1).any():
            raise PoseDataError("keypoints", "confidences must lie in [0, 1]")
        if self.width <= 0 or self.height <= 0:
            raise PoseDataError("width" if self.width <= 0 else "height",
                                f"canvas size must be positive, got {self.width}x{self.height}")
        if self.fps is not None and not (np.isfinite(self.fps) and self.fps > 0):
            raise PoseDataError("fps", f"fps must be positive, got {self.fps}")
        if any(not 0 <= i < self.num_frames for i in self.inserted):
            raise PoseDataError("inserted",
                                f"inserted frame indices {self.inserted} outside 0..{self.num_frames - 1}")

    @property
    def num_frames(self) -> int:
        return int(self.keypoints.shape[0])

    @property
    def num_people(self) -> int:
        return int(self.keypoints.shape[1])

    @property
    def xy(self) -> np.ndarray:
        return self.keypoints[..., :2]

    @property
    def confidence(self) -> np.ndarray:
        return self.keypoints[..., 2]

    def valid(self, threshold: float = 0.0) -> np.ndarray:
        """Boolean [frames, people, keypoints]: present with confidence above ``threshold``."""
        return self.keypoints[..., 2] > threshold

    def with_keypoints(self, keypoints: np.ndarray, **changes) -> PoseSequence:
        return replace(self, keypoints=np.ascontiguousarray(keypoints, dtype=np.float32), **changes)

    def frames(self, indices: np.ndarray | list[int] | slice) -> PoseSequence:
        """A sub-sequence; inserted-frame markers follow their frames."""
        picked = np.arange(self.num_frames)[indices]
        remap = {int(old): new for new, old in enumerate(picked)}
        inserted = tuple(sorted(remap[i] for i in self.inserted if i in remap))
        return replace(self, keypoints=self.keypoints[picked], inserted=inserted)


def empty_like(sequence: PoseSequence, frames: int) -> np.ndarray:
    """All-missing keypoints with ``sequence``'s people and skeleton."""
    return np.zeros((frames, sequence.num_people, sequence.skeleton.num_keypoints, 3), dtype=np.float32)
