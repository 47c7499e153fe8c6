"""The pose nodes inside a real ComfyUI server: the example workflow (keypoints -> retarget -> render) through
/prompt, the previews they send, POSE_KEYPOINT compatibility, and clear errors for bad pose inputs."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from devtools.prompts import node_of_type
from posegen_core.poses.formats.keypoint import from_pose_keypoint

from .conftest import DRIVING_FRAMES

REPO_ROOT = Path(__file__).resolve().parents[2]
POSE_WORKFLOW = REPO_ROOT / "workflows" / "posegen_pose_retarget_render.api.json"
PREVIEW = "posegen_pose_preview"

POSE_NODES = {
    "PoseGenLoadPoses": ({"source": "COMBO", "format": "COMBO", "width": "INT", "height": "INT", "fps": "FLOAT"},
                         {"skeleton_file": "COMBO"}, ["POSE_KEYPOINT"]),
    "PoseGenExtractPoses": ({"images": "IMAGE", "fps": "FLOAT", "min_confidence": "FLOAT", "refine_face": "BOOLEAN"},
                            {}, ["POSE_KEYPOINT"]),
    "PoseGenPoseSequence": ({"pose_keypoint": "POSE_KEYPOINT", "person": "COMBO", "person_index": "INT",
                             "start": "INT", "end": "INT", "source_fps": "FLOAT", "target_fps": "FLOAT",
                             "smoothing": "COMBO", "length": "INT", "pad_mode": "COMBO", "keyframes": "STRING",
                             "keyframe_every": "INT"}, {}, ["POSE_KEYPOINT", "INT", "FLOAT"]),
    "PoseGenRetargetPoses": ({"driving": "POSE_KEYPOINT", "reference": "POSE_KEYPOINT", "reference_person": "INT"},
                             {}, ["POSE_KEYPOINT", "STRING"]),
    "PoseGenRenderPoses": ({"pose_keypoint": "POSE_KEYPOINT", "style": "COMBO", "width": "INT", "height": "INT"},
                           {}, ["IMAGE"]),
    "PoseGenReferenceFrameSelect": ({"reference_frames": "IMAGE", "reference_poses": "POSE_KEYPOINT",
                                     "target_poses": "POSE_KEYPOINT"}, {}, ["IMAGE", "POSE_KEYPOINT", "INT"]),
    "PoseGenInsertReferencePose": ({"target_poses": "POSE_KEYPOINT", "reference_pose": "POSE_KEYPOINT",
                                    "position": "INT"}, {}, ["POSE_KEYPOINT"]),
    "PoseGenDropInsertedFrames": ({"images": "IMAGE", "pose_keypoint": "POSE_KEYPOINT"}, {}, ["IMAGE"]),
}


def _type(spec: list) -> str:
    return "COMBO" if isinstance(spec[0], list) else spec[0]


@pytest.fixture(scope="module")
def pose_prompt() -> dict:
    return json.loads(POSE_WORKFLOW.read_text(encoding="utf-8"))



@pytest.mark.parametrize("name", sorted(POSE_NODES))
def test_pose_nodes_in_object_info(comfy_server, name):
    required, optional, outputs = POSE_NODES[name]
    info = comfy_server.object_info(name)[name]
    assert info["category"] == "PoseGen/poses" and info["description"]
    assert {k: _type(v) for k, v in info["input"]["required"].items()} == required
    assert {k: _type(v) for k, v in info["input"].get("optional", {}).items()} == optional
    assert info["output"] == outputs
    for section in ("required", "optional"):
        assert all(spec[1].get("tooltip") for spec in info["input"].get(section, {}).values())


def test_pose_example_workflow_retargets_and_renders(comfy_server, pose_prompt):
    # inputs that mean the same (the file's own canvas; fps of a still photo) but miss ComfyUI's cache, so every
    # node really runs and reports its preview even if another test ran the workflow before
    prompt = copy.deepcopy(pose_prompt)
    prompt["3"]["inputs"].update(width=288, height=512)
    prompt["2"]["inputs"]["fps"] = 25.0
    result = comfy_server.run_ok(prompt)
    assert {"2", "3", "4", "5", "6"} <= set(result.executed_nodes)
    frames = sorted(result.output_files("images", node_id="7"))
    assert len(frames) == DRIVING_FRAMES
    images = np.stack([np.asarray(Image.open(f).convert("RGB")) for f in frames])
    assert images.shape[1:] == (512, 512, 3)  # on the reference photo's canvas
    # PoseGen's renderer: the neck-right-shoulder link as the model saw it, (255, 0, 0) channel-swapped
    assert (np.all(images == (0, 0, 255), axis=-1)).sum() > 50

    previews = {node: result.outputs[node][PREVIEW][0] for node in ("2", "3", "4", "5")}
    assert previews["2"]["frames"] == 1 and (previews["2"]["width"], previews["2"]["height"]) == (512, 512)
    assert previews["3"]["frames"] == DRIVING_FRAMES and previews["3"]["fps"] == 30.0
    assert previews["5"]["frames"] == DRIVING_FRAMES and previews["5"]["people"] == 1
    assert (previews["5"]["width"], previews["5"]["height"]) == (512, 512)
    assert len(previews["5"]["keypoints"][0][0]) == 136 * 3 and previews["5"]["edges"]


def test_every_pose_output_is_controlnet_aux_pose_keypoint(comfy_server, pose_prompt):
    """What flows on POSE_KEYPOINT links is cn_aux's layout: cn_aux nodes read it, and we read theirs."""
    prompt = copy.deepcopy(pose_prompt)
    prompt["20"] = {"class_type": "PreviewAny", "inputs": {"source": ["5", 0]}}
    result = comfy_server.run_ok(prompt)
    shown = result.outputs["20"]["text"][0]
    frames = json.loads(shown)
    assert len(frames) == DRIVING_FRAMES
    person = frames[0]["people"][0]
    assert len(person["pose_keypoints_2d"]) == 18 * 3 and frames[0]["canvas_width"] == 512
    assert from_pose_keypoint(frames).num_frames == DRIVING_FRAMES


def test_reference_insertion_and_drop_round_trip(comfy_server, pose_prompt):
    prompt = copy.deepcopy(pose_prompt)
    prompt["30"] = {"class_type": "PoseGenInsertReferencePose",
                    "inputs": {"target_poses": ["5", 0], "reference_pose": ["2", 0], "position": 0}}
    prompt["31"] = {"class_type": "PoseGenRenderPoses",
                    "inputs": {"pose_keypoint": ["30", 0], "style": "openpose", "width": 256, "height": 256}}
    prompt["32"] = {"class_type": "PoseGenDropInsertedFrames",
                    "inputs": {"images": ["31", 0], "pose_keypoint": ["30", 0]}}
    prompt["33"] = {"class_type": "SaveImage", "inputs": {"images": ["32", 0], "filename_prefix": "posegen/dropped"}}
    result = comfy_server.run_ok(prompt)
    assert result.outputs["30"][PREVIEW][0]["inserted"] == [0]
    assert result.outputs["30"][PREVIEW][0]["frames"] == DRIVING_FRAMES + 1
    assert len(result.output_files("images", node_id="33")) == DRIVING_FRAMES


def test_reference_frame_select_picks_the_matching_frame(comfy_server, pose_prompt):
    prompt = copy.deepcopy(pose_prompt)
    # a "reference clip" of the rendered driving poses themselves; the target is frame 10 alone
    prompt["40"] = {"class_type": "PoseGenPoseSequence", "inputs": {
        **node_of_type(pose_prompt, "PoseGenPoseSequence")["inputs"], "pose_keypoint": ["3", 0], "start": 10,
        "end": 11, "smoothing": "off", "target_fps": 0.0}}
    prompt["41"] = {"class_type": "PoseGenRenderPoses",
                    "inputs": {"pose_keypoint": ["3", 0], "style": "openpose", "width": 0, "height": 0}}
    prompt["42"] = {"class_type": "PoseGenReferenceFrameSelect",
                    "inputs": {"reference_frames": ["41", 0], "reference_poses": ["3", 0], "target_poses": ["40", 0]}}
    prompt["43"] = {"class_type": "PreviewAny", "inputs": {"source": ["42", 2]}}
    result = comfy_server.run_ok(prompt)
    assert result.outputs["43"]["text"][0] == "10"


BAD_POSE_INPUTS = {
    "posegen style on an animal": ({"6": {"style": "posegen"}}, "ap10k", "PoseGenRenderPoses", "style"),
    "unknown pose file": ({"3": {"source": "not_there.json"}}, None, "PoseGenLoadPoses", "source"),
    "bad keyframes": ({"4": {"keyframes": "0, x"}}, None, "PoseGenPoseSequence", "keyframes"),
    "trim past the end": ({"4": {"start": 500}}, None, "PoseGenPoseSequence", "start"),
}


@pytest.mark.parametrize("case", sorted(BAD_POSE_INPUTS))
def test_bad_pose_inputs_name_the_input(comfy_server, comfy_base_dir, pose_prompt, case):
    changes, special, node_type, input_name = BAD_POSE_INPUTS[case]
    prompt = copy.deepcopy(pose_prompt)
    for node, inputs in changes.items():
        prompt[node]["inputs"].update(inputs)
    if special == "ap10k":
        animal = [{"version": "ap10k", "animals": [[[10.0 + k, 20.0 + k, 1.0] for k in range(17)]],
                   "canvas_width": 64, "canvas_height": 64}]
        (comfy_base_dir / "input" / "animal.json").write_text(json.dumps(animal))
        prompt["6"]["inputs"]["pose_keypoint"] = ["3", 0]
        prompt["3"]["inputs"]["source"] = "animal.json"
        del prompt["5"]  # render the animal directly
    result = comfy_server.run(prompt, timeout=600)
    assert result.status == "error", result.describe()
    assert result.error["node_type"] == node_type
    assert result.error["exception_message"].startswith(f"{input_name}: ")


def test_malformed_pose_file_is_a_clear_error(comfy_server, comfy_base_dir, pose_prompt):
    (comfy_base_dir / "input" / "broken_poses.json").write_text(json.dumps(
        [{"people": [{"pose_keypoints_2d": [1, 2, "x"]}], "canvas_width": 64, "canvas_height": -3}]))
    prompt = copy.deepcopy(pose_prompt)
    prompt["3"]["inputs"]["source"] = "broken_poses.json"
    result = comfy_server.run(prompt, timeout=600)
    assert result.status == "error"
    assert result.error["exception_message"].startswith("source: ")
