"""PoseAnything through the real server, on a tiny Wan 2.2-architecture DiT (with and without PTCM) and a random
Wan 2.2 VAE: the three example workflows (a four-legged animal from a mask video, sparse keyframes, camera
decoupling), what PTCM and the decoupled negative change, the guider on a PoseGen model, and bad inputs."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
import safetensors.torch
from PIL import Image

from devtools.comfy_server import PromptRejected, PromptResult

from .conftest import ANIMAL_FRAMES, ANIMAL_SIZE

REPO_ROOT = Path(__file__).resolve().parents[2]
TINY = REPO_ROOT / "tests" / "workflows"
MODEL, VAE, FIRST, MASKS, SKELETONS, COND, PARTS, GUIDER, SAMPLER = "1", "2", "6", "9", "10", "11", "12", "13", "17"


def _load(name: str) -> dict:
    return json.loads((TINY / f"{name}_tiny.api.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def animal() -> dict:
    return _load("poseanything_animal_from_masks")


def _latent_only(prompt: dict, tag: str) -> dict:
    """The prompt ending in SaveLatent (no decode: faster comparisons)."""
    prompt = copy.deepcopy(prompt)
    for node in ("18", "19", "20"):
        prompt.pop(node, None)
    prompt["90"] = {"class_type": "SaveLatent", "inputs": {"samples": [SAMPLER, 0], "filename_prefix": f"pa_{tag}"}}
    return prompt


def _latent(result: PromptResult):
    (path,) = result.output_files("latents", node_id="90")
    return safetensors.torch.load_file(str(path))["latent_tensor"]


def _images(result: PromptResult, node: str) -> np.ndarray:
    return np.stack([np.asarray(Image.open(f)) for f in sorted(result.output_files("images", node_id=node))])




def test_animal_from_masks_workflow_makes_a_video(comfy_server, animal):
    prompt = copy.deepcopy(animal)
    prompt["91"] = {"class_type": "SaveImage", "inputs": {"images": [SKELETONS, 0], "filename_prefix": "pa_skel"}}
    result = comfy_server.run_ok(prompt)
    videos = [f for kind in ("images", "video", "videos") for f in result.output_files(kind, node_id="20")]
    assert videos and videos[0].stat().st_size > 0
    skeletons = _images(result, "91")
    assert skeletons.shape == (ANIMAL_FRAMES, ANIMAL_SIZE[1], ANIMAL_SIZE[0], 3)
    assert set(np.unique(skeletons)) <= {0, 255}  # white lines on black, nothing in between
    assert 0.005 < (skeletons > 0).mean() < 0.3
    preview = _images(result, "21")
    assert preview.shape[0] == ANIMAL_FRAMES and preview.max() > 0  # part colours on the token grid
    steps = animal["16"]["inputs"]["steps"]
    assert result.progress[SAMPLER][-1] == (steps, steps)


def test_ptcm_changes_the_result_and_its_modes_differ(comfy_server, animal):
    with_parts = _latent(comfy_server.run_ok(_latent_only(animal, "ptcm")))
    fixed_prompt = _latent_only(animal, "ptcm_fixed")
    fixed_prompt[GUIDER]["inputs"]["ptcm_correspondence"] = "fixed"
    fixed = _latent(comfy_server.run_ok(fixed_prompt))
    plain_prompt = _latent_only(animal, "plain")
    del plain_prompt[GUIDER]["inputs"]["parts"]
    plain = _latent(comfy_server.run_ok(plain_prompt))
    assert with_parts.shape == plain.shape == (1, 48, 3, 4, 6)
    # frame 0 is the first frame's latent in every run; PTCM only acts on later frames
    assert np.allclose(with_parts[:, :, 0].numpy(), plain[:, :, 0].numpy(), atol=1e-5)
    assert (with_parts[:, :, 1:] - plain[:, :, 1:]).abs().max() > 1e-3
    assert fixed.shape == with_parts.shape and np.isfinite(fixed.numpy()).all()


def test_sparse_keyframes_workflow(comfy_server):
    prompt = _load("poseanything_sparse_keyframes")
    result = comfy_server.run_ok(prompt)
    skeletons = _images(result, "21")
    posed = [i for i in range(len(skeletons)) if skeletons[i].max() > 0]
    assert posed == [0, 4, 8]  # keyframes only; the rest are black
    assert [f for kind in ("images", "video", "videos") for f in result.output_files(kind, node_id="20")]


def test_camera_decoupling_changes_the_negative_branch(comfy_server):
    camera = _load("poseanything_camera_decoupling")
    panned = _latent(comfy_server.run_ok(_latent_only(camera, "pan")))
    static_prompt = _latent_only(camera, "static")
    static_prompt[GUIDER]["inputs"].update(camera_motion="none", camera_amount=0.0)
    static = _latent(comfy_server.run_ok(static_prompt))
    same_prompt = _latent_only(camera, "same")
    same_prompt[GUIDER]["inputs"].update(negative_pose="same as positive", camera_motion="none", camera_amount=0.0)
    same = _latent(comfy_server.run_ok(same_prompt))
    assert (panned[:, :, 1:] - static[:, :, 1:]).abs().max() > 1e-4  # the camera term reaches the result
    assert (static[:, :, 1:] - same[:, :, 1:]).abs().max() > 1e-4  # so does the static-pose negative


def test_guider_runs_a_posegen_model_with_a_static_pose_negative(comfy_server, tiny_prompt):
    prompt = copy.deepcopy(tiny_prompt)
    for node in ("15", "16", "17"):
        prompt.pop(node)
    prompt["90"] = {"class_type": "SaveLatent", "inputs": {"samples": ["14", 0], "filename_prefix": "pa_posegen"}}
    prompt["13"]["inputs"]["steps"] = 3
    plain = _latent(comfy_server.run_ok(prompt))
    prompt["11"] = {"class_type": "PoseAnythingGuider", "inputs": {
        "model": ["1", 0], "positive": ["9", 0], "negative": ["9", 1], "cfg": 5.0,
        "negative_pose": "static first frame", "camera_motion": "none", "camera_amount": 0.0,
        "ptcm_correspondence": "released", "ptcm_steps": 6}}
    decoupled = _latent(comfy_server.run_ok(prompt))
    assert decoupled.shape == plain.shape
    assert (decoupled - plain).abs().max() > 1e-4


@pytest.mark.parametrize(("node", "change", "input_name", "expected"), [
    (COND, {"skeleton_frames": [FIRST, 0]}, "skeleton_frames", "white"),
    (COND, {"posed_frames": "0,4,12"}, "posed_frames", "out of range"),
    (VAE, {"vae_name": "wan2.1_vae_tiny.safetensors"}, "vae", "Wan 2.2"),
    (MODEL, {"checkpoint": "poseanything-tiny-plain.safetensors"}, "parts", "PTCM"),
])
def test_bad_inputs_give_clear_errors_and_the_server_keeps_serving(comfy_server, animal, node, change, input_name,
                                                                   expected):
    prompt = _latent_only(animal, "bad")
    prompt[node]["inputs"].update(change)
    result = comfy_server.run(prompt)
    assert not result.ok and result.error is not None
    message = result.error["exception_message"]
    assert message.startswith(f"{input_name}: ") and expected in message, message
    assert comfy_server.object_info("PoseAnythingGuider")  # still serving


def test_a_missing_first_frame_is_rejected_before_running(comfy_server, animal):
    prompt = _latent_only(animal, "nofirst")
    del prompt[COND]["inputs"]["first_frame"]
    with pytest.raises(PromptRejected) as excinfo:
        comfy_server.run(prompt)
    assert "first_frame" in json.dumps(excinfo.value.node_errors)


def test_checkpoint_choices_come_from_models_poseanything(comfy_server):
    spec = comfy_server.object_info("LoadPoseAnythingModel")["LoadPoseAnythingModel"]["input"]["required"]
    choices = spec["checkpoint"]
    options = choices[0] if isinstance(choices[0], list) else choices[1]["options"]
    # the released layout is a folder of shards; its shards are not offered as checkpoints of their own
    assert {"poseanything-tiny", "poseanything-tiny-plain.safetensors"} <= set(options)
    assert not any("diffusion_pytorch_model-" in o for o in options)
    assert not any(o.startswith("posegen-tiny") for o in options)


@pytest.mark.parametrize("name", ["poseanything_animal_from_masks", "poseanything_camera_decoupling",
                                  "poseanything_sparse_keyframes"])
def test_tiny_twin_is_the_shipped_graph_with_stand_in_encoders(name):
    """The tests run the shipped workflows' graphs: only the text encoder (CLIPLoader + CLIPTextEncode) is swapped
    for the stand-in; sizes, steps and model files differ, node types and links do not."""
    real = json.loads((REPO_ROOT / "workflows" / f"{name}.api.json").read_text(encoding="utf-8"))
    tiny = _load(name)
    swap = {"CLIPTextEncode": "PoseGenStandInTextEncode"}
    assert {k: swap.get(v["class_type"], v["class_type"]) for k, v in real.items()
            if v["class_type"] != "CLIPLoader"} == {k: v["class_type"] for k, v in tiny.items()}

    def links(prompt: dict) -> set:
        return {(v[0], v[1], k, n) for k, node in prompt.items() for n, v in node["inputs"].items()
                if isinstance(v, list) and len(v) == 2 and isinstance(v[0], str) and n != "clip"}

    assert links(real) == links(tiny)


def test_convert_checkpoint_workflow_writes_one_loadable_file(comfy_server, comfy_models, animal):
    import safetensors

    convert = json.loads((REPO_ROOT / "workflows" / "poseanything_convert_checkpoint.api.json").read_text("utf-8"))
    convert["1"]["inputs"].update(checkpoint="poseanything-tiny", output_name="poseanything_tiny_converted")
    result = comfy_server.run_ok(convert)
    assert result.outputs["1"]["text"] == ["wrote models/poseanything/poseanything_tiny_converted.safetensors"]
    path = comfy_models / "poseanything" / "poseanything_tiny_converted.safetensors"
    with safetensors.safe_open(str(path), "pt") as f:
        assert json.loads(f.metadata()["poseanything_model_config"])["ptc_enabled"] is True
        assert any(".cross_attn_instance." in k for k in f.keys())
        assert str(f.get_tensor("patch_embedding.weight").dtype) == "torch.bfloat16"
    prompt = _latent_only(animal, "converted")
    prompt[MODEL]["inputs"]["checkpoint"] = path.name
    assert _latent(comfy_server.run_ok(prompt)).shape == (1, 48, 3, 4, 6)
    again = comfy_server.run(convert)  # not served from ComfyUI's cache: another prompt ran in between
    assert not again.ok and again.error["exception_message"].startswith("output_name: ")


def test_interrupt_during_the_ptcm_prepass(comfy_server, animal):
    """The pre-pass reports progress like the real run, and an interrupt there stops the prompt."""
    prompt = _latent_only(animal, "interrupted")
    prompt["16"]["inputs"]["steps"] = 400  # pre-pass of 5 steps, then 400 with PTCM in the first 6
    prompt["14"]["inputs"]["noise_seed"] = 7
    sent = []

    def interrupt_in_prepass(message) -> None:
        if message.type == "progress" and message.data.get("node") == SAMPLER and not sent:
            sent.append((message.data.get("value"), message.data.get("max")))
            comfy_server.interrupt()

    result = comfy_server.run(prompt, timeout=900, on_message=interrupt_in_prepass)
    assert result.status == "interrupted", result.describe()
    assert sent and sent[0][1] == 6  # the first progress is the pre-pass's (5 steps + the capture step)
    assert "90" not in result.outputs
    assert comfy_server.object_info("PoseAnythingGuider")
