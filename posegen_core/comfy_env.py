"""Making ComfyUI importable for command-line tools that run outside a ComfyUI server."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def comfyui_path(explicit: str | os.PathLike | None = None) -> Path:
    """``explicit``, else ``$COMFYUI_PATH``, else the ComfyUI the bootstrap unpacks into ``.comfyui``."""
    candidates = [explicit, os.environ.get("COMFYUI_PATH"), REPO_ROOT / ".comfyui"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "comfy" / "model_management.py").is_file():
            return Path(candidate).resolve()
    raise RuntimeError("ComfyUI not found: set COMFYUI_PATH (or run ./scripts/bootstrap.sh)")


def ensure_comfy_importable(explicit: str | os.PathLike | None = None) -> Path:
    """Put ComfyUI on ``sys.path`` (idempotent); returns its folder."""
    try:
        import comfy.model_management  # noqa: F401
        import folder_paths

        return Path(folder_paths.base_path)
    except ImportError:
        pass
    path = comfyui_path(explicit)
    sys.path.insert(0, str(path))
    _select_cpu_without_gpu()
    return path


def _select_cpu_without_gpu() -> None:
    """Outside the server nobody passes ``--cpu``; without a usable GPU ComfyUI must be told before it probes."""
    import comfy.cli_args
    import torch

    if not torch.cuda.is_available():
        comfy.cli_args.args.cpu = True
