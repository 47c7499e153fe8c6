"""PoseGen's CLIP preprocessing and the encode through ComfyUI's own vision model (a tiny CLIP of its class)."""

import json

import pytest
import torch

from posegen_core.errors import PoseGenInputError
from posegen_core.posegen.clip_vision import encode_reference, posegen_clip_pixels

MEAN, STD = [0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711]


def test_constant_image_maps_to_the_normalised_value():
    image = torch.full((1, 96, 48, 3), 0.6)
    pixels = posegen_clip_pixels(image, 48, 96, 224, MEAN, STD)
    assert pixels.shape == (1, 3, 224, 224)
    want = (torch.round(torch.tensor(0.6) * 255) / 255 - torch.tensor(MEAN)) / torch.tensor(STD)
    assert torch.allclose(pixels[0, :, 100, 100], want, atol=1e-5)


def test_squashes_instead_of_cropping():
    """A portrait frame keeps its top and bottom rows: PoseGen squashes to a square, it does not crop."""
    image = torch.zeros(1, 128, 64, 3)
    image[:, :8] = 1.0  # a white band at the very top
    pixels = posegen_clip_pixels(image, 64, 128, 224, [0, 0, 0], [1, 1, 1])
    assert pixels[0, :, :8].mean() > 0.9 and pixels[0, :, 20:].abs().max() < 0.05
    import comfy.clip_vision

    cropped = comfy.clip_vision.clip_preprocess(image, 224, [0, 0, 0], [1, 1, 1], crop=True)
    assert cropped[0, :, :8].mean() < 0.05  # ComfyUI's default centre crop loses the band


def test_empty_image_is_rejected():
    with pytest.raises(PoseGenInputError, match="^image:"):
        posegen_clip_pixels(torch.zeros(0, 8, 8, 3), 16, 16, 224, MEAN, STD)


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    """ComfyUI's ClipVisionModel from a small config (ViT-H's layout: 224 px, patch 14, 257 tokens)."""
    import comfy.clip_vision

    from devtools.tiny_models import random_like_trained

    config = {"hidden_act": "gelu", "hidden_size": 32, "image_size": 224, "intermediate_size": 64,
              "layer_norm_eps": 1e-5, "model_type": "clip_vision_model", "num_attention_heads": 2,
              "num_channels": 3, "num_hidden_layers": 3, "patch_size": 14, "projection_dim": 16}
    path = tmp_path_factory.mktemp("clip") / "tiny_clip.json"
    path.write_text(json.dumps(config))
    clip = comfy.clip_vision.ClipVisionModel(str(path))
    shapes = {k: v.shape for k, v in clip.get_sd().items()}
    clip.load_sd(random_like_trained(shapes, torch.Generator().manual_seed(0), 32))
    return clip


def test_encode_runs_comfyuis_model_on_posegens_pixels(tiny_clip):
    image = torch.rand(1, 200, 120, 3)
    out = encode_reference(tiny_clip, image, 64, 112)
    assert out["penultimate_hidden_states"].shape == (1, 257, 32)
    pixels = posegen_clip_pixels(image, 64, 112, 224, tiny_clip.image_mean, tiny_clip.image_std)
    with torch.no_grad():
        direct = tiny_clip.model(pixel_values=pixels, intermediate_output=-2)
    assert torch.equal(out["penultimate_hidden_states"], direct[1])
    assert not torch.equal(out["penultimate_hidden_states"], out["last_hidden_state"])
    core = tiny_clip.encode_image(image, crop=True)["penultimate_hidden_states"]
    assert (core - out["penultimate_hidden_states"]).abs().max() > 1e-3  # core preprocessing differs
