"""The readers' shared checks (formats.checks): the canvas rule, and errors that are data (input name, problem)."""

from __future__ import annotations

import numpy as np
import pytest

from posegen_core.errors import PoseGenInputError
from posegen_core.poses.formats.checks import PoseInputError, infer_canvas
from posegen_core.poses.sequence import PoseDataError, PoseSequence
from posegen_core.poses.skeletons import BODY18, Skeleton, SkeletonError


def test_infer_canvas_is_the_smallest_even_canvas_holding_the_points():
    assert infer_canvas(np.array([[99.5, 36.0], [-20.0, 10.0]])) == (100, 38)
    assert infer_canvas(np.array([[100.0, 37.0]])) == (102, 38)


def test_infer_canvas_names_the_callers_input():
    with pytest.raises(PoseInputError) as info:
        infer_canvas(np.array([[1e5, 3.0]]), input_name="source")
    assert info.value.input_name == "source" and str(info.value).startswith("source: points reach x = 100000")
    assert info.value.expected == "width and height given explicitly"


def test_sequence_and_skeleton_errors_carry_the_field_as_input_name():
    with pytest.raises(PoseDataError) as info:
        PoseSequence(BODY18, np.full((1, 1, 18, 3), 2.0, np.float32), 64, 64)
    assert isinstance(info.value, PoseGenInputError)
    assert (info.value.input_name, info.value.problem) == ("keypoints", "confidences must lie in [0, 1]")
    with pytest.raises(PoseDataError) as info:
        PoseSequence(BODY18, np.zeros((1, 1, 18, 3), np.float32), 64, 0)
    assert info.value.input_name == "height"
    with pytest.raises(SkeletonError) as caught:
        Skeleton(name="empty", keypoints=(), edges=())
    assert isinstance(caught.value, PoseGenInputError)
    assert (caught.value.input_name, caught.value.problem) == ("skeleton", "skeleton 'empty' has no keypoints")
    assert caught.value.renamed("skeleton_file").input_name == "skeleton_file"
