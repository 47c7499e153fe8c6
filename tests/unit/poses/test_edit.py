"""The Pose Sequence node's edit (poses.edit): every op's error names the node input it came from."""

from __future__ import annotations

import numpy as np
import pytest

from posegen_core.errors import PoseGenInputError
from posegen_core.poses.edit import SequenceEdit, apply_edit
from posegen_core.poses.sequence import PoseSequence
from posegen_core.poses.skeletons import BODY18


def poses(frames: int = 10, fps: float | None = 30.0, inserted: tuple[int, ...] = ()) -> PoseSequence:
    kp = np.zeros((frames, 1, 18, 3), np.float32)
    kp[:, 0, :, :2] = 100.0
    kp[:, 0, :, 2] = 1.0
    return PoseSequence(BODY18, kp, 640, 480, fps, inserted)


@pytest.mark.parametrize(("seq", "edit", "input_name", "fragment"), [
    (poses(), SequenceEdit(start=500), "start", "past the last frame"),
    (poses(), SequenceEdit(start=5, end=3), "end", "leaves none of the 10 frames"),
    (poses(fps=None), SequenceEdit(target_fps=24.0), "source_fps", "no frame rate"),
    (poses(inserted=(0,)), SequenceEdit(target_fps=24.0), "target_fps", "inserted reference frames"),
    (poses(), SequenceEdit(keyframes="0, 40"), "keyframes", "frame 40 is outside the 10 frames"),
    (poses(), SequenceEdit(keyframes="0, x"), "keyframes", "not a list of frame numbers"),
])
def test_op_errors_name_the_node_input(seq, edit, input_name, fragment):
    with pytest.raises(PoseGenInputError) as caught:
        apply_edit(seq, edit)
    assert caught.value.input_name == input_name
    assert str(caught.value).startswith(f"{input_name}: ") and fragment in str(caught.value), str(caught.value)


def test_a_valid_edit_runs_every_step():
    out = apply_edit(poses(), SequenceEdit(start=2, end=8, length=9, pad_mode="loop", keyframes="0, 4"))
    assert out.num_frames == 9 and [bool(out.confidence[f].any()) for f in range(9)] == [f in (0, 4) for f in range(9)]
