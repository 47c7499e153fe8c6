"""The long-video run on tiny real-architecture models, in process: frame count, keyframes of the transitions,
the merge, KV sharing's effect, and clear errors."""

from __future__ import annotations

import comfy.clip_vision
import comfy.sd
import comfy.utils
import pytest
import torch

from devtools.tiny_models import make_tiny_posegen, tiny_config, write_tiny_posegen, write_tiny_vae
from posegen_core.comfy_model import load_model
from posegen_core.errors import PoseGenInputError
from posegen_core.longvideo.generate import LongVideoInputs, LongVideoSettings, generate_long_video
from posegen_core.longvideo.plan import plan_segments
from posegen_core.longvideo.subject import SUBJECT_TOKENS_KEY

SIZE = dict(width=32, height=48)
SEGMENTS = dict(segment_length=9, head_overlap=1, tail_overlap=4)  # smallest valid layout: 4 generated frames


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    base, cond = write_tiny_posegen(root, make_tiny_posegen(tiny_config(num_layers=2)))
    vae = comfy.sd.VAE(sd=comfy.utils.load_torch_file(str(write_tiny_vae(root))))
    return load_model(base, "auto", torch.float32), load_model(cond, "auto", torch.float32), vae


class SpyVae:
    """The tiny Wan VAE, remembering what was encoded."""

    def __init__(self, vae) -> None:
        self.vae, self.encoded = vae, []

    def encode(self, pixels):
        self.encoded.append(pixels.clone())
        return self.vae.encode(pixels)

    def decode(self, latent):
        return self.vae.decode(latent)


def _inputs(vae, frames: int, subject: bool = True) -> LongVideoInputs:
    g = torch.Generator().manual_seed(0)
    clip = comfy.clip_vision.Output()
    clip["penultimate_hidden_states"] = torch.randn(1, 257, 1280, generator=g)
    positive = [[torch.randn(1, 8, 64, generator=g), {SUBJECT_TOKENS_KEY: [2]} if subject else {}]]
    negative = [[torch.randn(1, 8, 64, generator=g), {}]]
    return LongVideoInputs(positive, negative, vae, clip, torch.rand(1, 48, 32, 3, generator=g),
                           torch.rand(frames, 48, 32, 3, generator=g))


def _settings(**changes) -> LongVideoSettings:
    values = dict(**SIZE, **SEGMENTS, steps=2, kv_steps=1, kv_blocks=1, mask_mode="attention", max_block_idx=1)
    values.update(changes)
    return LongVideoSettings(**values)


def test_video_has_the_driving_length_and_transitions_get_their_keyframes(models):
    base, cond, vae = models
    spy = SpyVae(vae)
    frames = 23  # 5 chunks: base 0-8, transition 8-16, base 13-21, transition 20-28, base 26-34 (padded)
    calls = []
    result = generate_long_video(base, cond, _inputs(spy, frames), _settings(),
                                 progress=lambda done, total, _: calls.append((done, total)))
    assert result.frames.shape == (frames, 48, 32, 3)
    plan = plan_segments(frames, **SEGMENTS)
    assert len(plan.chunks) == 5 and "anchor" in result.report
    assert calls[-1] == (5 * 2, 5 * 2) and len(calls) == 10  # one bar over all chunks and steps
    # encodes: reference, then per base chunk pose + black hands, then per transition pose + hands
    transitions = spy.encoded[1 + 2 * 3:]
    assert len(transitions) == 4 and all(clip.shape[0] == SEGMENTS["segment_length"] for clip in transitions)
    pose_clip = transitions[0]
    # keyframes: the previous base chunk's last frame at the head and the next base chunk's first 4 at the tail;
    # the merge keeps frame 8 wholly from base chunk 0 (weight 1) and frame 16 wholly from base chunk 2 (weight 0)
    assert torch.allclose(pose_clip[0], result.frames[8], atol=1e-6)
    assert torch.allclose(pose_clip[8], result.frames[16], atol=1e-6)
    assert not torch.allclose(pose_clip[4], result.frames[12], atol=1e-2)  # the middle follows the poses


def test_kv_sharing_changes_the_later_segments_only(models):
    base, cond, vae = models
    inputs = _inputs(vae, 23)
    shared = generate_long_video(base, cond, inputs, _settings(mask_mode="none")).frames
    plain = generate_long_video(base, cond, inputs, _settings(kv_steps=0, kv_blocks=0)).frames
    assert torch.equal(shared[:8], plain[:8])  # the anchor segment itself is unchanged by recording
    assert (shared[13:20] - plain[13:20]).abs().max() > 1e-3  # a sharing base segment moves


def test_same_seed_same_video(models):
    base, cond, vae = models
    inputs = _inputs(vae, 23)
    first = generate_long_video(base, cond, inputs, _settings()).frames
    assert torch.equal(first, generate_long_video(base, cond, inputs, _settings()).frames)
    assert not torch.equal(first, generate_long_video(base, cond, inputs, _settings(seed=7)).frames)


@pytest.mark.parametrize("case, name", [
    ("short", "pose_frames"), ("anchor", "anchor"), ("keyword", "positive"), ("variant", "base_model"),
    ("size", "pose_frames"), ("pose_mode", "pose_keypoint"),
])
def test_bad_inputs_name_the_input(models, case, name):
    base, cond, vae = models
    inputs, settings, base_model = _inputs(vae, 23), _settings(), base
    if case == "short":
        inputs = _inputs(vae, 5)
    elif case == "anchor":
        settings = _settings(anchor=3)
    elif case == "keyword":
        inputs = _inputs(vae, 23, subject=False)
    elif case == "variant":
        base_model = cond
    elif case == "size":
        inputs.pose_frames = torch.rand(23, 40, 32, 3)
    elif case == "pose_mode":
        settings = _settings(mask_mode="pose")
    with pytest.raises(PoseGenInputError) as err:
        generate_long_video(base_model, cond, inputs, settings)
    assert str(err.value).startswith(f"{name}: ")
