"""Fixtures that run one real ComfyUI server for the whole integration session.

Order of events: ``comfy_base_dir`` (base dir with custom-node links) -> ``comfy_models`` (model files are
put in place) -> ``comfy_server`` (the server starts and sees them). To provide models, override
``comfy_models`` in a conftest or extend it here: copy/link files under ``comfy_base_dir / "models"``
(subfolders: diffusion_models, vae, clip_vision, text_encoders, posegen) and return that path.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.comfy_server import ComfyServer, ComfyServerError, comfyui_path_from_env, prepare_base_dir

REPO_ROOT = Path(__file__).resolve().parents[2]
STAND_INS_DIR = REPO_ROOT / "devtools" / "comfy_stand_ins"
# Names of the custom-node links inside the server's custom_nodes/ folder.
PACK_LINK_NAME = "posegen_comfyui"
STAND_INS_LINK_NAME = "posegen_stand_ins"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "integration: runs against a real ComfyUI server (slow start, ~10 s)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def comfy_base_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh ComfyUI base directory with the pack and the stand-in nodes linked into custom_nodes/."""
    return prepare_base_dir(
        tmp_path_factory.mktemp("comfy_base"),
        {PACK_LINK_NAME: REPO_ROOT, STAND_INS_LINK_NAME: STAND_INS_DIR},
    )


TINY_WORKFLOW = REPO_ROOT / "tests" / "workflows" / "posegen_single_segment_tiny.api.json"
# A reference of another size than the pose frames, for the mismatch error.
SQUARE_REFERENCE = "posegen_square_reference.png"
# Inputs of the pose example workflow (workflows/posegen_pose_retarget_render.api.json)
POSE_REFERENCE = "reference.png"
DRIVING_POSES = "driving_poses.json"
DRIVING_POSES_FACE_HANDS = "driving_poses_face_hands.json"  # the same figure with DWPose's face and hands
DRIVING_FRAMES = 33
# PoseAnything's animal example: a 9-frame subject-mask video and its first frame
ANIMAL_FRAMES = 9
ANIMAL_SIZE = (96, 64)


@pytest.fixture(scope="session")
def tiny_prompt() -> dict:
    """The example workflow's API form on tiny models (fresh copy per use: tests edit it)."""
    return json.loads(TINY_WORKFLOW.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def comfy_models(comfy_base_dir: Path, tiny_prompt: dict) -> Path:
    """models/ and input/ filled before the server starts: tiny PoseGen base/cond checkpoints, a tiny Wan 2.1 VAE,
    tiny PoseAnything models with a random (full-size: ComfyUI fixes its size) Wan 2.2 VAE,
    broken checkpoints for the error tests, and the workflow's reference image and pose video."""
    from devtools.animal_inputs import write_animal_inputs
    from devtools.demo import input_files
    from devtools.demo_inputs import write_pose_video, write_reference
    from devtools.pose_inputs import write_driving_poses, write_reference_photo
    from devtools.prompts import node_of_type
    from devtools.tiny_models import write_all, write_broken_checkpoints, write_tiny_poseanything, write_wan22_vae

    models = comfy_base_dir / "models"
    written = write_all(models)
    write_broken_checkpoints(models, written["posegen_base"])
    conditioning = node_of_type(tiny_prompt, "PoseGenConditioning")["inputs"]
    image, video = input_files(tiny_prompt)
    inputs = comfy_base_dir / "input"
    write_reference(inputs / image, conditioning["width"], conditioning["height"])
    write_reference(inputs / SQUARE_REFERENCE, conditioning["width"], conditioning["width"])
    write_pose_video(inputs / video, conditioning["length"], conditioning["width"], conditioning["height"])
    write_reference_photo(inputs / POSE_REFERENCE)
    write_driving_poses(inputs / DRIVING_POSES, frames=DRIVING_FRAMES)
    write_driving_poses(inputs / DRIVING_POSES_FACE_HANDS, frames=DRIVING_FRAMES, face_and_hands=True)
    write_tiny_poseanything(models)
    write_wan22_vae(models)
    write_animal_inputs(inputs, ANIMAL_FRAMES, *ANIMAL_SIZE)
    return models


@pytest.fixture(scope="session")
def comfy_server(comfy_base_dir: Path, comfy_models: Path) -> Iterator[ComfyServer]:
    """One ComfyUI server (--cpu, 127.0.0.1, free port) for the whole session; stopped at the end."""
    timeout = float(os.environ.get("POSEGEN_COMFY_STARTUP_TIMEOUT", "180"))
    server = ComfyServer(comfy_base_dir, comfyui_path=comfyui_path_from_env(), startup_timeout=timeout)
    try:
        server.start()
    except ComfyServerError as exc:
        pytest.fail(f"ComfyUI server did not start: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    # On a failing test, show what the server said: most integration failures are explained there.
    if report.failed and "comfy_server" in getattr(item, "fixturenames", ()):
        server = getattr(item, "funcargs", {}).get("comfy_server")
        if isinstance(server, ComfyServer):
            report.sections.append(("ComfyUI log tail", server.log_tail(60)))
    return report
