"""Benchmarks (docs/benchmarks.md). ``comfy_for_benchmarks`` starts ComfyUI in-process the way the demo server
is started: with the attention that measured fastest on the CPU."""

from __future__ import annotations

import sys
from pathlib import Path


def comfy_for_benchmarks() -> Path:
    """ComfyUI importable; without a GPU, with PyTorch's SDPA attention (``--use-pytorch-cross-attention``), which
    ``bench.forward_speed`` measured fastest on the CPU for PoseGen's shapes. On a GPU ComfyUI chooses. No effect
    once ComfyUI's model management is imported (inside the test suite, say): ComfyUI picks attention once."""
    from posegen_core.comfy_env import ensure_comfy_importable

    path = ensure_comfy_importable()
    if "comfy.model_management" not in sys.modules:
        import comfy.cli_args
        import torch

        if not torch.cuda.is_available():
            comfy.cli_args.args.use_pytorch_cross_attention = True
    return path
