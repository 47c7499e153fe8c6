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
