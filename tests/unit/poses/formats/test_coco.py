"""COCO-WholeBody-133 (formats.coco): §8.2's neck and OpenPose order, shapes and scores, JSON and .npy
files."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from posegen_core.poses.formats.checks import PoseInputError
from posegen_core.poses.formats.coco import from_coco_wholebody, read_coco_wholebody_json
from posegen_core.poses.skeletons import HUMAN

# §8.2: OpenPose-18 destination row -> COCO source row (counted after the neck insert at 17)
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
