"""The frame reader (formats.frames) through POSE_KEYPOINT: cn_aux's people (normalized or pixels, null parts,
face-68, feet, BODY_25), AP10K animals, malformed frames named precisely, and fuzzed input read or rejected
cleanly."""

from __future__ import annotations

import json
import random
import time
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from posegen_core.errors import PoseGenInputError
from posegen_core.poses.formats.checks import PoseInputError
from posegen_core.poses.formats.keypoint import from_pose_keypoint, same_poses, to_pose_keypoint
from posegen_core.poses.sequence import PoseSequence
from posegen_core.poses.skeletons import AP10K, BODY18, HUMAN, Skeleton

from .pose_data import body25_points, good_frame, random_keypoints, with_frame, with_person

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


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

# --- malformed frames -------------------------------------------------------------------------------------------

BAD_INPUTS = [
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
