"""POSE_KEYPOINT values (formats.keypoint): exact round trips for every skeleton, cn_aux's written layout, and
values that are not POSE_KEYPOINT at all."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from posegen_core.errors import PoseGenInputError
from posegen_core.poses.formats.checks import PoseInputError
from posegen_core.poses.formats.keypoint import from_pose_keypoint, same_poses, to_pose_keypoint
from posegen_core.poses.sequence import PoseSequence
from posegen_core.poses.skeletons import AP10K, BODY18, BUILTIN, HUMAN, Skeleton

from .pose_data import random_keypoints

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- strategies -------------------------------------------------------------------------------------------------

@st.composite
def custom_skeletons(draw) -> Skeleton:
    count = draw(st.integers(1, 40))
    names = draw(st.lists(st.text(min_size=1, max_size=8), min_size=count, max_size=count, unique=True))
    pair = st.tuples(st.integers(0, count - 1), st.integers(0, count - 1)).filter(lambda e: e[0] != e[1])
    edges = tuple(draw(st.lists(pair, max_size=30))) if count > 1 else ()
    parts = draw(st.dictionaries(st.text(min_size=1, max_size=6),
                                 st.lists(st.integers(0, count - 1), max_size=6).map(tuple), max_size=3))
    color = st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255))
    edge_colors = draw(st.none() | st.lists(color, min_size=len(edges), max_size=len(edges)).map(tuple))
    flips = tuple(draw(st.lists(pair, max_size=4))) if count > 1 else ()
    return Skeleton(name=draw(st.text(min_size=1, max_size=12)), keypoints=tuple(names), edges=edges, parts=parts,
                    edge_colors=edge_colors, flip_pairs=flips)


@st.composite
def sequences(draw, skeletons=None) -> PoseSequence:
    if skeletons is None:
        skeletons = st.sampled_from(list(BUILTIN.values())) | custom_skeletons()
    skeleton = draw(skeletons)
    frames, people = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    width, height = draw(st.integers(1, 4096)), draw(st.integers(1, 4096))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    # spread 1e-3 squeezes poses into [0, 1]: must not be mistaken for normalized coordinates on the way back
    spread = draw(st.sampled_from([1.0, 1.0, 1e-3]))
    kp = random_keypoints(rng, (frames, people, skeleton.num_keypoints), width, height,
                          draw(st.sampled_from([0.0, 0.3, 0.9, 1.0])), spread)
    fps = draw(st.none() | st.floats(0.5, 240.0, allow_nan=False))
    inserted = tuple(sorted(draw(st.sets(st.integers(0, frames - 1), max_size=2))))
    return PoseSequence(skeleton, kp, width, height, fps, inserted)


# --- round trips ------------------------------------------------------------------------------------------------

@PROPERTY
@given(sequences())
def test_round_trip_is_exact_for_every_skeleton(seq: PoseSequence):
    data = to_pose_keypoint(seq)
    assert len(data) == seq.num_frames
    for again in (from_pose_keypoint(data), from_pose_keypoint(json.loads(json.dumps(data))),
                  from_pose_keypoint(json.dumps(data))):
        assert same_poses(seq, again)
        np.testing.assert_array_equal(seq.keypoints, again.keypoints)  # missing points are zero on both sides


@PROPERTY
@given(sequences(custom_skeletons()))
def test_custom_skeletons_round_trip_through_subjects(seq: PoseSequence):
    data = json.loads(json.dumps(to_pose_keypoint(seq)))
    if seq.skeleton not in BUILTIN.values():
        assert data[0]["version"] == "posegen" and isinstance(data[0]["posegen"]["skeleton"], dict)
    assert same_poses(seq, from_pose_keypoint(data))


def test_written_formats_match_cn_aux():
    rng = np.random.default_rng(0)
    human = PoseSequence(HUMAN, random_keypoints(rng, (2, 2, 136), 640, 480, 0.0), 640, 480, fps=30.0)
    frame = to_pose_keypoint(human)[0]
    assert set(frame) == {"people", "canvas_width", "canvas_height", "posegen"}
    person = frame["people"][0]
    assert [len(person[k]) for k in ("pose_keypoints_2d", "face_keypoints_2d", "hand_left_keypoints_2d",
                                     "hand_right_keypoints_2d", "foot_keypoints_2d")] == [54, 210, 63, 63, 18]
    assert all(type(v) is float for v in person["pose_keypoints_2d"])
    assert frame["posegen"] == {"skeleton": "human", "fps": 30.0, "inserted": False, "units": "pixels"}

    kp = np.zeros((1, 1, 136, 3), dtype=np.float32)
    kp[0, 0, :18] = (5, 6, 1)
    only_body = to_pose_keypoint(PoseSequence(HUMAN, kp, 64, 64))[0]["people"][0]
    assert only_body["face_keypoints_2d"] is None and only_body["hand_left_keypoints_2d"] is None
    assert only_body["hand_right_keypoints_2d"] is None and only_body["foot_keypoints_2d"] is None

    body18 = to_pose_keypoint(PoseSequence(BODY18, kp[:, :, :18], 64, 64))[0]
    assert body18["posegen"]["skeleton"] == "openpose_body18" and "foot_keypoints_2d" not in body18["people"][0]
    animals = to_pose_keypoint(PoseSequence(AP10K, np.ones((1, 2, 17, 3), np.float32), 64, 64))[0]
    assert animals["version"] == "ap10k" and np.array(animals["animals"]).shape == (2, 17, 3)


# --- not POSE_KEYPOINT ------------------------------------------------------------------------------------------

BAD_VALUES = [
    ([], "the list of frames is empty"),
    ("", "not valid JSON"),
    ("[1, 2", "not valid JSON"),
    (42, "got int 42"),
    (None, "got NoneType"),
]


@pytest.mark.parametrize(("data", "message"), BAD_VALUES, ids=[m for _, m in BAD_VALUES])
def test_malformed_pose_keypoint_value_names_the_problem(data: Any, message: str):
    with pytest.raises(PoseInputError) as info:
        from_pose_keypoint(data)
    text = str(info.value)
    assert text.startswith("pose_keypoint: ") and message in text and "Expected" in text, text
    assert isinstance(info.value, PoseGenInputError) and info.value.input_name == "pose_keypoint"


def test_input_name_is_overridable():
    with pytest.raises(PoseInputError, match="^driving_pose: the list of frames is empty"):
        from_pose_keypoint([], input_name="driving_pose")
