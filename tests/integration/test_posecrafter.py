"""PoseCrafter's techniques through the real server: the long-video example with all three, the inverted reference
sampled back on its own with core nodes, the face/hand edit sampler in SamplerCustomAdvanced, and clear errors."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import numpy as np
import pytest
import safetensors.torch
from PIL import Image

from devtools.comfy_server import PromptResult

from .conftest import DRIVING_FRAMES

REPO_ROOT = Path(__file__).resolve().parents[2]
TINY = REPO_ROOT / "tests" / "workflows" / "posegen_posecrafter_long_video_tiny.api.json"
SAMPLER, INVERSION, EDIT, REF_CONDITIONING, SCHEDULE = "15", "23", "24", "21", "22"
OPTIONS, EDIT_SAMPLER = "28", "29"  # PoseCrafter Options (long video), Face/Hand Edit Sampler
SEGMENT = 17


@pytest.fixture(scope="module")
def prompt() -> dict:
    return json.loads(TINY.read_text(encoding="utf-8"))



def _save_frames(prompt: dict, source: list, tag: str) -> dict:
    prompt = copy.deepcopy(prompt)
    prompt["90"] = {"class_type": "SaveImage", "inputs": {"images": source, "filename_prefix": f"posecrafter_{tag}"}}
    return prompt


def _frames(result: PromptResult) -> np.ndarray:
    return np.stack([np.asarray(Image.open(f)) for f in sorted(result.output_files("images", node_id="90"))])


def _latent(result: PromptResult, node: str):
    (path,) = result.output_files("latents", node_id=node)
    return safetensors.torch.load_file(str(path))["latent_tensor"]


def test_long_video_with_all_three_techniques(comfy_server, prompt):
    result = comfy_server.run_ok(_save_frames(prompt, [SAMPLER, 0], "all"))
    frames = _frames(result)
    assert frames.shape == (DRIVING_FRAMES, 64, 64, 3)
    steps = prompt[SCHEDULE]["inputs"]["steps"]
    assert result.progress[INVERSION][-1] == (steps, steps)
    assert "to σ=1 over 4 steps" in result.outputs[INVERSION]["text"][0]
    report = result.outputs[SAMPLER]["text"][0]
    plans = report.split("face/hand edit, base segment ")[1:]
    assert len(plans) == 2  # 33 frames in segments of 17: two base segments
    # with the inserted reference pose every base clip has 21 frames = 6 latent frames, each edited or skipped
    for plan in plans:
        assert "on a 6x8x8 latent grid" in plan
        counts = {part: (int(done), int(skipped)) for part, done, skipped in
                  re.findall(r"(face|left_hand|right_hand): (\d+) frame\(s\) edited, (\d+) skipped", plan)}
        assert set(counts) == {"face", "left_hand", "right_hand"}
        assert all(done + skipped == 6 for done, skipped in counts.values())
        assert counts["face"][0] >= 5  # the face is visible in both poses in every driving frame
        assert "area touched per frame" in plan

    plain = copy.deepcopy(prompt)
    del plain[SAMPLER]["inputs"]["posecrafter"]
    plain["25"] = {"class_type": "KSamplerSelect", "inputs": {"sampler_name": "euler"}}
    plain[SAMPLER]["inputs"]["sampler"] = ["25", 0]
    for node in (INVERSION, EDIT, OPTIONS, EDIT_SAMPLER):
        del plain[node]
    baseline = _frames(comfy_server.run_ok(_save_frames(plain, [SAMPLER, 0], "plain")))
    assert baseline.shape == frames.shape
    assert np.abs(baseline.astype(int) - frames.astype(int)).max() > 10  # the techniques change the video


def _reference_round_trip(prompt: dict, steps: int, refine: int) -> dict:
    """Invert the reference latent (conditioned on its own pose) and sample it back with core nodes."""
    prompt = copy.deepcopy(prompt)
    prompt[SCHEDULE]["inputs"]["steps"] = steps
    prompt[INVERSION]["inputs"].update(refine=refine, length=1)
    keep = {"1", "3", "5", "6", "8", "9", "10", "20", REF_CONDITIONING, SCHEDULE, INVERSION}
    prompt = {k: v for k, v in prompt.items() if k in keep}
    prompt["30"] = {"class_type": "CFGGuider", "inputs": {"model": ["1", 0], "positive": [REF_CONDITIONING, 0],
                                                         "negative": [REF_CONDITIONING, 1], "cfg": 5.0}}
    prompt["31"] = {"class_type": "KSamplerSelect", "inputs": {"sampler_name": "euler"}}
    prompt["32"] = {"class_type": "SamplerCustomAdvanced", "inputs": {
        "noise": [INVERSION, 0], "guider": ["30", 0], "sampler": ["31", 0], "sigmas": [INVERSION, 1],
        "latent_image": [INVERSION, 2]}}
    prompt["33"] = {"class_type": "SaveLatent", "inputs": {"samples": ["32", 0], "filename_prefix": "roundtrip"}}
    prompt["34"] = {"class_type": "SaveLatent", "inputs": {"samples": [REF_CONDITIONING, 3],
                                                          "filename_prefix": "reference"}}
    return prompt


def test_inverted_reference_samples_back_to_the_reference_with_core_nodes(comfy_server, prompt):
    result = comfy_server.run_ok(_reference_round_trip(prompt, steps=25, refine=6))
    reference, back = _latent(result, "34"), _latent(result, "33")
    assert reference.shape == back.shape == (1, 16, 1, 8, 8)
    relative = float((back - reference).abs().max() / reference.abs().max())
    # measured 9.4e-5; `python -m bench.inversion_error --source workflow` gives the whole curve
    assert relative < 1e-3, relative
    coarse = comfy_server.run_ok(_reference_round_trip(prompt, steps=25, refine=0))
    coarse_relative = float((_latent(coarse, "33") - reference).abs().max() / reference.abs().max())
    assert coarse_relative > 10 * relative  # refinement is what makes the round trip exact


def _single_segment(prompt: dict, edit: bool) -> dict:
    """One 17-frame segment in SamplerCustomAdvanced from the inverted reference, with or without the edit."""
    prompt = {k: v for k, v in copy.deepcopy(prompt).items()
              if k not in (SAMPLER, "16", "17", "26", "27", OPTIONS, EDIT_SAMPLER)}
    prompt["40"] = {"class_type": "PoseGenPoseSequence", "inputs": {
        "pose_keypoint": ["13", 0], "person": "largest", "person_index": 0, "start": 0, "end": SEGMENT,
        "source_fps": 0.0, "target_fps": 0.0, "smoothing": "off", "length": 0, "pad_mode": "mirror",
        "keyframes": "", "keyframe_every": 0}}
    prompt["41"] = {"class_type": "PoseGenRenderPoses", "inputs": {"pose_keypoint": ["40", 0], "style": "posegen",
                                                                  "width": 0, "height": 0}}
    prompt["42"] = {"class_type": "PoseGenConditioning", "inputs": {
        **prompt[REF_CONDITIONING]["inputs"], "pose_frames": ["41", 0], "length": SEGMENT}}
    prompt["44"] = {"class_type": "CFGGuider", "inputs": {"model": ["1", 0], "positive": ["42", 0],
                                                         "negative": ["42", 1], "cfg": 5.0}}
    if edit:
        prompt["45"] = {"class_type": "PoseGenFaceHandEditSampler",
                        "inputs": {"face_hand_edit": [EDIT, 0], "target_poses": ["40", 0]}}
    else:
        prompt["45"] = {"class_type": "KSamplerSelect", "inputs": {"sampler_name": "euler"}}
    prompt["46"] = {"class_type": "SamplerCustomAdvanced", "inputs": {
        "noise": [INVERSION, 0], "guider": ["44", 0], "sampler": ["45", 0], "sigmas": [INVERSION, 1],
        "latent_image": ["42", 2]}}
    prompt["47"] = {"class_type": "VAEDecode", "inputs": {"samples": ["46", 0], "vae": ["3", 0]}}
    return _save_frames(prompt, ["47", 0], f"single_{'edit' if edit else 'plain'}")


def test_face_hand_edit_sampler_in_sampler_custom_advanced(comfy_server, prompt):
    edited = comfy_server.run_ok(_single_segment(prompt, edit=True))
    assert "latent edit plan on a 5x8x8 latent grid" in comfy_server.log_tail(200)
    plain = comfy_server.run_ok(_single_segment(prompt, edit=False))
    a, b = _frames(edited), _frames(plain)
    assert a.shape == b.shape == (SEGMENT, 64, 64, 3)
    assert np.abs(a.astype(int) - b.astype(int)).max() > 10


BAD = {  # case -> (node type, input named first, fragment)
    "schedule mismatch": ("PoseGenPoseCrafterOptions", "start_sigmas", "the noise was inverted over 4 steps"),
    "target poses shorter than the video": ("PoseGenLongVideoSampler", "target_poses", "shows driving frame"),
    "edit without the inverted reference": ("PoseGenLongVideoSampler", "face_hand_edit",
                                            "there is no reference in the latent to move"),
    "edit after the last step": ("PoseGenLongVideoSampler", "face_hand_edit", "edits at step 4 of a 4-step"),
    "inversion schedule ascending": ("PoseGenReferenceInversion", "sigmas", "strictly descending"),
    "no parts": ("PoseGenLatentFaceHandEdit", "parts", "none selected"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_posecrafter_inputs(comfy_server, prompt, case):
    prompt = copy.deepcopy(prompt)
    options = prompt[OPTIONS]["inputs"]
    if case == "schedule mismatch":
        prompt["91"] = {"class_type": "PoseGenScheduler", "inputs": {"steps": 6, "shift": 5.0, "denoise": 1.0}}
        options["start_sigmas"] = ["91", 0]
    elif case == "target poses shorter than the video":
        prompt["93"] = {"class_type": "PoseGenPoseSequence", "inputs": {
            "pose_keypoint": ["13", 0], "person": "largest", "person_index": 0, "start": 0, "end": 20,
            "source_fps": 0.0, "target_fps": 0.0, "smoothing": "off", "length": 0, "pad_mode": "mirror",
            "keyframes": "", "keyframe_every": 0}}
        prompt[EDIT_SAMPLER]["inputs"]["target_poses"] = ["93", 0]
    elif case == "edit without the inverted reference":
        del options["start_noise"]
    elif case == "edit after the last step":
        prompt[EDIT]["inputs"]["at_step"] = 4
    elif case == "inversion schedule ascending":
        prompt["92"] = {"class_type": "FlipSigmas", "inputs": {"sigmas": [SCHEDULE, 0]}}
        prompt[INVERSION]["inputs"]["sigmas"] = ["92", 0]
    elif case == "no parts":
        prompt[EDIT]["inputs"].update(face=False, left_hand=False, right_hand=False)
    result = comfy_server.run(prompt, timeout=1200)
    assert result.status == "error", result.describe()
    node_type, name, fragment = BAD[case]
    assert result.error["node_type"] == node_type
    message = result.error["exception_message"]
    assert message.startswith(f"{name}: ") and fragment in message, message
