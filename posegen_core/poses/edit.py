"""The PoseSequence node's whole edit, in one documented order, with errors naming the node input.

Order: choose the person -> trim -> change the frame rate -> smooth -> pad or cut to a length -> keep keyframes.
(Trimming before resampling counts start/end in source frames; padding after smoothing keeps mirrored frames
as smooth as the rest.)
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import PoseGenInputError, inputs_named
from . import ops
from .people import select_person
from .sequence import PoseSequence

# one-euro presets: lower min_cutoff smooths slow jitter more; beta lets fast motion through
SMOOTHING = {"off": None, "light": (1.5, 0.05), "medium": (1.0, 0.05), "strong": (0.3, 0.01)}
PERSON_MODES = ("largest", "track", "index")
PAD_MODES = ("mirror", "loop", "hold")


@dataclass(frozen=True)
class SequenceEdit:
    person: str = "largest"
    person_index: int = 0
    start: int = 0
    end: int = 0  # 0 = to the last frame
    source_fps: float = 0.0  # 0 = the sequence's own
    target_fps: float = 0.0  # 0 = keep the frame rate
    smoothing: str = "off"
    length: int = 0  # 0 = keep the length
    pad_mode: str = "mirror"
    keyframes: str = ""  # "0, 10, 20": keep only these frames' poses
    keyframe_every: int = 0  # keep every k-th frame's pose


def parse_frame_list(text: str, input_name: str = "keyframes") -> list[int]:
    items = [t.strip() for t in text.replace(";", ",").split(",") if t.strip()]
    try:
        frames = [int(t) for t in items]
    except ValueError:
        raise PoseGenInputError(input_name, f"'{text}' is not a list of frame numbers.", "e.g. 0, 20, 40") from None
    if any(f < 0 for f in frames):
        raise PoseGenInputError(input_name, f"'{text}' has a negative frame number.")
    return frames


def apply_edit(seq: PoseSequence, edit: SequenceEdit) -> PoseSequence:
    if edit.person not in PERSON_MODES:
        raise PoseGenInputError("person", f"'{edit.person}' is unknown.", f"one of {PERSON_MODES}")
    if edit.smoothing not in SMOOTHING:
        raise PoseGenInputError("smoothing", f"'{edit.smoothing}' is unknown.", f"one of {list(SMOOTHING)}")
    if edit.pad_mode not in PAD_MODES:
        raise PoseGenInputError("pad_mode", f"'{edit.pad_mode}' is unknown.", f"one of {PAD_MODES}")
    seq = select_person(seq, edit.person, edit.person_index)
    # the ops name their parameters; start, end, source_fps, target_fps and length are the node's names too
    if edit.start or edit.end:
        seq = ops.trim(seq, edit.start, edit.end or None)
    if edit.target_fps:
        seq = ops.resample_fps(seq, edit.target_fps, edit.source_fps or None)
    elif edit.source_fps:
        seq = seq.with_keypoints(seq.keypoints, fps=edit.source_fps)
    preset = SMOOTHING[edit.smoothing]
    if preset is not None:
        seq = ops.smooth(seq, min_cutoff=preset[0], beta=preset[1])
    if edit.length:
        with inputs_named({"mode": "pad_mode"}):
            seq = ops.pad_to_length(seq, edit.length, edit.pad_mode)
    keep = parse_frame_list(edit.keyframes)
    if keep or edit.keyframe_every:
        with inputs_named({"keep": "keyframes", "every": "keyframe_every"}):
            seq = ops.sparsify(seq, keep=keep or None, every=edit.keyframe_every or None)
    return seq
