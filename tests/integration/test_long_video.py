"""A long video through the real server: keypoints -> retarget -> render -> Segment Sampler with its option nodes
(5 base segments with KV sharing, transitions, merge) on tiny models; determinism, interruption, clear errors that
name the node input to fix, and old graphs of the replaced nodes that say what replaced what."""

from __future__ import annotations

import copy
import gc
import json
from pathlib import Path

import numpy as np
import psutil
import pytest
from PIL import Image

from devtools.comfy_server import ComfyServer, PromptResult
from devtools.prompts import node_of_type

from .conftest import SQUARE_REFERENCE

REPO_ROOT = Path(__file__).resolve().parents[2]
TINY_LONG = REPO_ROOT / "tests" / "workflows" / "posegen_long_video_tiny.api.json"
# the tiny PoseCrafter long video as saved before the option nodes (old PoseGenSegmentSampler with 29 inputs)
OLD_FORMAT = REPO_ROOT / "tests" / "workflows" / "replaced" / "posegen_posecrafter_long_video_tiny.api.json"
SAMPLER, EULER, LAYOUT, KV = "15", "25", "26", "27"
FRAMES = 110  # with segments of 17 (overlaps 5 and 4): 9 chunks, 5 of them base segments


@pytest.fixture(scope="module")
def long_prompt() -> dict:
    prompt = json.loads(TINY_LONG.read_text(encoding="utf-8"))
    node_of_type(prompt, "PoseGenPoseSequence")["inputs"]["length"] = FRAMES  # mirror-pad the 33 driving frames
    return prompt


def _with_frames(prompt: dict, tag: str, seed: int) -> dict:
    prompt = copy.deepcopy(prompt)
    prompt[SAMPLER]["inputs"]["seed"] = seed
    prompt["90"] = {"class_type": "SaveImage", "inputs": {"images": [SAMPLER, 0], "filename_prefix": f"long_{tag}"}}
    return prompt


def _frames(result: PromptResult) -> np.ndarray:
    return np.stack([np.asarray(Image.open(f)) for f in sorted(result.output_files("images", node_id="90"))])



def test_long_video_has_the_driving_length(comfy_server, long_prompt):
    result = comfy_server.run_ok(_with_frames(long_prompt, "a", 42))
    frames = _frames(result)
    assert frames.shape == (FRAMES, 64, 64, 3)
    report = result.outputs[SAMPLER]["text"][0]
    assert "9 chunks (5 base, 4 transition)" in report and "anchor K/V" in report
    steps = long_prompt[SAMPLER]["inputs"]["steps"]
    assert result.progress[SAMPLER][-1] == (9 * steps, 9 * steps)  # one bar over all segments and steps
    assert result.previews.get(SAMPLER, 0) > 0
    video = result.output_files("images", node_id=SAMPLER)  # the sampler's own file (PoseGen Video Output)
    assert len(video) == 1 and video[0].suffix == ".mp4"


def test_long_video_is_identical_for_a_fixed_seed(comfy_server, long_prompt):
    first = _frames(comfy_server.run_ok(_with_frames(long_prompt, "s42", 42)))
    other = _frames(comfy_server.run_ok(_with_frames(long_prompt, "s7", 7)))
    again = comfy_server.run_ok(_with_frames(long_prompt, "s42b", 42))
    assert SAMPLER in again.executed_nodes
    assert np.array_equal(first, _frames(again)) and not np.array_equal(first, other)


def test_driving_poses_drawn_per_chunk_give_the_rendered_frames_video(comfy_server, long_prompt):
    """POSE_KEYPOINT straight into the sampler (drawn chunk by chunk) = the same poses through Render Poses."""
    rendered = _frames(comfy_server.run_ok(_with_frames(long_prompt, "rendered", 11)))
    prompt = _with_frames(long_prompt, "keypoints", 11)
    del prompt[SAMPLER]["inputs"]["pose_frames"]
    prompt[SAMPLER]["inputs"]["driving_poses"] = ["13", 0]
    drawn = comfy_server.run_ok(prompt)
    assert "14" not in drawn.executed_nodes  # no Render Poses: no frame batch of the whole video
    assert np.array_equal(rendered, _frames(drawn))


def _server_rss(server: ComfyServer) -> int:
    gc.collect()
    return psutil.Process(server.process.pid).memory_info().rss


def test_interrupt_mid_segment_leaves_the_server_healthy(comfy_server, long_prompt):
    comfy_server.run_ok(_with_frames(long_prompt, "warm", 5))  # models loaded, caches warm
    baseline = _server_rss(comfy_server)
    prompt = _with_frames(long_prompt, "interrupted", 6)
    prompt[SAMPLER]["inputs"]["steps"] = 40
    sent = []

    def interrupt_in_the_second_segment(message) -> None:
        if (message.type == "progress" and message.data.get("node") == SAMPLER and not sent
                and message.data.get("value", 0) > 45):
            sent.append(comfy_server.interrupt())

    result = comfy_server.run(prompt, timeout=1200, on_message=interrupt_in_the_second_segment)
    assert result.status == "interrupted", result.describe()
    assert "90" not in result.outputs and SAMPLER not in result.outputs  # nothing that looks complete
    after = _server_rss(comfy_server)
    assert after < baseline * 1.25 + 300 * 2**20, (baseline, after)
    assert comfy_server.run_ok(_with_frames(long_prompt, "after", 8)).ok


BAD = {  # case -> (node type, node input the message names first, fragment)
    "pose shorter than one segment": ("PoseGenLongVideoSampler", "pose_frames", "shorter than one segment"),
    "zero frames": ("PoseGenLongVideoSampler", "pose_frames", "the batch is empty"),
    "mismatched sizes": ("PoseGenLongVideoSampler", "pose_frames", "but reference_image is"),
    "keyword missing": ("PoseGenLongVideoSampler", "positive", "no subject-word token positions"),
    "anchor out of range": ("PoseGenLongVideoSampler", "anchor_segment", "does not exist"),
    "kv blocks include block 0": ("PoseGenLongVideoSampler", "kv_blocks", "include block 0"),
    "head overlap not 4a+1": ("PoseGenSegmentLayout", "head_overlap", "4a+1 frames"),
    "pose masks without poses": ("PoseGenKVSharing", "pose_keypoint", "needs the driving poses"),
    "user masks without masks": ("PoseGenKVSharing", "masks", "needs a MASK batch"),
    "pose frames and driving poses": ("PoseGenLongVideoSampler", "pose_frames", "both pose_frames and driving_poses"),
    "no driving video": ("PoseGenLongVideoSampler", "pose_frames", "neither pose_frames nor driving_poses"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_long_video_inputs(comfy_server, long_prompt, case):
    prompt = copy.deepcopy(long_prompt)
    sampler, kv = prompt[SAMPLER]["inputs"], prompt[KV]["inputs"]
    if case == "pose shorter than one segment":
        node_of_type(prompt, "PoseGenPoseSequence")["inputs"].update(length=10)
    elif case == "zero frames":
        prompt["91"] = {"class_type": "PoseGenStandInImageSlice",
                        "inputs": {"image": sampler["pose_frames"], "start": 0, "count": 0}}
        sampler["pose_frames"] = ["91", 0]
    elif case == "mismatched sizes":
        # the sampler's reference is another picture (64x64) than the one the poses were retargeted onto (512x512)
        prompt["92"] = {"class_type": "LoadImage", "inputs": {"image": SQUARE_REFERENCE}}
        sampler["reference_image"] = ["92", 0]
    elif case == "keyword missing":
        prompt["5"]["inputs"]["text"] = "A person in a white space suit waves."
    elif case == "anchor out of range":
        kv["anchor_segment"] = 9
    elif case == "kv blocks include block 0":
        kv["kv_blocks"] = 1000
    elif case == "head overlap not 4a+1":
        prompt[LAYOUT]["inputs"]["head_overlap"] = 7  # 4k+1 steps in the widget, so 4 + 3 only through the API
    elif case == "pose masks without poses":
        kv["mask_mode"] = "pose"
        del kv["pose_keypoint"]
    elif case == "user masks without masks":
        kv["mask_mode"] = "user"
    elif case == "pose frames and driving poses":
        sampler["driving_poses"] = ["13", 0]
    elif case == "no driving video":
        del sampler["pose_frames"]
    result = comfy_server.run(prompt, timeout=1200)
    assert result.status == "error", result.describe()
    node_type, name, fragment = BAD[case]
    assert result.error["node_type"] == node_type
    message = result.error["exception_message"]
    assert message.startswith(f"{name}: ") and fragment in message, message


def test_unconnected_options_are_posegens_defaults(comfy_server, long_prompt):
    """Without a layout node the sampler cuts PoseGen's segments (81 / 21 / 20): 81 frames are one base segment.
    Without a KV Sharing node it shares as PoseGen does (half-body: the last 6 blocks, attention masks), which the
    2-block tiny model cannot."""
    prompt = _with_frames(long_prompt, "defaults", 42)
    del prompt[SAMPLER]["inputs"]["layout"], prompt[LAYOUT]
    prompt["98"] = {"class_type": "PoseGenStandInImageSlice", "inputs": {"image": ["14", 0], "start": 0, "count": 81}}
    prompt[SAMPLER]["inputs"]["pose_frames"] = ["98", 0]
    result = comfy_server.run_ok(prompt)
    report = result.outputs[SAMPLER]["text"][0]
    assert "segments of 81 frames (head overlap 21, tail overlap 20)" in report
    assert "1 chunks (1 base, 0 transition)" in report and _frames(result).shape == (81, 64, 64, 3)
    del prompt[SAMPLER]["inputs"]["kv_sharing"], prompt[KV]
    result = comfy_server.run(prompt, timeout=1200)
    assert result.status == "error", result.describe()
    assert result.error["exception_message"].startswith("kv_blocks: 6 of the model's 2 blocks include block 0, "
                                                        "which cannot share when masks come from cross-attention")


def _blend(sampler: dict, before: list, after: list, poses: list) -> dict:
    """Transition Blend with the sampler's conditioning and its layout and SAMPLER nodes."""
    return {"class_type": "PoseGenLongVideoTransitionBlend", "inputs": {
        "cond_model": sampler["cond_model"], "positive": sampler["positive"], "negative": sampler["negative"],
        "vae": sampler["vae"], "clip_vision_output": sampler["clip_vision_output"],
        "reference_image": sampler["reference_image"], "frames_before": before, "frames_after": after,
        "pose_frames": poses, "sampler": [EULER, 0], "width": 64, "height": 64, "seed": 42, "steps": 4, "cfg": 5.0,
        "layout": [LAYOUT, 0]}}


def test_transition_blend_joins_two_frame_batches(comfy_server, long_prompt):
    """Transition Blend on any two batches: here the first and last 20 frames of a long video."""
    prompt = _with_frames(long_prompt, "blend_src", 42)
    slices = {"93": (SAMPLER, 0, 20), "94": (SAMPLER, FRAMES - 20, 20), "95": ("14", 30, 17)}
    for node, (source, start, count) in slices.items():
        prompt[node] = {"class_type": "PoseGenStandInImageSlice",
                        "inputs": {"image": [source, 0], "start": start, "count": count}}
    prompt["96"] = _blend(prompt[SAMPLER]["inputs"], ["93", 0], ["94", 0], ["95", 0])
    prompt["97"] = {"class_type": "SaveImage", "inputs": {"images": ["96", 0], "filename_prefix": "blend"}}
    result = comfy_server.run_ok(prompt)
    video = _frames(result)
    blended = np.stack([np.asarray(Image.open(f)) for f in sorted(result.output_files("images", node_id="97"))])
    assert blended.shape[0] == 20 + 17 + 20 - 5 - 4
    assert np.array_equal(blended[:15], video[:15])  # before's frames ahead of the seam are untouched
    assert np.array_equal(blended[-16:], video[-16:])  # after's frames past the seam too


# --- graphs saved before the option nodes -------------------------------------------------------------------------


def _replaced_error(comfy_server, prompt: dict, node: str) -> str:
    """The message an old node's run ends with, from the websocket and from /history alike."""
    result = comfy_server.run(prompt, timeout=1200)
    assert result.status == "error", result.describe()
    assert result.error["node_id"] == node and result.error["exception_type"].endswith("PoseGenInputError")
    assert not set(result.executed_nodes) & {"1", "2", "3", "14", "23"}  # no model, frames or inversion made
    history = [m for m in result.history["status"]["messages"] if m[0] == "execution_error"]
    assert history and history[0][1]["exception_message"] == result.error["exception_message"]
    return result.error["exception_message"]


def test_an_old_segment_sampler_graph_says_what_replaced_what(comfy_server, long_prompt):
    old = json.loads(OLD_FORMAT.read_text(encoding="utf-8"))
    assert old[SAMPLER]["class_type"] == "PoseGenSegmentSampler" and len(old[SAMPLER]["inputs"]) == 26
    message = _replaced_error(comfy_server, old, SAMPLER)
    assert message.startswith("segment_length: PoseGenSegmentSampler was replaced by PoseGenLongVideoSampler")
    for moved in ("segment_length, head_overlap, tail_overlap -> PoseGen Segment Layout, into 'layout'",
                  "anchor_segment, framing, kv_steps, kv_blocks, mask_mode, masks, pose_keypoint -> PoseGen KV Sharing",
                  "start_noise, start_sigmas, reference_pose_frame -> PoseCrafter Options (long video)",
                  "face_hand_edit -> Face/Hand Edit Sampler", "KSamplerSelect euler", "docs/long-video.md"):
        assert moved in message, message
    info = comfy_server.object_info("PoseGenSegmentSampler")["PoseGenSegmentSampler"]
    assert info["deprecated"] and not info["input"].get("required")
    assert comfy_server.run_ok(_with_frames(long_prompt, "after_old", 42)).ok  # the server goes on serving


def test_an_old_transition_blend_graph_says_what_replaced_what(comfy_server, long_prompt):
    prompt = copy.deepcopy(long_prompt)
    blend = _blend(prompt[SAMPLER]["inputs"], ["14", 0], ["14", 0], ["14", 0])["inputs"]
    for name in ("sampler", "layout"):
        del blend[name]
    blend.update(segment_length=17, head_overlap=5, tail_overlap=4)
    prompt["96"] = {"class_type": "PoseGenTransitionBlend", "inputs": blend}
    prompt["97"] = {"class_type": "SaveImage", "inputs": {"images": ["96", 0], "filename_prefix": "old_blend"}}
    del prompt["16"], prompt[SAMPLER]  # only the old node runs (the sampler is an output node)
    message = _replaced_error(comfy_server, prompt, "96")
    assert message.startswith("segment_length: PoseGenTransitionBlend was replaced by "
                              "PoseGenLongVideoTransitionBlend"), message
    assert "PoseGen Segment Layout, into 'layout'" in message and "KSamplerSelect euler" in message
