"""Fixtures for core unit tests: the golden reference folders made by PoseGen's public code."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from safetensors.torch import load_file

REPO_ROOT = Path(__file__).resolve().parents[2]
GOLDEN_NAME = "posegen_tiny_v1"


def golden_root() -> Path:
    """``$POSEGEN_GOLDEN_DIR``, else ``shared/golden`` beside the checkout (the team's layout), else /work/shared."""
    candidates = [os.environ.get("POSEGEN_GOLDEN_DIR"), REPO_ROOT.parent / "shared" / "golden", "/work/shared/golden"]
    for candidate in candidates:
        if candidate and (Path(candidate) / GOLDEN_NAME / "config.json").is_file():
            return Path(candidate)
    raise FileNotFoundError(f"golden data not found; set POSEGEN_GOLDEN_DIR (tried {candidates})")


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
