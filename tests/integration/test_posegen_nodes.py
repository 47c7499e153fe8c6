"""PoseGen's nodes inside a real ComfyUI server, driven through /object_info, /prompt, the websocket,
/history and /interrupt, on tiny random models of the real architectures."""

from __future__ import annotations

import copy
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from devtools.comfy_server import ComfyServer, PromptResult
from devtools.prompts import node_of_type

from .conftest import SQUARE_REFERENCE

SAMPLER_NODE = "14"
CONDITIONING_NODE = "9"


def _with_frames(prompt: dict, tag: str, seed: int = 42) -> dict:
    """The example workflow plus a lossless SaveImage of the decoded frames."""
    prompt = copy.deepcopy(prompt)
    node_of_type(prompt, "RandomNoise")["inputs"]["noise_seed"] = seed
    node_of_type(prompt, "SaveVideo")["inputs"]["filename_prefix"] = f"posegen/video_{tag}"
    prompt["90"] = {"class_type": "SaveImage", "inputs": {"images": ["15", 0], "filename_prefix": f"frames_{tag}"}}
    return prompt


def _frames(result: PromptResult) -> np.ndarray:
    files = sorted(result.output_files("images", node_id="90"))
    return np.stack([np.asarray(Image.open(f)) for f in files])


def _video_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]



def _error(server: ComfyServer, prompt: dict) -> dict:
    result = server.run(prompt, timeout=900)
    assert result.status == "error", result.describe()
    return result.error


# --- /object_info -------------------------------------------------------------------------------------------

EXPECTED_INTERFACES = {
    "PoseGenNumerics": {
        "required": {"model": "MODEL", "numerics": "COMBO"},
        "optional": {},
        "output": ["MODEL"],
    },
    "LoadPoseGenModel": {
        "required": {"checkpoint": "COMBO", "variant": "COMBO", "weight_dtype": "COMBO"},
        "optional": {},
        "output": ["MODEL"],
    },
    "ConvertPoseGenCheckpoint": {
        "required": {"checkpoint": "COMBO", "variant": "COMBO", "output_name": "STRING", "dtype": "COMBO",
                     "overwrite": "BOOLEAN"},
        "optional": {},
        "output": ["STRING"],
    },
    "PoseGenConditioning": {
        "required": {"positive": "CONDITIONING", "negative": "CONDITIONING", "vae": "VAE",
                     "clip_vision_output": "CLIP_VISION_OUTPUT", "reference_image": "IMAGE", "pose_frames": "IMAGE",
                     "width": "INT", "height": "INT", "length": "INT"},
        "optional": {"hand_frames": "IMAGE", "missing_hands": "COMBO"},
        "output": ["CONDITIONING", "CONDITIONING", "LATENT", "LATENT"],
    },
    "PoseGenClipVisionEncode": {
        "required": {"clip_vision": "CLIP_VISION", "image": "IMAGE", "width": "INT", "height": "INT"},
        "optional": {},
        "output": ["CLIP_VISION_OUTPUT"],
    },
    "PoseGenTextEncode": {
        "required": {"clip": "CLIP", "text": "STRING", "subject_word": "STRING"},
        "optional": {},
        "output": ["CONDITIONING"],
    },
    "PoseGenLongVideoSampler": {
        "required": {"base_model": "MODEL", "cond_model": "MODEL", "positive": "CONDITIONING",
                     "negative": "CONDITIONING", "vae": "VAE", "clip_vision_output": "CLIP_VISION_OUTPUT",
                     "reference_image": "IMAGE", "sampler": "SAMPLER", "width": "INT",
                     "height": "INT", "seed": "INT", "steps": "INT", "cfg": "FLOAT"},
        "optional": {"pose_frames": "IMAGE", "driving_poses": "POSE_KEYPOINT", "hand_frames": "IMAGE",
                     "missing_hands": "COMBO", "layout": "POSEGEN_SEGMENT_LAYOUT",
                     "kv_sharing": "POSEGEN_KV_SHARING", "posecrafter": "POSEGEN_POSECRAFTER_OPTIONS",
                     "output": "POSEGEN_VIDEO_OUTPUT", "distributed": "POSEGEN_DISTRIBUTED"},
        "output": ["IMAGE", "STRING", "VIDEO"],
    },
    "PoseGenDistributed": {
        "required": {"cluster": "STRING", "workers": "INT", "gpus_per_worker": "FLOAT"},
        "optional": {},
        "output": ["POSEGEN_DISTRIBUTED"],
    },
    "PoseGenVideoOutput": {
        "required": {"filename_prefix": "STRING", "encoding": "COMBO", "fps": "FLOAT", "keep_run_folder": "BOOLEAN"},
        "optional": {},
        "output": ["POSEGEN_VIDEO_OUTPUT"],
    },
    "PoseGenRunFolders": {
        "required": {"action": "COMBO", "key": "STRING"},
        "optional": {},
        "output": ["STRING"],
    },
    "PoseGenSegmentLayout": {
        "required": {"segment_length": "INT", "head_overlap": "INT", "tail_overlap": "INT"},
        "optional": {},
        "output": ["POSEGEN_SEGMENT_LAYOUT"],
    },
    "PoseGenKVSharing": {
        "required": {"anchor_segment": "INT", "framing": "COMBO", "kv_steps": "INT", "kv_blocks": "INT",
                     "mask_mode": "COMBO"},
        "optional": {"pose_keypoint": "POSE_KEYPOINT", "masks": "MASK", "lockstep": "BOOLEAN",
                     "kv_storage": "COMBO"},
        "output": ["POSEGEN_KV_SHARING"],
    },
    "PoseGenPoseCrafterOptions": {
        "required": {},
        "optional": {"start_noise": "NOISE", "start_sigmas": "SIGMAS", "reference_pose_frame": "IMAGE"},
        "output": ["POSEGEN_POSECRAFTER_OPTIONS"],
    },
    "PoseGenLongVideoTransitionBlend": {
        "required": {"cond_model": "MODEL", "positive": "CONDITIONING", "negative": "CONDITIONING", "vae": "VAE",
                     "clip_vision_output": "CLIP_VISION_OUTPUT", "reference_image": "IMAGE", "frames_before": "IMAGE",
                     "frames_after": "IMAGE", "pose_frames": "IMAGE", "sampler": "SAMPLER", "width": "INT",
                     "height": "INT", "seed": "INT", "steps": "INT", "cfg": "FLOAT"},
        "optional": {"hand_frames": "IMAGE", "layout": "POSEGEN_SEGMENT_LAYOUT"},
        "output": ["IMAGE"],
    },
    # the replaced nodes keep their old inputs, all optional, so old graphs load and say what replaced them
    "PoseGenSegmentSampler": {
        "required": {},
        "optional": {"base_model": "MODEL", "cond_model": "MODEL", "positive": "CONDITIONING",
                     "negative": "CONDITIONING", "vae": "VAE", "clip_vision_output": "CLIP_VISION_OUTPUT",
                     "reference_image": "IMAGE", "pose_frames": "IMAGE", "width": "INT", "height": "INT", "seed": "INT",
                     "steps": "INT", "cfg": "FLOAT", "segment_length": "INT", "head_overlap": "INT",
                     "tail_overlap": "INT", "anchor_segment": "INT", "framing": "COMBO", "kv_steps": "INT",
                     "kv_blocks": "INT", "mask_mode": "COMBO", "hand_frames": "IMAGE",
                     "pose_keypoint": "POSE_KEYPOINT", "masks": "MASK", "missing_hands": "COMBO",
                     "start_noise": "NOISE", "start_sigmas": "SIGMAS", "reference_pose_frame": "IMAGE",
                     "face_hand_edit": "POSEGEN_FACE_HAND_EDIT"},
        "output": ["IMAGE", "STRING"],
    },
    "PoseGenTransitionBlend": {
        "required": {},
        "optional": {"cond_model": "MODEL", "positive": "CONDITIONING", "negative": "CONDITIONING", "vae": "VAE",
                     "clip_vision_output": "CLIP_VISION_OUTPUT", "reference_image": "IMAGE", "frames_before": "IMAGE",
                     "frames_after": "IMAGE", "pose_frames": "IMAGE", "width": "INT", "height": "INT", "seed": "INT",
                     "steps": "INT", "cfg": "FLOAT", "segment_length": "INT", "head_overlap": "INT",
                     "tail_overlap": "INT", "hand_frames": "IMAGE"},
        "output": ["IMAGE"],
    },
    "PoseGenScheduler": {
        "required": {"steps": "INT", "shift": "FLOAT", "denoise": "FLOAT"},
        "optional": {},
        "output": ["SIGMAS"],
    },
    "PoseGenReferenceInversion": {
        "required": {"model": "MODEL", "positive": "CONDITIONING", "negative": "CONDITIONING", "latent": "LATENT",
                     "sigmas": "SIGMAS", "cfg": "FLOAT", "method": "COMBO", "refine": "INT", "length": "INT"},
        "optional": {},
        "output": ["NOISE", "SIGMAS", "LATENT", "STRING"],
    },
    "PoseGenLatentFaceHandEdit": {
        "required": {"reference_pose": "POSE_KEYPOINT", "face": "BOOLEAN", "left_hand": "BOOLEAN",
                     "right_hand": "BOOLEAN", "min_confidence": "FLOAT", "robust": "BOOLEAN", "box_padding": "FLOAT",
                     "feather": "FLOAT", "at_step": "INT"},
        "optional": {},
        "output": ["POSEGEN_FACE_HAND_EDIT"],
    },
    "PoseGenFaceHandEditSampler": {
        "required": {"face_hand_edit": "POSEGEN_FACE_HAND_EDIT", "target_poses": "POSE_KEYPOINT"},
        "optional": {},
        "output": ["SAMPLER"],
    },
    "LoadPoseAnythingModel": {
        "required": {"checkpoint": "COMBO", "weight_dtype": "COMBO"},
        "optional": {},
        "output": ["MODEL"],
    },
    "ConvertPoseAnythingCheckpoint": {
        "required": {"checkpoint": "COMBO", "output_name": "STRING", "dtype": "COMBO", "overwrite": "BOOLEAN"},
        "optional": {},
        "output": ["STRING"],
    },
    "PoseAnythingConditioning": {
        "required": {"positive": "CONDITIONING", "negative": "CONDITIONING", "vae": "VAE", "first_frame": "IMAGE",
                     "skeleton_frames": "IMAGE", "posed_frames": "STRING", "length": "INT", "long_side": "INT"},
        "optional": {},
        "output": ["CONDITIONING", "CONDITIONING", "LATENT"],
    },
    "PoseAnythingPartMasks": {
        "required": {"positive": "CONDITIONING", "latent": "LATENT", "subject_mask": "MASK"},
        "optional": {},
        "output": ["POSEANYTHING_PARTS", "IMAGE", "INT"],
    },
    "PoseAnythingGuider": {
        "required": {"model": "MODEL", "positive": "CONDITIONING", "negative": "CONDITIONING", "cfg": "FLOAT",
                     "negative_pose": "COMBO", "camera_motion": "COMBO", "camera_amount": "FLOAT",
                     "ptcm_correspondence": "COMBO", "ptcm_steps": "INT"},
        "optional": {"parts": "POSEANYTHING_PARTS"},
        "output": ["GUIDER"],
    },
    "PoseAnythingSkeletonFromMasks": {
        "required": {"masks": "MASK", "min_branch_px": "INT", "branch_fraction": "FLOAT", "clean_kernel": "INT",
                     "smooth_epsilon": "FLOAT"},
        "optional": {},
        "output": ["IMAGE", "STRING"],
    },
}


def _input_type(spec: list) -> str:
    return "COMBO" if isinstance(spec[0], list) else spec[0]


@pytest.mark.parametrize("name", sorted(EXPECTED_INTERFACES))
def test_object_info_lists_the_node_with_its_inputs_and_outputs(comfy_server, name):
    info = comfy_server.object_info(name)[name]
    want = EXPECTED_INTERFACES[name]
    assert info["description"]
    for section in ("required", "optional"):
        got = {k: _input_type(v) for k, v in info["input"].get(section, {}).items()}
        assert got == want[section], section
        for spec in info["input"].get(section, {}).values():
            assert len(spec) > 1 and spec[1].get("tooltip"), f"{name}: every input explains itself"
    assert info["output"] == want["output"]
    assert info["output_node"] == (name in ("ConvertPoseGenCheckpoint", "ConvertPoseAnythingCheckpoint",
                                            "PoseGenLongVideoSampler", "PoseGenRunFolders"))  # they write files
    assert info["category"].split("/")[0] == "PoseGen"  # PoseGen, or a sub-menu of it


def _checkpoint_choices(server: ComfyServer) -> list[str]:
    choices = server.object_info("LoadPoseGenModel")["LoadPoseGenModel"]["input"]["required"]["checkpoint"]
    return choices[0] if isinstance(choices[0], list) else choices[1]["options"]


def test_checkpoint_choices_come_from_models_posegen(comfy_server):
    options = _checkpoint_choices(comfy_server)
    assert {"posegen-tiny-base", "posegen-tiny-cond", "wan2.1_t2v_tiny.safetensors"} <= set(options)
    assert not any(o.endswith(".bin") for o in options)


# --- the example workflow -------------------------------------------------------------------------------------

def test_example_workflow_makes_the_requested_video(comfy_server, tiny_prompt):
    result = comfy_server.run_ok(_with_frames(tiny_prompt, "a"))
    conditioning = node_of_type(tiny_prompt, "PoseGenConditioning")["inputs"]
    length, width, height = conditioning["length"], conditioning["width"], conditioning["height"]
    steps = node_of_type(tiny_prompt, "PoseGenScheduler")["inputs"]["steps"]

    frames = _frames(result)
    assert frames.shape == (length, height, width, 3)
    assert frames.std() > 0  # noise from random weights, but not a blank image
    videos = result.output_files("images", node_id="17")
    assert len(videos) == 1 and videos[0].suffix == ".mp4"
    decoded = _video_frames(videos[0])
    assert len(decoded) == length and decoded[0].shape == (height, width, 3)

    assert result.progress[SAMPLER_NODE][-1] == (steps, steps)  # one ProgressBar tick per sampling step
    assert len(result.progress[SAMPLER_NODE]) == steps
    assert result.previews.get(SAMPLER_NODE, 0) > 0  # latent previews while sampling
    assert result.message_types.index("execution_start") == 0


def test_fixed_seed_gives_identical_frames(comfy_server, tiny_prompt):
    first = _frames(comfy_server.run_ok(_with_frames(tiny_prompt, "seed42", seed=42)))
    other = _frames(comfy_server.run_ok(_with_frames(tiny_prompt, "seed7", seed=7)))
    again_result = comfy_server.run_ok(_with_frames(tiny_prompt, "seed42b", seed=42))
    assert SAMPLER_NODE in again_result.executed_nodes  # really sampled again, not served from the cache
    assert np.array_equal(first, _frames(again_result))
    assert not np.array_equal(first, other)


# --- bad inputs -------------------------------------------------------------------------------------------------

def _bad(prompt: dict, case: str) -> dict:
    prompt = copy.deepcopy(prompt)
    loader = node_of_type(prompt, "LoadPoseGenModel")["inputs"]
    conditioning = node_of_type(prompt, "PoseGenConditioning")["inputs"]
    if case == "t2v_folder":
        loader["checkpoint"] = "broken-t2v-base"
    elif case == "t2v_file":
        loader["checkpoint"] = "wan2.1_t2v_tiny.safetensors"
    elif case == "wrong_variant":
        loader.update(checkpoint="posegen-tiny-cond", variant="base")
    elif case == "missing_shard":
        loader["checkpoint"] = "broken-missing-shard-base"
    elif case == "corrupt_shard":
        loader["checkpoint"] = "broken-corrupt-shard-base"
    elif case == "pose_count":
        conditioning["length"] = conditioning["length"] + 4
    elif case == "pose_size":
        node_of_type(prompt, "LoadImage")["inputs"]["image"] = SQUARE_REFERENCE
    elif case == "length_not_4k_plus_1":
        conditioning["length"] = conditioning["length"] + 1
    elif case == "empty_pose_batch":
        prompt["91"] = {"class_type": "PoseGenStandInImageSlice",
                        "inputs": {"image": conditioning["pose_frames"], "start": 0, "count": 0}}
        conditioning["pose_frames"] = ["91", 0]
    return prompt


BAD_INPUTS = {  # case -> (node that fails, input the message names first, what it says)
    "t2v_folder": ("LoadPoseGenModel", "checkpoint", "this is a text-to-video (T2V) Wan model"),
    "t2v_file": ("LoadPoseGenModel", "checkpoint", "'wan2.1_t2v_tiny.safetensors' is a plain Wan2.1 text-to-video"),
    "wrong_variant": ("LoadPoseGenModel", "variant", "'base' was requested but the checkpoint is the 'cond' variant"),
    "missing_shard": ("LoadPoseGenModel", "checkpoint", "(a shard may be missing)"),
    "corrupt_shard": ("LoadPoseGenModel", "checkpoint", "'pytorch_model-00002-of-00002.bin' could not be read"),
    "pose_count": ("PoseGenConditioning", "pose_frames", "17 frames but the segment length is 21"),
    "pose_size": ("PoseGenConditioning", "pose_frames", "frames are 64x112 px but reference_image is 64x64 px"),
    "length_not_4k_plus_1": ("PoseGenConditioning", "length", "18 frames. Expected 4k+1 frames"),
    "empty_pose_batch": ("PoseGenConditioning", "pose_frames", "the batch is empty"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_gives_a_clear_error_naming_the_input(comfy_server, tiny_prompt, case):
    node_type, input_name, fragment = BAD_INPUTS[case]
    error = _error(comfy_server, _bad(tiny_prompt, case))
    assert error["node_type"] == node_type
    assert error["exception_message"].startswith(f"{input_name}: ")
    assert fragment in error["exception_message"]


def test_server_keeps_serving_after_errors(comfy_server, tiny_prompt):
    for case in ("corrupt_shard", "pose_size"):
        _error(comfy_server, _bad(tiny_prompt, case))
    result = comfy_server.run_ok(_with_frames(tiny_prompt, "after_errors", seed=1234))
    assert len(_frames(result)) == node_of_type(tiny_prompt, "PoseGenConditioning")["inputs"]["length"]


# --- conversion -----------------------------------------------------------------------------------------------

def _convert_prompt(output_name: str, overwrite: bool = False) -> dict:
    return {"1": {"class_type": "ConvertPoseGenCheckpoint",
                  "inputs": {"checkpoint": "posegen-tiny-base", "variant": "auto", "output_name": output_name,
                             "dtype": "keep", "overwrite": overwrite}}}


def test_converted_checkpoint_loads_and_gives_the_same_video(comfy_server, comfy_models, tiny_prompt):
    result = comfy_server.run_ok(_convert_prompt("posegen_tiny_converted"))
    converted = comfy_models / "posegen" / "posegen_tiny_converted.safetensors"
    assert converted.is_file() and result.outputs["1"]["text"] == ["wrote models/posegen/" + converted.name]
    assert converted.name in _checkpoint_choices(comfy_server)

    from_folder = _frames(comfy_server.run_ok(_with_frames(tiny_prompt, "folder", seed=5)))
    prompt = _with_frames(tiny_prompt, "converted", seed=5)
    node_of_type(prompt, "LoadPoseGenModel")["inputs"]["checkpoint"] = converted.name
    assert np.array_equal(from_folder, _frames(comfy_server.run_ok(prompt)))

    error = _error(comfy_server, _convert_prompt("posegen_tiny_converted"))
    assert error["exception_message"].startswith("output_name: 'posegen_tiny_converted.safetensors' already exists")


# --- interruption -----------------------------------------------------------------------------------------------

def test_interrupt_stops_sampling_and_the_server_carries_on(comfy_server, tiny_prompt):
    prompt = _with_frames(tiny_prompt, "interrupted", seed=99)
    node_of_type(prompt, "PoseGenScheduler")["inputs"]["steps"] = 500
    sent = []

    def interrupt_once_sampling(message) -> None:
        if message.type == "progress" and message.data.get("node") == SAMPLER_NODE and not sent:
            sent.append(comfy_server.interrupt())

    result = comfy_server.run(prompt, timeout=900, on_message=interrupt_once_sampling)
    assert result.status == "interrupted", result.describe()
    assert sent and max(v for v, _ in result.progress[SAMPLER_NODE]) < 500
    assert "90" not in result.outputs
    assert comfy_server.run_ok(_with_frames(tiny_prompt, "after_interrupt", seed=100)).ok


def test_core_ksampler_samples_the_posegen_model(comfy_server, tiny_prompt):
    """A normal MODEL: plain KSampler (euler, simple, 25 steps, cfg 5) gives PoseGen's schedule on it, so the
    frames match the SamplerCustomAdvanced + PoseGenScheduler graph up to float rounding."""
    custom = _frames(comfy_server.run_ok(_with_frames(tiny_prompt, "custom", seed=11)))
    prompt = _with_frames(tiny_prompt, "ksampler", seed=11)
    for node_id in ("10", "11", "12", "13"):
        del prompt[node_id]
    prompt[SAMPLER_NODE] = {"class_type": "KSampler", "inputs": {
        "model": ["1", 0], "seed": 11, "steps": 25, "cfg": 5.0, "sampler_name": "euler", "scheduler": "simple",
        "positive": [CONDITIONING_NODE, 0], "negative": [CONDITIONING_NODE, 1], "latent_image": [CONDITIONING_NODE, 2],
        "denoise": 1.0}}
    result = comfy_server.run_ok(prompt)
    frames = _frames(result)
    assert len(result.progress[SAMPLER_NODE]) == 25
    assert np.abs(frames.astype(int) - custom.astype(int)).max() <= 2


# --- numerics -----------------------------------------------------------------------------------------------------

def _with_numerics(prompt: dict, tag: str, numerics: str, model: list | None = None) -> dict:
    """The example workflow with PoseGen Numerics between the loader and everything that reads its MODEL."""
    prompt = _with_frames(prompt, tag, seed=21)
    loader = next(node_id for node_id, node in prompt.items() if node["class_type"] == "LoadPoseGenModel")
    for node in prompt.values():
        for name, value in node["inputs"].items():
            if value == [loader, 0]:
                node["inputs"][name] = ["96", 0]
    prompt["96"] = {"class_type": "PoseGenNumerics", "inputs": {"model": model or [loader, 0], "numerics": numerics}}
    return prompt


def test_numerics_node_switches_between_comfyui_and_reference_numerics(comfy_server, tiny_prompt):
    plain = _frames(comfy_server.run_ok(_with_frames(tiny_prompt, "numerics_plain", seed=21)))
    native = _frames(comfy_server.run_ok(_with_numerics(tiny_prompt, "numerics_native", "native")))
    reference_result = comfy_server.run_ok(_with_numerics(tiny_prompt, "numerics_reference", "reference"))
    assert "96" in reference_result.executed_nodes
    reference = _frames(reference_result)
    assert np.array_equal(plain, native)  # native is what a MODEL runs without the node
    assert np.abs(reference.astype(int) - native.astype(int)).max() <= 2  # rounding, not another model


def test_numerics_node_refuses_what_it_cannot_apply(comfy_server, tiny_prompt):
    error = _error(comfy_server, _with_numerics(tiny_prompt, "numerics_bad", "float16"))
    assert error["node_type"] == "PoseGenNumerics"
    assert error["exception_message"].startswith("numerics: 'float16' is unknown") and "native, reference" in \
        error["exception_message"]


def test_a_checkpoint_linked_in_from_another_disk_loads(comfy_server, comfy_models, tiny_prompt, tmp_path):
    import shutil

    other_disk = tmp_path / "other_disk" / "posegen-tiny-base"
    shutil.copytree(comfy_models / "posegen" / "posegen-tiny-base", other_disk)
    link = comfy_models / "posegen" / "posegen-linked-base"
    link.symlink_to(other_disk, target_is_directory=True)
    assert link.name in _checkpoint_choices(comfy_server)
    direct = _frames(comfy_server.run_ok(_with_frames(tiny_prompt, "direct", seed=31)))
    prompt = _with_frames(tiny_prompt, "linked", seed=31)
    node_of_type(prompt, "LoadPoseGenModel")["inputs"]["checkpoint"] = link.name
    assert np.array_equal(direct, _frames(comfy_server.run_ok(prompt)))


# --- IMAGE values -------------------------------------------------------------------------------------------------

CORRUPT_IMAGES = {  # fault -> what the error says
    "nan": "holds NaN or infinite values",
    "inf": "holds NaN or infinite values",
    "times_255": "They look like 8-bit values",
    "times_7": "values run from",
    "alpha_channel": "frames have 4 channels (RGBA",
}


@pytest.mark.parametrize("fault", sorted(CORRUPT_IMAGES))
@pytest.mark.parametrize("input_name", ["reference_image", "pose_frames"])
def test_broken_image_values_are_refused_naming_the_input(comfy_server, tiny_prompt, fault, input_name):
    prompt = copy.deepcopy(tiny_prompt)
    conditioning = node_of_type(prompt, "PoseGenConditioning")["inputs"]
    prompt["98"] = {"class_type": "PoseGenStandInImageCorrupt",
                    "inputs": {"image": conditioning[input_name], "fault": fault}}
    conditioning[input_name] = ["98", 0]
    error = _error(comfy_server, prompt)
    assert error["node_type"] == "PoseGenConditioning"
    message = error["exception_message"]
    assert message.startswith(f"{input_name}: ") and CORRUPT_IMAGES[fault] in message, message
