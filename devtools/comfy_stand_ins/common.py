"""Shared bits of the stand-in nodes."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import torch

REPO_ROOT = Path(__file__).resolve().parents[2]


def ensure_repo_on_path() -> None:
    """Make the repo's ``posegen_core`` and ``devtools`` importable inside the server. Appended, never prepended:
    the repo's ``nodes/`` package must not shadow ComfyUI's ``nodes.py``."""
    if str(REPO_ROOT) not in sys.path:
        sys.path.append(str(REPO_ROOT))

CATEGORY = "PoseGen/testing"

# Said in every stand-in's description, so nobody mistakes one for a real model in the node menu.
STAND_IN_NOTICE = (
    "STAND-IN FOR TESTS AND DEMOS ONLY: uses tiny random projections instead of a real model and produces "
    "no meaningful semantics."
)


def stable_seed(*parts: str) -> int:
    """A seed that is the same in every process and Python version (unlike hash(), which is salted)."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big")


def seeded_generator(seed: int) -> torch.Generator:
    # CPU generator: the same seed gives the same numbers on every machine, whatever the compute device.
    return torch.Generator(device="cpu").manual_seed(seed)


def require_int(name: str, value: object, minimum: int) -> int:
    """Validate an INT input when execute() is called directly (ComfyUI's own min check covers the UI)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name}: expected an integer, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name}: must be >= {minimum}, got {value}")
    return value
