"""The tiny PoseGen base and cond models (2 blocks, float32) and the tiny Wan VAE, loaded through the real loaders
once per test module."""

from __future__ import annotations

import comfy.sd
import comfy.utils
import pytest
import torch

from devtools.tiny_models import make_tiny_posegen, tiny_config, write_tiny_posegen, write_tiny_vae
from posegen_core.posegen.comfy_model import load_model


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    base, cond = write_tiny_posegen(root, make_tiny_posegen(tiny_config(num_layers=2)))
    vae = comfy.sd.VAE(sd=comfy.utils.load_torch_file(str(write_tiny_vae(root))))
    return load_model(base, "auto", torch.float32), load_model(cond, "auto", torch.float32), vae
