import pytest
import torch

from posegen_core.errors import PoseGenInputError
from posegen_core.posegen.conditioning import (
    HAND_LATENT_KEY,
    build_segment_conditioning,
    center_crop_box,
    check_segment_shape,
    mask_channels,
    posegen_conditioning_values,
    preprocess_frames,
)


def test_mask_channels_match_posegens_encode_cond(golden_dir, golden_tensors):
    import json

    cfg = json.loads((golden_dir / "config.json").read_text())
    frames = cfg["pixel_equivalent"]["num_frames"]
    head, tail = cfg["condmode_mask"]["head_frames"], cfg["condmode_mask"]["tail_frames"]
    given = torch.zeros(frames)
    given[:head] = 1
    given[frames - tail:] = 1
    want = golden_tensors("inputs.safetensors")["cond_latents_condmode"][0, :4]  # (4, T, H, W)
    got = mask_channels(given)
    assert torch.equal(got[:, :, None, None].expand_as(want), want)
    assert torch.count_nonzero(golden_tensors("inputs.safetensors")["cond_latents_anchor"][0, :4]) == 0


def test_mask_channel_layout_for_posegens_transition_chunk():
    given = torch.zeros(81)
    given[:21] = 1
    given[61:] = 1
    m = mask_channels(given)
    assert m.shape == (4, 21)
    assert torch.all(m[:, :6] == 1) and torch.all(m[:, 6:16] == 0) and torch.all(m[:, 16:] == 1)


def test_crop_box_is_torchvisions_fallback_centre_crop():
    assert center_crop_box(1080, 1920, 720 / 1280) == (0, 656, 1080, 608)
    assert center_crop_box(2000, 720, 720 / 1280) == (360, 0, 1280, 720)
    assert center_crop_box(1280, 720, 720 / 1280) == (0, 0, 1280, 720)


def test_preprocess_crops_resizes_and_keeps_8bit_levels():
    frames = torch.rand(2, 90, 160, 4)
    out = preprocess_frames(frames, 32, 48)
    assert out.shape == (2, 48, 32, 3)
    assert torch.equal(out * 255, torch.round(out * 255))
    same = torch.rand(1, 48, 32, 3)
    assert preprocess_frames(same, 32, 48) is not None and torch.equal(preprocess_frames(same, 32, 48), same)
    # a left/right split image keeps its centre column split after a centre crop
    split = torch.zeros(1, 64, 128, 3)
    split[:, :, 64:] = 1
    centred = preprocess_frames(split, 32, 64)
    assert centred[0, :, :14].max() == 0 and centred[0, :, 18:].min() == 1


@pytest.mark.parametrize("length, width, height, name", [(80, 64, 64, "length"), (81, 60, 64, "width"),
                                                          (81, 64, 0, "height")])
def test_segment_shape_errors(length, width, height, name):
    with pytest.raises(PoseGenInputError, match=f"^{name}:"):
        check_segment_shape(length, width, height)


class FakeWanVae:
    """Shapes of the Wan 2.1 VAE without its cost; counts encode calls."""

    def __init__(self, channels=16):
        self.calls = []
        self.channels = channels

    def encode(self, pixels):
        self.calls.append(tuple(pixels.shape))
        f, h, w, _ = pixels.shape
        return torch.full((1, self.channels, (f - 1) // 4 + 1, h // 8, w // 8), float(len(self.calls)))


class Clip:
    penultimate_hidden_states = torch.zeros(1, 257, 1280)


def _inputs(frames=9, h=64, w=48):
    return torch.rand(1, h, w, 3), torch.rand(frames, h, w, 3)


def test_segment_conditioning_values_and_black_hands():
    vae = FakeWanVae()
    ref, pose = _inputs()
    values, shape = build_segment_conditioning(vae, ref, pose, None, Clip(), 32, 64, 9)
    assert shape.latent_shape == (1, 16, 3, 8, 4)
    assert vae.calls == [(1, 64, 32, 3), (9, 64, 32, 3), (9, 64, 32, 3)]  # reference, pose, black hands
    assert values["concat_latent_image"].shape == (1, 16, 3, 8, 4)
    assert torch.equal(values["concat_mask"], torch.ones(1, 4, 3, 8, 4))  # ComfyUI inverts: 1 - 0
    assert values["reference_latents"][0].shape == (1, 16, 1, 8, 4)
    assert values[HAND_LATENT_KEY].shape == (1, 16, 3, 8, 4)
    values, _ = build_segment_conditioning(FakeWanVae(), ref, pose, None, Clip(), 32, 64, 9,
                                           black_hands_when_missing=False)
    assert HAND_LATENT_KEY not in values


@pytest.mark.parametrize("case, name", [
    ("pose_count", "pose_frames"), ("pose_size", "pose_frames"), ("hand_count", "hand_frames"),
    ("empty_pose", "pose_frames"), ("ref_batch", "reference_image"), ("no_clip", "clip_vision_output"),
    ("wan22_vae", "vae"), ("not_image", "reference_image"),
])
def test_bad_inputs_are_named(case, name):
    ref, pose = _inputs()
    hand, clip, vae = None, Clip(), FakeWanVae()
    if case == "pose_count":
        pose = pose[:5]
    elif case == "pose_size":
        pose = torch.rand(9, 64, 64, 3)
    elif case == "hand_count":
        hand = torch.rand(8, 64, 48, 3)
    elif case == "empty_pose":
        pose = pose[:0]
    elif case == "ref_batch":
        ref = torch.rand(2, 64, 48, 3)
    elif case == "no_clip":
        clip = None
    elif case == "wan22_vae":
        vae = FakeWanVae(channels=48)
    elif case == "not_image":
        ref = torch.rand(64, 48)
    with pytest.raises(PoseGenInputError) as err:
        build_segment_conditioning(vae, ref, pose, hand, clip, 32, 64, 9)
    assert str(err.value).startswith(f"{name}:")


def test_values_flow_through_comfyuis_wan21_conds():
    """ComfyUI's WAN21.concat_cond/extra_conds turn the values into exactly PoseGen's y, ref and hand."""
    import comfy.model_management  # noqa: F401

    from devtools.tiny_models import tiny_config
    from posegen_core.posegen.comfy_model import PoseGenWan21Config

    model_config = PoseGenWan21Config(tiny_config())
    model_config.set_inference_dtype(torch.float32, None)
    model = model_config.get_model({})
    raw_pose, raw_ref, raw_hand = torch.randn(1, 16, 3, 8, 4), torch.randn(1, 16, 1, 8, 4), torch.randn(1, 16, 3, 8, 4)
    given = torch.tensor([[1.0, 0, 1]] * 4)
    values = posegen_conditioning_values(raw_pose, given, raw_ref, raw_hand, Clip())
    noise = torch.zeros(1, 16, 3, 8, 4)
    conds = model.extra_conds(noise=noise, device=torch.device("cpu"), **values)
    y = conds["c_concat"].cond
    assert torch.equal(y[:, :4], given[None, :, :, None, None].expand(1, 4, 3, 8, 4))
    assert torch.allclose(y[:, 4:], model.process_latent_in(raw_pose))
    assert torch.equal(conds["reference_latent"].cond, model.process_latent_in(raw_ref)[:, :, 0])
    assert torch.equal(conds[HAND_LATENT_KEY].cond, model.process_latent_in(raw_hand))
    assert torch.equal(conds["clip_fea"].cond, Clip.penultimate_hidden_states)
