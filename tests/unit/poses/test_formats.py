"""Pose readers/writers: POSE_KEYPOINT round trips, OpenPose files, COCO-WholeBody conversion, malformed input."""

from __future__ import annotations

import json
import math
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from posegen_core.errors import PoseGenInputError
from posegen_core.poses.formats import (
    BODY25_TO_HUMAN,
    PoseInputError,
    from_coco_wholebody,
    from_pose_keypoint,
    natural_sorted,
    parse_skeleton_file,
    read_coco_wholebody_json,
    read_openpose_json,
    same_poses,
    to_pose_keypoint,
)
from posegen_core.poses.sequence import PoseSequence
from posegen_core.poses.skeletons import AP10K, BODY18, BUILTIN, HUMAN, Skeleton

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


def random_keypoints(rng: np.random.Generator, shape: tuple[int, ...], width: int, height: int, missing: float,
                     spread: float = 1.0) -> np.ndarray:
    """float32 [..., 3]: coordinates around (and partly outside) the canvas, scores in (0, 1], some missing."""
    kp = np.zeros((*shape, 3), dtype=np.float32)
    kp[..., 0] = rng.uniform(-0.2, 1.2, shape) * width * spread
    kp[..., 1] = rng.uniform(-0.2, 1.2, shape) * height * spread
    kp[..., 2] = np.where(rng.random(shape) < 0.5, 1.0, rng.uniform(1e-6, 1.0, shape))
    kp[rng.random(shape) < missing] = 0.0
    return kp


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


# --- reading cn_aux data ----------------------------------------------------------------------------------------

def cn_aux_frames(seq: PoseSequence, scale: tuple[float, float] = (1.0, 1.0)) -> list[dict[str, Any]]:
    """What cn_aux itself would write: no posegen block, no feet; coordinates divided by ``scale``."""
    frames = to_pose_keypoint(seq)
    for frame in frames:
        del frame["posegen"]
        for person in frame["people"]:
            person.pop("foot_keypoints_2d", None)
            for key, value in person.items():
                if value is not None:
                    person[key] = [v / scale[i % 3] if i % 3 < 2 else v for i, v in enumerate(value)]
    return frames


@PROPERTY
@given(st.integers(3, 4096), st.integers(3, 4096), st.integers(0, 2**32 - 1), st.integers(1, 3))
def test_normalized_input_equals_pixel_input_scaled(width: int, height: int, seed: int, people: int):
    rng = np.random.default_rng(seed)
    kp = random_keypoints(rng, (2, people, 136), width, height, 0.3)
    kp[..., 0] = np.clip(kp[..., 0], 0, width)  # normalized data lives inside the canvas
    kp[..., 1] = np.clip(kp[..., 1], 0, height)
    kp[..., 18:24, :] = 0  # cn_aux has no feet
    kp[kp[..., 2] == 0] = 0
    present = kp[..., 2] > 0
    assume(present.any() and kp[..., :2][present].max() > 1)
    seq = PoseSequence(HUMAN, kp, width, height)
    pixels = from_pose_keypoint(cn_aux_frames(seq))
    normalized = from_pose_keypoint(cn_aux_frames(seq, (width, height)))
    assert same_poses(seq, pixels)
    np.testing.assert_array_equal(normalized.confidence, seq.confidence)
    np.testing.assert_allclose(normalized.keypoints, seq.keypoints, rtol=1e-6, atol=1e-6 * max(width, height))


@st.composite
def cn_aux_people(draw) -> tuple[dict[str, Any], dict[str, bool]]:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    nulled = {key: draw(st.booleans()) for key in ("pose_keypoints_2d", "face_keypoints_2d", "hand_left_keypoints_2d",
                                                   "hand_right_keypoints_2d")}
    sizes = {"pose_keypoints_2d": 18, "face_keypoints_2d": 70, "hand_left_keypoints_2d": 21,
             "hand_right_keypoints_2d": 21}
    person = {key: None if nulled[key] else
              np.c_[rng.uniform(2, 500, (n, 2)), np.ones(n)].reshape(-1).tolist() for key, n in sizes.items()}
    return person, nulled


@PROPERTY
@given(cn_aux_people())
def test_null_parts_are_missing(case):
    person, nulled = case
    seq = from_pose_keypoint({"people": [person], "canvas_width": 512, "canvas_height": 512})
    assert seq.skeleton == HUMAN and seq.keypoints.shape == (1, 1, 136, 3)
    conf = seq.confidence[0, 0]
    for key, rows in (("pose_keypoints_2d", slice(0, 18)), ("face_keypoints_2d", slice(24, 94)),
                      ("hand_left_keypoints_2d", slice(94, 115)), ("hand_right_keypoints_2d", slice(115, 136))):
        assert (conf[rows] == 0).all() if nulled[key] else (conf[rows] == 1).all()
        if not nulled[key]:
            np.testing.assert_array_equal(seq.xy[0, 0, rows].reshape(-1),
                                          np.float32(person[key]).reshape(-1, 3)[:, :2].reshape(-1))
    assert (conf[18:24] == 0).all()  # cn_aux has no feet


def test_face68_pupils_zero_triples_and_score_tolerance():
    face = [v for i in range(68) for v in (10.0 + i, 20.0, 0.9)]
    body = [0.0, 0.0, 0.0] * 18
    body[3:6] = [50.0, 60.0, 1.004]  # neck: score noise above 1 is clamped
    body[6:9] = [70.0, 80.0, -0.004]  # right shoulder: noise below 0 means missing
    seq = from_pose_keypoint({"people": [{"pose_keypoints_2d": body, "face_keypoints_2d": face}],
                              "canvas_width": 300, "canvas_height": 200})
    kp = seq.keypoints[0, 0]
    np.testing.assert_array_equal(kp[24:92, 0], np.arange(10, 78, dtype=np.float32))
    assert (kp[92:94] == 0).all()
    assert kp[1].tolist() == [50.0, 60.0, 1.0] and kp[2].tolist() == [0.0, 0.0, 0.0] and kp[0, 2] == 0
    body[3:6] = [50.0, 60.0, 1.5]
    with pytest.raises(PoseInputError, match=r"frame 0, person 0: 'pose_keypoints_2d' point 1 has confidence 1\.5"):
        from_pose_keypoint({"people": [{"pose_keypoints_2d": body}], "canvas_width": 300, "canvas_height": 200})


def test_people_counts_vary_and_empty_sequences_get_one_person():
    person = {"pose_keypoints_2d": [10.0, 10.0, 1.0] * 18}
    seq = from_pose_keypoint([{"people": [person], "canvas_width": 64, "canvas_height": 64},
                              {"people": [], "canvas_width": 64, "canvas_height": 64},
                              {"people": [person, person, person], "canvas_width": 64, "canvas_height": 64}])
    assert seq.keypoints.shape == (3, 3, 136, 3)
    assert seq.valid().any(axis=2).tolist() == [[True, False, False], [False] * 3, [True] * 3]
    nobody = from_pose_keypoint('{"people": [], "canvas_width": 64, "canvas_height": 32}')
    assert nobody.keypoints.shape == (1, 1, 136, 3) and not nobody.valid().any() and nobody.height == 32


def test_openpose_preprocessor_normalized_output_is_scaled():
    body = [0.0] * 54
    body[0:3] = [0.5, 0.25, 1.0]
    body[3:6] = [1.0, 1.0, 1.0]
    seq = from_pose_keypoint([{"people": [{"pose_keypoints_2d": body, "face_keypoints_2d": None,
                                           "hand_left_keypoints_2d": None, "hand_right_keypoints_2d": None}],
                               "canvas_width": 640, "canvas_height": 480}])
    assert seq.keypoints[0, 0, 0].tolist() == [320.0, 120.0, 1.0] and seq.keypoints[0, 0, 1].tolist() == [640, 480, 1]
    # the same numbers on a 2x2 canvas are pixels
    tiny = from_pose_keypoint({"people": [{"pose_keypoints_2d": body}], "canvas_width": 2, "canvas_height": 2})
    assert tiny.keypoints[0, 0, 0].tolist() == [0.5, 0.25, 1.0]
    # our own frames say they are pixels, so a pose squeezed into one pixel stays where it is
    own = to_pose_keypoint(PoseSequence(BODY18, np.float32([[[[0.5, 0.25, 1.0]] * 18]]), 640, 480))
    assert from_pose_keypoint(own).keypoints[0, 0, 0].tolist() == [0.5, 0.25, 1.0]


def test_ap10k_cn_aux_format():
    animal = [[10.0 + i, 20.0 + i, 1.0] for i in range(17)]
    animal[3] = [0.0, 0.0, 0.0]
    seq = from_pose_keypoint({"version": "ap10k", "animals": [animal, [[0, 0, 0]] * 17], "canvas_width": 100,
                              "canvas_height": 80})
    assert seq.skeleton == AP10K and seq.keypoints.shape == (1, 2, 17, 3)
    assert seq.keypoints[0, 0, 5].tolist() == [15.0, 25.0, 1.0] and seq.keypoints[0, 0, 3, 2] == 0


def test_feet_extension_and_body25_in_pose_keypoint():
    feet = [v for i in range(6) for v in (30.0 + i, 40.0 + i, 1.0)]
    person = {"pose_keypoints_2d": [5.0, 5.0, 1.0] * 18, "foot_keypoints_2d": feet}
    seq = from_pose_keypoint({"people": [person], "canvas_width": 64, "canvas_height": 64})
    np.testing.assert_array_equal(seq.keypoints[0, 0, 18:24].reshape(-1), np.float32(feet))
    # BODY_25 bodies are accepted here too; an explicit foot array wins over BODY_25's feet
    person = {"pose_keypoints_2d": body25_points()}
    kp = from_pose_keypoint({"people": [person], "canvas_width": 640, "canvas_height": 480}).keypoints[0, 0]
    assert kp[18].tolist() == np.float32([195.0, 119.0, 0.69]).tolist()  # BODY_25 row 19, left big toe
    person["foot_keypoints_2d"] = feet
    kp = from_pose_keypoint({"people": [person], "canvas_width": 640, "canvas_height": 480}).keypoints[0, 0]
    np.testing.assert_array_equal(kp[18:24].reshape(-1), np.float32(feet))


# --- malformed POSE_KEYPOINT ------------------------------------------------------------------------------------

def good_frame() -> dict[str, Any]:
    return {"people": [{"pose_keypoints_2d": [10.0, 20.0, 1.0] * 18, "face_keypoints_2d": None,
                        "hand_left_keypoints_2d": [1.0, 2.0, 1.0] * 21, "hand_right_keypoints_2d": None}],
            "canvas_width": 512, "canvas_height": 512}


def with_person(**changes: Any) -> dict[str, Any]:
    frame = good_frame()
    frame["people"][0].update(changes)
    return frame


def with_frame(**changes: Any) -> dict[str, Any]:
    frame = good_frame()
    frame.update(changes)
    return frame


BAD_INPUTS = [
    ([], "the list of frames is empty"),
    ("", "not valid JSON"),
    ("[1, 2", "not valid JSON"),
    (42, "got int 42"),
    (None, "got NoneType"),
    ([good_frame(), "frame"], "frame 1: is str"),
    ([good_frame(), {"canvas_width": 5, "canvas_height": 5}], "frame 1: has none of 'people'"),
    (with_frame(people={"a": 1}), "frame 0: 'people' is dict"),
    (with_frame(people=[[1, 2, 3]]), "frame 0, person 0: is list"),
    (with_frame(people=[{"name": "bob"}]), "frame 0, person 0: has no keypoint arrays"),
    (with_person(pose_keypoints_2d=[1.0] * 53), "'pose_keypoints_2d' has 53 numbers, not a multiple of 3"),
    (with_person(pose_keypoints_2d=[1.0] * 57), "'pose_keypoints_2d' has 19 points"),
    (with_person(face_keypoints_2d=[1.0] * 60), "'face_keypoints_2d' has 20 points"),
    (with_person(hand_left_keypoints_2d=[1.0] * 60), "'hand_left_keypoints_2d' has 20 points"),
    (with_person(foot_keypoints_2d=[1.0] * 21), "'foot_keypoints_2d' has 7 points"),
    (with_person(pose_keypoints_2d=[1.0, float("nan"), 1.0] * 18), "point 0 y is float nan"),
    (with_person(pose_keypoints_2d=[float("inf"), 1.0, 1.0] * 18), "point 0 x is float inf"),
    (with_person(pose_keypoints_2d=[1.0, 2.0, "1"] * 18), "point 0 confidence is str '1'"),
    (with_person(pose_keypoints_2d=[True, 2.0, 1.0] * 18), "point 0 x is bool True"),
    (with_person(pose_keypoints_2d=[1.0, [2.0], 1.0] * 18), "point 0 y is list"),
    (with_person(pose_keypoints_2d=[1.0, 2.0, 3.0] * 18), "point 0 has confidence 3"),
    (with_person(pose_keypoints_2d=[1.0, 2.0, -1.0] * 18), "point 0 has confidence -1"),
    (with_person(pose_keypoints_2d=[1e300, 2.0, 1.0] * 18), "point 0 lies at"),
    (with_person(pose_keypoints_2d=[10**400, 2.0, 1.0] * 18), "point 0 x is int"),
    (with_person(pose_keypoints_2d="1,2,3"), "'pose_keypoints_2d' is str"),
    (with_person(hand_right_keypoints_2d={"x": 1}), "'hand_right_keypoints_2d' is dict"),
    (with_frame(canvas_width=0), "'canvas_width' is int 0"),
    (with_frame(canvas_height=-5), "'canvas_height' is int -5"),
    (with_frame(canvas_width="512"), "'canvas_width' is str '512'"),
    (with_frame(canvas_width=512.5), "'canvas_width' is float 512.5"),
    (with_frame(canvas_width=True), "'canvas_width' is bool True"),
    (with_frame(canvas_height=float("nan")), "'canvas_height' is float nan"),
    (with_frame(canvas_width=10**9), "'canvas_width' is int 1000000000"),
    ({"people": []}, "'canvas_width' is missing"),
    ([good_frame(), with_frame(canvas_width=640)], "frame 1: canvas is 640x512 but frame 0 is 512x512"),
    ([good_frame(), {"version": "ap10k", "animals": [], "canvas_width": 512, "canvas_height": 512}],
     "frame 1: holds 'animals' but frame 0 holds 'people'"),
    ({"version": "ap10k", "animals": [[[1, 2, 1]] * 16], "canvas_width": 9, "canvas_height": 9},
     "frame 0, animal 0: 'animals[0]' has 16 entries"),
    ({"version": "ap10k", "animals": [[[1, 2, 1]] * 16 + [[1, 2]]], "canvas_width": 9, "canvas_height": 9},
     "'animals[0]' point 16 is list [1, 2]"),
    ({"version": "posegen", "subjects": [], "canvas_width": 9, "canvas_height": 9}, "need 'posegen.skeleton'"),
    (with_frame(posegen={"skeleton": "horse"}), "unknown skeleton 'horse'"),
    (with_frame(posegen={"skeleton": {"name": "x", "keypoints": "abc"}}), "'posegen.skeleton' is not a valid"),
    (with_frame(posegen={"skeleton": {"name": "x", "keypoints": ["a"], "parts": [1]}}), "not a valid skeleton"),
    (with_frame(posegen={"skeleton": "ap10k"}), "'people' frames hold human poses, not skeleton 'ap10k'"),
    (with_frame(posegen={"fps": -3}), "'posegen.fps' is int -3"),
    (with_frame(posegen={"fps": "24"}), "'posegen.fps' is str '24'"),
    (with_frame(posegen={"inserted": 1}), "'posegen.inserted' is int 1"),
    (with_frame(posegen={"units": "cm"}), "'posegen.units' is str 'cm'"),
    (with_frame(posegen=[1]), "'posegen' is list"),
    ([with_frame(posegen={"fps": 24}), with_frame(posegen={"fps": 25})],
     "frame 1: 'posegen.fps' is 25 but frame 0 says 24"),
    ([with_frame(posegen={"skeleton": "human"}), with_frame(posegen={"skeleton": "openpose_body18"})],
     "frame 1: declares skeleton 'openpose_body18' but frame 0 declares 'human'"),
]


@pytest.mark.parametrize(("data", "message"), BAD_INPUTS, ids=[m for _, m in BAD_INPUTS])
def test_malformed_pose_keypoint_names_the_problem(data: Any, message: str):
    with pytest.raises(PoseInputError) as info:
        from_pose_keypoint(data)
    text = str(info.value)
    assert text.startswith("pose_keypoint: ") and message in text and "Expected" in text, text
    assert isinstance(info.value, PoseGenInputError) and info.value.input_name == "pose_keypoint"


def test_input_name_is_overridable():
    with pytest.raises(PoseInputError, match="^driving_pose: the list of frames is empty"):
        from_pose_keypoint([], input_name="driving_pose")


# --- fuzzing ----------------------------------------------------------------------------------------------------

GARBAGE: list[Any] = ["abc", "", None, float("nan"), float("inf"), -float("inf"), -5, -0.5, 1e300, 10**400, 1e9,
                      [[1, 2], [3]], [], {}, {"people": []}, True, False, 0, 0.0, 1, 2.5, [1.0] * 7, [None] * 3]


def fuzz_bases() -> list[Any]:
    rng = np.random.default_rng(1)
    custom = Skeleton(name="arm", keypoints=("base", "elbow", "wrist"), edges=((0, 1), (1, 2)))
    bases: list[Any] = [
        [good_frame(), with_frame(people=[])],
        to_pose_keypoint(PoseSequence(HUMAN, random_keypoints(rng, (1, 2, 136), 64, 48, 0.5), 64, 48, 24.0, (0,))),
        to_pose_keypoint(PoseSequence(AP10K, random_keypoints(rng, (2, 1, 17), 64, 48, 0.2), 64, 48)),
        to_pose_keypoint(PoseSequence(custom, random_keypoints(rng, (2, 2, 3), 64, 48, 0.2), 64, 48)),
        [{"people": [{"pose_keypoints_2d": [0.5, 0.5, 1.0] * 18}], "canvas_width": 64, "canvas_height": 64}],
    ]
    return json.loads(json.dumps(bases))


def _mutate(data: Any, rnd: random.Random) -> Any:
    """One random edit somewhere in ``data`` (in place where possible); returns the new root."""
    if rnd.random() < 0.03:
        return rnd.choice([[], {}, "", "[]", None, [None], GARBAGE[rnd.randrange(len(GARBAGE))]])
    parent, key = None, None
    node = data
    # random walk: stop at each level with some probability, so shallow and deep nodes both get hit
    while isinstance(node, dict | list) and node and (parent is None or rnd.random() < 0.75):
        keys = list(node) if isinstance(node, dict) else range(len(node))
        parent, key = node, rnd.choice(list(keys))
        node = node[key]
    if parent is None:
        return rnd.choice(GARBAGE)
    action = rnd.randrange(6)
    if action == 0:
        del parent[key]
    elif action == 1 and isinstance(node, list):
        parent[key] = node[:rnd.randrange(len(node) + 1)]
    elif action == 2 and isinstance(node, list):
        parent[key] = node + [rnd.choice(GARBAGE)]
    elif action == 3 and isinstance(parent, dict):
        parent[rnd.choice(["canvas_width", "canvas_height"])] = rnd.choice([0, -5, "512", 512.5, None, 1e9, 3])
    else:
        parent[key] = rnd.choice(GARBAGE)
    return data


def test_fuzzed_pose_keypoint_is_read_or_rejected_cleanly():
    rnd = random.Random(20240601)
    bases = [json.dumps(b) for b in fuzz_bases()]
    outcomes = {"ok": 0, "error": 0}
    start = time.perf_counter()
    for _ in range(10_000):
        data = json.loads(rnd.choice(bases))
        for _ in range(rnd.randint(1, 3)):
            data = _mutate(data, rnd)
        if rnd.random() < 0.1:
            try:
                data = json.dumps(data)  # the JSON-text path too
            except ValueError:
                pass  # 10**400 and the like cannot always be written
        try:
            seq = from_pose_keypoint(data)
        except PoseInputError as exc:
            assert str(exc).startswith("pose_keypoint: ")
            outcomes["error"] += 1
            continue
        assert isinstance(seq, PoseSequence) and seq.keypoints.dtype == np.float32 and seq.keypoints.ndim == 4
        assert np.isfinite(seq.keypoints).all() and seq.num_people >= 1 and seq.num_frames >= 1
        assert ((seq.confidence >= 0) & (seq.confidence <= 1)).all()
        outcomes["ok"] += 1
    assert outcomes["ok"] > 500 and outcomes["error"] > 500, outcomes
    assert time.perf_counter() - start < 20


# --- OpenPose JSON files ----------------------------------------------------------------------------------------

def openpose_file(path: Path, people: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"version": 1.3, "people": people}), encoding="utf-8")
    return path


def body25_points() -> list[float]:
    # point i sits at (10 i + 5, 100 + i) with score 0.5 + i / 100, so every row is recognisable
    return [v for i in range(25) for v in (10.0 * i + 5, 100.0 + i, 0.5 + i / 100)]


def test_body25_maps_onto_openpose18_and_feet(tmp_path: Path):
    path = openpose_file(tmp_path / "f.json", [{"person_id": [-1], "pose_keypoints_2d": body25_points(),
                                                "face_keypoints_2d": [], "hand_left_keypoints_2d": None}])
    with pytest.raises(PoseInputError, match="'face_keypoints_2d' has 0 points"):
        read_openpose_json([path], 640, 480)
    path = openpose_file(tmp_path / "f.json", [{"pose_keypoints_2d": body25_points()}])
    kp = read_openpose_json([path], 640, 480).keypoints[0, 0]

    def at(i: int) -> list[float]:
        return np.float32([10.0 * i + 5, 100.0 + i, 0.5 + i / 100]).tolist()

    # HUMAN row <- BODY_25 row, spelled out by name
    expected = {0: 0, 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 7,  # nose, neck, right arm, left arm
                8: 9, 9: 10, 10: 11,  # right hip, knee, ankle
                11: 12, 12: 13, 13: 14,  # left hip, knee, ankle
                14: 15, 15: 16, 16: 17, 17: 18,  # right eye, left eye, right ear, left ear
                18: 19, 19: 20, 20: 21,  # left big toe, small toe, heel
                21: 22, 22: 23, 23: 24}  # right big toe, small toe, heel
    assert {dst: src for src, dst in BODY25_TO_HUMAN.items()} == expected
    for dst, src in expected.items():
        assert kp[dst].tolist() == at(src), (dst, src)
    assert (kp[24:] == 0).all()
    assert HUMAN.keypoints[8] == "right_hip" and HUMAN.keypoints[20] == "left_heel"


def test_coco18_file_with_face_and_hands(tmp_path: Path):
    body = [v for i in range(18) for v in (float(i), float(i) + 1, 1.0)]
    face = [v for i in range(70) for v in (200.0 + i, 50.0, 0.8)]
    left = [v for i in range(21) for v in (300.0 + i, 60.0, 0.9)]
    path = openpose_file(tmp_path / "a.json", [{"pose_keypoints_2d": body, "face_keypoints_2d": face,
                                                "hand_left_keypoints_2d": left,
                                                "hand_right_keypoints_2d": [0.0] * 63}])
    seq = read_openpose_json([path], 1280, 720, fps=25)
    kp = seq.keypoints[0, 0]
    np.testing.assert_array_equal(kp[:18].reshape(-1), np.float32(body))
    np.testing.assert_array_equal(kp[24:94].reshape(-1), np.float32(face))
    np.testing.assert_array_equal(kp[94:115].reshape(-1), np.float32(left))
    assert (kp[18:24] == 0).all() and (kp[115:] == 0).all()
    assert (seq.width, seq.height, seq.fps) == (1280, 720, 25.0)


def test_natural_sort():
    names = ["frame_10.json", "frame_2.json", "Frame_1.json", "frame_000000000003_keypoints.json", "frame_2b.json"]
    assert [p.name for p in natural_sorted(names)] == ["Frame_1.json", "frame_2.json", "frame_2b.json",
                                                       "frame_000000000003_keypoints.json", "frame_10.json"]
    assert natural_sorted([Path("d/x9"), "d/x10", Path("c/x11")]) == [Path("c/x11"), Path("d/x9"), Path("d/x10")]


def test_canvas_inference_and_several_files(tmp_path: Path):
    body = [0.0] * 54
    body[0:3] = [99.5, 36.0, 1.0]
    body[3:6] = [-20.0, 10.0, 1.0]
    body[6:9] = [500.0, 900.0, 0.0]  # missing points do not count
    first = openpose_file(tmp_path / "frame_2.json", [{"pose_keypoints_2d": body}])
    body[0:3] = [100.0, 37.0, 1.0]
    second = openpose_file(tmp_path / "frame_10.json", [{"pose_keypoints_2d": body}, {"pose_keypoints_2d": body}])
    empty = openpose_file(tmp_path / "frame_11.json", [])
    seq = read_openpose_json(natural_sorted([empty, second, first]))
    # x reaches 100.0, so pixel column 100 is needed: width 101 -> 102; y reaches 37 -> 38
    assert (seq.width, seq.height) == (102, 38) and seq.keypoints.shape == (3, 2, 136, 3)
    assert seq.keypoints[0, 0, 0].tolist() == [99.5, 36.0, 1.0] and not seq.valid()[2].any()
    only_first = read_openpose_json([first])
    assert (only_first.width, only_first.height) == (100, 38)  # 99.5 lies in pixel 99


def test_openpose_files_with_normalized_coordinates_need_a_canvas(tmp_path: Path):
    body = [0.5, 0.25, 1.0] + [0.0] * 51
    path = openpose_file(tmp_path / "n.json", [{"pose_keypoints_2d": body}])
    with pytest.raises(PoseInputError, match="look normalized.*Expected width and height"):
        read_openpose_json([path])
    assert read_openpose_json([path], 640, 480).keypoints[0, 0, 0].tolist() == [320.0, 120.0, 1.0]
    nobody = openpose_file(tmp_path / "e.json", [])
    with pytest.raises(PoseInputError, match="nor any keypoint"):
        read_openpose_json([nobody])
    assert read_openpose_json([nobody], 64, 32).keypoints.shape == (1, 1, 136, 3)


def test_pose_keypoint_files_delegate(tmp_path: Path):
    rng = np.random.default_rng(3)
    seq = PoseSequence(HUMAN, random_keypoints(rng, (3, 2, 136), 320, 240, 0.3), 320, 240, fps=12.0, inserted=(1,))
    path = tmp_path / "poses.json"
    path.write_text(json.dumps(to_pose_keypoint(seq)), encoding="utf-8")
    assert same_poses(read_openpose_json([path]), seq)
    # a POSE_KEYPOINT file and a bare OpenPose file together: the bare one takes the carried canvas
    bare = openpose_file(tmp_path / "z.json", [{"pose_keypoints_2d": [10.0, 10.0, 1.0] * 18}])
    both = read_openpose_json([path, bare])
    assert both.num_frames == 4 and (both.width, both.height) == (320, 240)
    with pytest.raises(PoseInputError, match=r"frame 0 \('poses.json' frame 0\): canvas is 320x240 but the given"):
        read_openpose_json([path], 640, 480)


def test_openpose_file_errors_name_the_file(tmp_path: Path):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(PoseInputError, match="^pose_file: broken.json: is not valid JSON"):
        read_openpose_json([broken])
    with pytest.raises(PoseInputError, match="missing.json: cannot be read"):
        read_openpose_json([tmp_path / "missing.json"])
    bad = openpose_file(tmp_path / "frame_7.json", [{"pose_keypoints_2d": [1.0] * 50}])
    with pytest.raises(PoseInputError, match=r"frame 0 \('frame_7.json'\), person 0: 'pose_keypoints_2d' has 50"):
        read_openpose_json([bad], 64, 64)
    with pytest.raises(PoseInputError, match="no files given"):
        read_openpose_json([])
    with pytest.raises(PoseInputError, match="only one of width and height"):
        read_openpose_json([bad], 64)
    (tmp_path / "num.json").write_text("3", encoding="utf-8")
    with pytest.raises(PoseInputError, match="num.json: holds int 3"):
        read_openpose_json([tmp_path / "num.json"], 64, 64)


# --- COCO-WholeBody ---------------------------------------------------------------------------------------------

# spec 8.2: OpenPose-18 destination row -> COCO source row (counted after the neck insert at 17)
SPEC_82 = {0: 0, 1: 17, 2: 6, 3: 8, 4: 10, 5: 5, 6: 7, 7: 9, 8: 12, 9: 14, 10: 16, 11: 11, 12: 13, 13: 15,
           14: 2, 15: 1, 16: 4, 17: 3}


def coco_arrays(frames: int = 2, people: int = 2, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    points = np.zeros((frames, people, 133, 3), dtype=np.float32)
    points[..., :2] = rng.uniform(0, 500, (frames, people, 133, 2))
    points[..., 2] = rng.uniform(0.05, 1.0, (frames, people, 133))
    return points


def test_coco_wholebody_neck_and_openpose_order():
    coco = coco_arrays()
    seq = from_coco_wholebody(coco[..., :2], coco[..., 2], 512, 512, fps=30)
    kp = seq.keypoints
    assert seq.skeleton == HUMAN and kp.shape == (2, 2, 136, 3) and seq.fps == 30.0
    neck = ((coco[..., 5, :].astype(np.float64) + coco[..., 6, :]) / 2).astype(np.float32)
    np.testing.assert_array_equal(kp[..., 1, :], neck)  # x, y and score
    for dst, src in SPEC_82.items():
        if dst != 1:
            np.testing.assert_array_equal(kp[..., dst, :], coco[..., src, :], err_msg=f"row {dst}")
    names = {dst: HUMAN.keypoints[dst] for dst in SPEC_82}
    coco_names = ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
                  "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
                  "right_knee", "left_ankle", "right_ankle", "neck")
    assert all(names[dst] == coco_names[src] for dst, src in SPEC_82.items())
    np.testing.assert_array_equal(kp[..., 18:24, :], coco[..., 17:23, :])  # feet
    np.testing.assert_array_equal(kp[..., 24:92, :], coco[..., 23:91, :])  # face 68
    assert (kp[..., 92:94, :] == 0).all()  # pupils
    np.testing.assert_array_equal(kp[..., 94:115, :], coco[..., 91:112, :])  # left hand
    np.testing.assert_array_equal(kp[..., 115:136, :], coco[..., 112:133, :])  # right hand


def test_coco_wholebody_shapes_and_scores():
    coco = coco_arrays(3, 1)
    one = from_coco_wholebody(coco[:, 0], None, 512, 512)  # [frames, 133, 3]
    np.testing.assert_array_equal(one.keypoints, from_coco_wholebody(coco, None, 512, 512).keypoints)
    no_scores = from_coco_wholebody(coco[:, 0, :, :2], None, 512, 512)
    assert (np.delete(no_scores.confidence, [92, 93], axis=2) == 1).all()  # all but the pupils COCO lacks
    # heatmap scores beyond [0, 1]: the neck uses the raw scores, the stored ones are clipped
    coco[0, 0, 5, 2], coco[0, 0, 6, 2], coco[0, 0, 0, 2] = 1.4, 0.2, -0.3
    kp = from_coco_wholebody(coco, None, None, None).keypoints[0, 0]
    assert kp[1, 2] == np.float32(0.8) and kp[5, 2] == 1.0 and kp[2, 2] == np.float32(0.2)
    assert kp[0].tolist() == [0.0, 0.0, 0.0]
    for bad, match in ((np.zeros((2, 132, 3)), "shape"), (np.zeros((0, 133, 3)), "shape"),
                       (np.full((1, 133, 3), np.nan), "NaN"), (np.zeros((1, 133, 3), dtype=object), "dtype")):
        with pytest.raises(PoseInputError, match=f"^keypoints: .*{match}"):
            from_coco_wholebody(bad, None, 64, 64)
    with pytest.raises(PoseInputError, match="scores have shape"):
        from_coco_wholebody(coco, np.ones((3, 133)), 64, 64)


def test_read_coco_wholebody_json_and_npy(tmp_path: Path):
    coco = coco_arrays(2, 2)
    frames = [[{"keypoints": coco[f, p, :, :2].tolist(), "keypoint_scores": coco[f, p, :, 2].tolist(), "bbox": [0]}
               for p in range(2)] for f in range(2)]
    frames.append([])  # nobody in the last frame
    path = tmp_path / "sapiens.json"
    path.write_text(json.dumps(frames), encoding="utf-8")
    seq = read_coco_wholebody_json(path, 512, 512)
    expected = from_coco_wholebody(coco, None, 512, 512).keypoints
    np.testing.assert_array_equal(seq.keypoints[:2], expected)
    assert not seq.valid()[2].any()
    wrapped = tmp_path / "mmpose.json"
    wrapped.write_text(json.dumps({"meta_info": {}, "instance_info": [{"frame_id": i + 1, "instances": f}
                                                                      for i, f in enumerate(frames)]}))
    np.testing.assert_array_equal(read_coco_wholebody_json(wrapped, 512, 512).keypoints, seq.keypoints)
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps({"instance_info": frames}))
    inferred = read_coco_wholebody_json(plain)
    assert inferred.width == 2 * math.ceil((math.floor(float(seq.xy[seq.valid()][:, 0].max())) + 1) / 2)
    npy = tmp_path / "poses.npy"
    np.save(npy, coco)
    np.testing.assert_array_equal(read_coco_wholebody_json(npy, 512, 512).keypoints, expected)
    np.save(npy, coco[:, 0])
    assert read_coco_wholebody_json(npy, 512, 512).keypoints.shape == (2, 1, 136, 3)

    frames[1][0]["keypoints"][7] = [1.0, "x"]
    path.write_text(json.dumps(frames), encoding="utf-8")
    with pytest.raises(PoseInputError, match=r"'sapiens.json' frame 1, person 0: 'keypoints' entry 7 holds str"):
        read_coco_wholebody_json(path, 512, 512)
    frames[1][0]["keypoints"] = frames[1][0]["keypoints"][:100]
    path.write_text(json.dumps(frames), encoding="utf-8")
    with pytest.raises(PoseInputError, match="'keypoints' has 100 entries"):
        read_coco_wholebody_json(path, 512, 512)
    np.save(npy, np.zeros((2, 17, 3)))
    with pytest.raises(PoseInputError, match=r"poses.npy: keypoints have shape \(2, 17, 3\)"):
        read_coco_wholebody_json(npy, 64, 64)
    path.write_text(json.dumps({"frames": []}), encoding="utf-8")
    with pytest.raises(PoseInputError, match="without 'instance_info'"):
        read_coco_wholebody_json(path)


# --- skeleton files ---------------------------------------------------------------------------------------------

def test_parse_skeleton_file(tmp_path: Path):
    good = tmp_path / "arm.json"
    good.write_text(json.dumps({"name": "arm", "keypoints": ["a", "b", "c"], "edges": [["a", "b"], [1, 2]]}))
    assert parse_skeleton_file(good).edges == ((0, 1), (1, 2))
    cases = {"bad.json": "{oops", "list.json": "[1, 2]", "edge.json": '{"name": "x", "keypoints": ["a"], '
                                                                       '"edges": [[0, 5]]}',
             "parts.json": '{"name": "x", "keypoints": ["a"], "parts": [1]}'}
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(PoseInputError, match=f"^skeleton_file: '{name}'"):
            parse_skeleton_file(tmp_path / name)
    with pytest.raises(PoseInputError, match="'nope.json' cannot be read"):
        parse_skeleton_file(tmp_path / "nope.json")
