"""Fixtures for core unit tests: the golden reference sets made by the public PoseGen / PoseAnything code, kept in
the repository under tests/data/golden."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from safetensors.torch import load_file

REPO_ROOT = Path(__file__).resolve().parents[2]
GOLDEN_ROOT = REPO_ROOT / "tests" / "data" / "golden"
GOLDEN_NAME = "posegen_tiny_v1"
PA_GOLDEN_NAME = "poseanything_tiny_v1"


def golden_root() -> Path:
    """The folder holding the golden sets: ``tests/data/golden`` in the repository, or ``$POSEGEN_GOLDEN_DIR`` when
    set. The data is part of the repository, so a missing set is an error, never a skip."""
    override = os.environ.get("POSEGEN_GOLDEN_DIR")
    root = Path(override) if override else GOLDEN_ROOT
    if not (root / GOLDEN_NAME / "config.json").is_file():
        source = "$POSEGEN_GOLDEN_DIR" if override else "the repository"
        raise FileNotFoundError(f"golden data not found: {root / GOLDEN_NAME / 'config.json'} (from {source})")
    return root


@pytest.fixture(scope="session")
def golden_dir() -> Path:
    return golden_root() / GOLDEN_NAME


@pytest.fixture(scope="session")
def golden_tensors(golden_dir: Path):
    cache: dict[str, dict] = {}

    def get(name: str) -> dict:
        if name not in cache:
            cache[name] = load_file(str(golden_dir / name))
        return cache[name]

    return get


@pytest.fixture(scope="session")
def pa_dir(golden_dir: Path) -> Path:
    return golden_dir.parent / PA_GOLDEN_NAME


@pytest.fixture(scope="module")
def pa_patcher(pa_dir: Path, tmp_path_factory):
    """PoseAnything's golden model loaded through the loader's code path, in float32."""
    import torch

    from posegen_core.golden import GoldenFolder
    from posegen_core.golden.poseanything_cases import write_shard_folder
    from posegen_core.poseanything.comfy_model import load_model

    folder = write_shard_folder(GoldenFolder(pa_dir), tmp_path_factory.mktemp("pa"))
    return load_model(folder, weight_dtype=torch.float32)


@pytest.fixture
def posegen_golden_patcher(golden_dir: Path, tmp_path: Path):
    """(GoldenFolder, PoseGen base MODEL) from the golden set's files, loaded through the loader's code path."""
    import torch

    from posegen_core.golden import GoldenFolder
    from posegen_core.posegen.checkpoint import load_checkpoint
    from posegen_core.posegen.comfy_model import build_model_patcher

    golden = GoldenFolder(golden_dir)
    return golden, build_model_patcher(load_checkpoint(golden.write_checkpoint_folder(tmp_path)), "base",
                                       weight_dtype=torch.float32)
