"""PoseCrafter's face/hand latent edit as one object: the reference pose and the settings, planned per segment.

The LatentFaceHandEdit node builds it; the editing sampler (``edit_sampler``) applies it to one segment, or plans it
again for each base segment of a long video (the segment's frames of the driving poses).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import torch

from ..errors import PoseGenInputError, inputs_named
from ..posegen.conditioning import SPATIAL_STRIDE, poses_on_canvas
from ..poses.sequence import PoseSequence
from .latent_edit import PART_NAMES, EditPlan, apply_edit, num_pixel_frames, plan_face_hand_edit


@dataclass(frozen=True)
class FaceHandEdit:
    reference: PoseSequence  # the reference frame's pose (first frame used), on the video canvas
    parts: tuple[str, ...] = PART_NAMES
    min_confidence: float = 0.5
    robust: bool = False
    box_padding: float = 0.15
    feather: float = 1.0
    at_step: int = 0  # 0 = before sampling (PoseCrafter's choice)
    source_frame: int = 0  # the latent frame holding the reference (the inverted or inserted one)

    def __post_init__(self) -> None:
        if not self.parts:
            raise PoseGenInputError("parts", "none selected.", f"at least one of {', '.join(PART_NAMES)}")
        missing = [p for p in self.parts if p not in self.reference.skeleton.parts]
        if missing:
            raise PoseGenInputError("reference_pose", f"its skeleton '{self.reference.skeleton.name}' has no "
                                    f"{', '.join(missing)} landmarks.", "a human pose with face and hands "
                                    "(DWPose, or Extract Poses with face and hands)")
        if self.reference.num_frames < 1:
            raise PoseGenInputError("reference_pose", "no frames.", "the reference frame's pose")
        if self.at_step < 0:
            raise PoseGenInputError("at_step", f"{self.at_step}.", "0 (before sampling) or a later step")

    def plan_for(self, targets: PoseSequence, grid: tuple[int, int, int]) -> EditPlan:
        """The plan for ``targets`` on a latent ``grid``; errors about the reference name the edit node's input,
        those about ``targets`` keep that name for the caller to rename."""
        with inputs_named({"reference": "reference_pose"}):
            return plan_face_hand_edit(self.reference, targets, grid, parts=self.parts,
                                       min_confidence=self.min_confidence, robust=self.robust,
                                       box_padding=self.box_padding)

    def segment_targets(self, poses: PoseSequence, frames: np.ndarray) -> PoseSequence:
        """The target poses of a segment: ``poses``' frames at ``frames``, where -1 marks a frame that shows the
        reference pose (taken from ``self.reference``, on the same canvas as ``poses``)."""
        frames = np.asarray(frames, dtype=np.int64)
        keypoints = poses.keypoints[np.maximum(frames, 0)]
        reference = self.reference.keypoints[0]
        people = min(reference.shape[0], keypoints.shape[1])
        for i in np.flatnonzero(frames < 0):
            keypoints[i] = 0
            keypoints[i, :people] = reference[:people]
        return poses.with_keypoints(keypoints, inserted=())

    def editor(self, plan: EditPlan) -> Callable[[torch.Tensor], torch.Tensor]:
        return lambda latent: apply_edit(latent, plan, source_frame=self.source_frame, feather=self.feather)

    def editor_for(self, targets: PoseSequence, on_plan: Callable[[EditPlan], None] | None = None,
                   frames: np.ndarray | None = None) -> Callable[[torch.Tensor], torch.Tensor]:
        """An editor for a latent whose grid is known only when it arrives (a sampler's state): ``targets``, one
        pose per pixel frame, and the reference are moved onto that latent's canvas as their frames were
        (centre crop + resize), planned, and the plan handed to ``on_plan`` (for the report).

        With ``frames`` the latent shows only those frames of ``targets`` (one index per pixel frame, -1 = a frame
        that shows the reference pose itself, as reference-pose insertion puts first): a segment of a longer video.
        """

        def edit(latent: torch.Tensor) -> torch.Tensor:
            if latent.dim() != 5:
                raise PoseGenInputError("latent", f"shape {tuple(latent.shape)}.", "a video latent [B, C, T, h, w]")
            t, h, w = latent.shape[2:]
            count = targets.num_frames if frames is None else len(frames)
            if count != num_pixel_frames(t):
                raise PoseGenInputError("target_poses", f"{count} poses for a latent of {t} frames.",
                                        f"one pose per video frame: {num_pixel_frames(t)}")
            width, height = w * SPATIAL_STRIDE, h * SPATIAL_STRIDE
            edit_on_canvas = replace(self, reference=poses_on_canvas(self.reference, width, height))
            poses = poses_on_canvas(targets, width, height)
            if frames is not None:
                poses = edit_on_canvas.segment_targets(poses, frames)
            with inputs_named({"targets": "target_poses"}):
                plan = edit_on_canvas.plan_for(poses, (t, h, w))
            if on_plan is not None:
                on_plan(plan)
            return edit_on_canvas.editor(plan)(latent)

        return edit
