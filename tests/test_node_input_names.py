"""Node errors name the node's own inputs: core errors are renamed by attribute (inputs_named), never by their text.

The pack is loaded as a package (``posegen_pack``) the way ComfyUI's loader does, without a server; its
``posegen_core`` is then the pack's own copy, so errors are checked by attribute and message, not by class.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
PACK = "posegen_pack"


@pytest.fixture(scope="module")
def pack() -> ModuleType:
    if PACK not in sys.modules:
        spec = importlib.util.spec_from_file_location(PACK, REPO / "__init__.py",
                                                      submodule_search_locations=[str(REPO)])
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[PACK] = module
        spec.loader.exec_module(module)
    return sys.modules[PACK]


def raises_about(input_name: str, fragment: str, call) -> None:
    with pytest.raises(ValueError) as caught:
        call()
    error = caught.value
    assert any(c.__name__ == "PoseGenInputError" for c in type(error).__mro__), repr(error)
    assert error.input_name == input_name, str(error)
    assert str(error).startswith(f"{input_name}: ") and fragment in str(error), str(error)


def keypoints(pack: ModuleType, skeleton: str, frames: int = 3) -> list[dict]:
    """POSE_KEYPOINT of ``frames`` frames of one fully visible subject on a 64x64 canvas."""
    core = sys.modules[f"{PACK}.posegen_core.poses.skeletons"]
    seq_mod = sys.modules[f"{PACK}.posegen_core.poses.sequence"]
    keypoint = sys.modules[f"{PACK}.posegen_core.poses.formats.keypoint"]
    chosen = core.BUILTIN[skeleton]
    kp = np.zeros((frames, 1, chosen.num_keypoints, 3), np.float32)
    kp[..., 0] = np.linspace(10, 50, chosen.num_keypoints)
    kp[..., 1] = np.linspace(5, 60, chosen.num_keypoints)[::-1]
    kp[..., 2] = 1.0
    return keypoint.to_pose_keypoint(seq_mod.PoseSequence(chosen, kp, 64, 64, 30.0))


def test_reference_frame_select_names_its_pose_inputs(pack):
    node = pack.nodes.pose_edit.PoseGenReferenceFrameSelect
    frames = torch.zeros(3, 64, 64, 3)
    raises_about("target_poses", "the reference clip's skeleton", lambda: node.execute(
        frames, keypoints(pack, "openpose_body18"), keypoints(pack, "ap10k")))
    empty = keypoints(pack, "openpose_body18")
    for frame in empty:
        frame["people"] = []
    raises_about("reference_poses", "no reference-clip frame shows person 0", lambda: node.execute(
        frames, empty, keypoints(pack, "openpose_body18")))


def test_insert_reference_pose_names_its_inputs(pack):
    node = pack.nodes.pose_edit.PoseGenInsertReferencePose
    raises_about("reference_pose", "the target's skeleton", lambda: node.execute(
        keypoints(pack, "openpose_body18"), keypoints(pack, "ap10k", 1), 0))
    raises_about("position", "0..3", lambda: node.execute(
        keypoints(pack, "openpose_body18"), keypoints(pack, "openpose_body18", 1), 7))


def test_retarget_names_the_input_whose_skeleton_it_cannot_use(pack):
    node = pack.nodes.pose_edit.PoseGenRetargetPoses
    raises_about("driving", "skeleton 'ap10k'", lambda: node.execute(
        keypoints(pack, "ap10k"), keypoints(pack, "openpose_body18", 1), 0))
    raises_about("reference", "skeleton 'ap10k'", lambda: node.execute(
        keypoints(pack, "openpose_body18"), keypoints(pack, "ap10k", 1), 0))
    raises_about("reference_person", "has 1 people", lambda: node.execute(
        keypoints(pack, "openpose_body18"), keypoints(pack, "openpose_body18", 1), 3))


def test_pose_sequence_node_names_the_op_inputs(pack):
    node = pack.nodes.pose_edit.PoseGenPoseSequence
    args = dict(person="largest", person_index=0, start=0, end=0, source_fps=0.0, target_fps=0.0, smoothing="off",
                length=0, pad_mode="mirror", keyframes="", keyframe_every=0)
    raises_about("start", "past the last frame", lambda: node.execute(keypoints(pack, "human"), **{**args,
                                                                                                    "start": 500}))
    raises_about("keyframes", "outside the 3 frames", lambda: node.execute(keypoints(pack, "human"), **{
        **args, "keyframes": "0, 9"}))


def test_extract_poses_reports_a_missing_mediapipe_against_images(pack, monkeypatch):
    module = pack.nodes.pose_io
    unavailable = sys.modules[f"{PACK}.posegen_core.poses.extract_mediapipe"].PoseExtractionUnavailable

    def no_mediapipe(*args, **kwargs):
        raise unavailable("Pose extraction needs MediaPipe, which could not be imported.")

    monkeypatch.setattr(module, "extract_poses", no_mediapipe)
    raises_about("images", "needs MediaPipe", lambda: module.PoseGenExtractPoses.execute(
        torch.zeros(1, 8, 8, 3), 0.0, 0.5, True))


def test_reference_inversion_passes_the_cores_own_input_names(pack):
    node = pack.nodes.posecrafter.PoseGenReferenceInversion
    latent = {"samples": torch.zeros(1, 16, 1, 4, 4)}
    descending = torch.tensor([1.0, 0.5, 0.0])
    raises_about("method", "'dpm'", lambda: node.execute(None, [], [], latent, descending, 1.0, "dpm", 0, 5))
    raises_about("refine", "-1", lambda: node.execute(None, [], [], latent, descending, 1.0, "euler", -1, 5))
    raises_about("sigmas", "strictly descending", lambda: node.execute(
        None, [], [], latent, descending.flip(0), 1.0, "euler", 0, 5))


def test_scheduler_names_steps_and_denoise(pack):
    node = pack.nodes.scheduling.PoseGenScheduler
    raises_about("steps", "at least 1", lambda: node.execute(0, 5.0, 1.0))
    raises_about("denoise", "(0, 1]", lambda: node.execute(4, 5.0, 1.5))
