"""The long-video run's settings: the sampling numbers and three option objects, one per concern, each made by
one small node (as ComfyUI's custom sampling and AnimateDiff-Evolved's context options compose a sampler).

- :class:`SegmentLayout`: how the driving video is cut (segment length, transition overlaps); also Transition
  Blend's.
- :class:`KVSharing`: the anchor segment, which steps and blocks share its K/V, and the foreground masks with the
  inputs only their mode reads.
- :class:`PoseCrafterOptions`: PoseCrafter's start (inverted reference) and reference-pose insertion.

Each checks its own values when made, so an error names the option node's input. Left out, each is PoseGen's
default: segments of 81 frames with overlaps 21 / 20; KV sharing from base segment 0, half-body framing (the first
2 of the sampler's steps, the last 6 blocks) with attention masks, PoseGen's own choice (its README), which needs
the prompt from PoseGen Text Encode; no PoseCrafter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from ..errors import PoseGenInputError
from ..posecrafter.start_noise import check_schedule
from ..poses.sequence import PoseSequence
from .kvshare import KV_STORAGE, MASK_MODES, KVShareSettings
from .plan import check_layout

# PoseGen's README presets for KV sharing by framing of the reference: (first steps, last blocks) of 25 / 40;
# "custom" takes the numbers given, "off" shares nothing
FRAMING: dict[str, tuple[int, int] | None] = {
    "close-up": (1, 6), "half-body": (2, 6), "full-body": (4, 8), "distant view": (4, 10), "custom": None,
    "off": (0, 0),
}


@dataclass(frozen=True)
class SegmentLayout:
    """Segments of ``segment_length`` frames (4k+1); a transition takes ``head_overlap`` frames (4a+1) from the
    segment before it and ``tail_overlap`` (4b) from the one after it, and generates the frames in between."""

    segment_length: int = 81
    head_overlap: int = 21
    tail_overlap: int = 20

    def __post_init__(self) -> None:
        check_layout(self.segment_length, self.head_overlap, self.tail_overlap)


def framing_steps_blocks(framing: str, custom_steps: int, custom_blocks: int) -> tuple[int, int]:
    """(shared steps, shared blocks) of a framing preset; ``custom`` takes the numbers given."""
    if framing not in FRAMING:
        raise PoseGenInputError("framing", f"'{framing}' is unknown.", f"one of {', '.join(FRAMING)}")
    return FRAMING[framing] or (custom_steps, custom_blocks)


@dataclass(frozen=True, eq=False)
class KVSharing:
    """Anchor KV sharing: base segment ``anchor_segment`` records its self-attention K/V in the first
    ``shared_steps`` sampler steps and the last ``shared_blocks`` blocks; every other base segment attends to them
    on its background tokens. ``mask_mode`` picks how the foreground (which keeps its own attention) is found:
    ``attention`` (the subject word's cross-attention, PoseGen's), ``pose`` (around ``poses``), ``user``
    (``masks``) or ``none``. 0 steps or 0 blocks = no sharing. ``lockstep`` runs the anchor and the other base
    segments together through the shared steps (the same video, one step's K/V held); ``kv_storage`` fp8 stores
    the K/V in float8."""

    anchor_segment: int = 0
    shared_steps: int = 2
    shared_blocks: int = 6
    mask_mode: str = "attention"
    poses: PoseSequence | None = None  # mask_mode "pose": the driving poses, one per pose frame
    masks: torch.Tensor | None = None  # mask_mode "user": MASK [frames, H, W], one per pose frame
    max_block_idx: int = 10  # blocks 0..max feed the attention masks (PoseGen's)
    # the anchor and the base segments step by step through the shared steps, so one step's K/V is held (exact)
    lockstep: bool = True
    kv_storage: str = "model dtype"  # or "fp8_e4m3fn": half a bf16 store, not exact

    def __post_init__(self) -> None:
        if self.kv_storage not in KV_STORAGE:
            raise PoseGenInputError("kv_storage", f"'{self.kv_storage}' is unknown.", f"one of {', '.join(KV_STORAGE)}")
        for name in ("anchor_segment", "shared_steps", "shared_blocks"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise PoseGenInputError(name, f"{value!r}.", "0 or more")
        if self.mask_mode not in MASK_MODES:
            raise PoseGenInputError("mask_mode", f"'{self.mask_mode}' is unknown.", f"one of {', '.join(MASK_MODES)}")
        if self.mask_mode == "pose" and self.poses is None:
            raise PoseGenInputError("poses", "mask_mode 'pose' needs the driving poses.",
                                    "the POSE_KEYPOINT the pose frames were rendered from")
        if self.mask_mode == "user":
            if self.masks is None:
                raise PoseGenInputError("masks", "mask_mode 'user' needs a MASK batch.", "one mask per driving frame")
            if not isinstance(self.masks, torch.Tensor) or self.masks.dim() != 3:
                raise PoseGenInputError("masks", f"got {tuple(getattr(self.masks, 'shape', ()))}.",
                                        "a MASK batch [frames, H, W]")

    @property
    def enabled(self) -> bool:
        return self.shared_steps > 0 and self.shared_blocks > 0

    def share_settings(self, num_layers: int, steps: int, token_indices: tuple[int, ...]) -> KVShareSettings | None:
        """What the attention hooks need for a model of ``num_layers`` blocks sampled in ``steps`` steps (None
        without sharing); ``token_indices``: the subject word's positions (attention masks)."""
        if not self.enabled:
            return None
        if self.mask_mode == "attention" and self.shared_blocks >= num_layers:
            raise PoseGenInputError("shared_blocks", f"{self.shared_blocks} of the model's {num_layers} blocks "
                                    "include block 0, which cannot share when masks come from cross-attention.",
                                    f"at most {num_layers - 1} blocks (PoseGen KV Sharing, framing custom), or "
                                    "mask_mode pose, user or none")
        return KVShareSettings(steps=frozenset(range(min(self.shared_steps, steps))),
                               blocks=frozenset(range(max(0, num_layers - self.shared_blocks), num_layers)),
                               mask_mode=self.mask_mode, max_block_idx=min(self.max_block_idx, num_layers - 1),
                               token_indices=token_indices)


def check_start_sigmas(sigmas: torch.Tensor) -> torch.Tensor:
    """A base-segment schedule as float CPU sigmas: 1-D, at least one step, ending at 0."""
    sigmas = sigmas.float().cpu()
    if sigmas.dim() != 1 or len(sigmas) < 2 or float(sigmas[-1]) != 0.0:
        raise PoseGenInputError("start_sigmas", f"{sigmas.tolist()}.", "a schedule ending at 0 (PoseGen Scheduler)")
    return sigmas


@dataclass(frozen=True, eq=False)
class PoseCrafterOptions:
    """PoseCrafter in the long video: every base segment starts from ``start_noise`` (ComfyUI NOISE, e.g.
    Reference Inversion's inverted reference) over ``start_sigmas`` (or the noise's own schedule) instead of the
    seed's noise; ``reference_pose_frame`` (the reference's pose, rendered like the pose frames) is put before
    every base segment's poses and its generated frame dropped. Nothing given = plain PoseGen.

    The face/hand edit is not here: it is a SAMPLER (Face/Hand Edit Sampler) that the Segment Sampler plans per
    base segment."""

    start_noise: Any = None  # ComfyUI's NOISE protocol: generate_noise({"samples": latent}) -> noise of that shape
    start_sigmas: torch.Tensor | None = None
    reference_pose_frame: torch.Tensor | None = None  # [1, H, W, C]

    def __post_init__(self) -> None:
        own = check_schedule(self.start_noise, self.start_sigmas)  # an inverted reference brings its schedule
        if own is not None:
            check_start_sigmas(own)
        frame = self.reference_pose_frame
        if frame is not None and (not isinstance(frame, torch.Tensor) or frame.dim() != 4 or frame.shape[0] < 1):
            raise PoseGenInputError("reference_pose_frame", f"got {tuple(getattr(frame, 'shape', ()))}.",
                                    "one pose frame, drawn like pose_frames")

    @property
    def insert_reference_pose(self) -> bool:
        return self.reference_pose_frame is not None


@dataclass(frozen=True)
class LongVideoSettings:
    """Everything about how the video is made: size, the sampling numbers (PoseGen's: 25 steps, CFG 5, shift 5,
    seed 42 for every segment) and the three options."""

    width: int
    height: int
    steps: int = 25
    cfg: float = 5.0
    shift: float = 5.0
    seed: int = 42  # PoseGen starts every segment from the same noise
    black_hands_when_missing: bool = True
    layout: SegmentLayout = field(default_factory=SegmentLayout)
    kv_sharing: KVSharing = field(default_factory=KVSharing)
    posecrafter: PoseCrafterOptions = field(default_factory=PoseCrafterOptions)
