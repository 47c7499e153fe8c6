"""OpenPose JSON files (formats.openpose): COCO-18 and BODY_25 bodies, canvas inference over several files,
normalized coordinates, POSE_KEYPOINT files, and errors naming the file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from posegen_core.poses.formats.checks import PoseInputError
from posegen_core.poses.formats.files import natural_sorted
from posegen_core.poses.formats.frames import BODY25_TO_HUMAN
from posegen_core.poses.formats.keypoint import same_poses, to_pose_keypoint
from posegen_core.poses.formats.openpose import read_openpose_json
from posegen_core.poses.sequence import PoseSequence
from posegen_core.poses.skeletons import HUMAN

from .pose_data import body25_points, openpose_file, random_keypoints


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
