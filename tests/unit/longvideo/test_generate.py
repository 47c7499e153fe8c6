"""The long-video run on tiny real-architecture models, in process: frame count, keyframes of the transitions,
the merge, KV sharing's effect, and clear errors."""

from __future__ import annotations

from dataclasses import replace

import comfy.clip_vision
import comfy.sd
import comfy.utils
import numpy as np
import pytest
import torch

from devtools.tiny_models import make_tiny_posegen, tiny_config, write_tiny_posegen, write_tiny_vae
from posegen_core.errors import PoseGenInputError
from posegen_core.longvideo.generate import (
    BaseStart,
    LongVideoInputs,
    LongVideoSettings,
    SeedNoise,
    base_start,
    generate_long_video,
)
from posegen_core.longvideo.plan import base_pose_indices, plan_segments
from posegen_core.longvideo.subject import SUBJECT_TOKENS_KEY
from posegen_core.posecrafter.face_hand import FaceHandEdit
from posegen_core.posecrafter.start_noise import InvertedNoise
from posegen_core.posegen.comfy_model import load_model
from posegen_core.poses.sequence import PoseSequence
from posegen_core.poses.skeletons import HUMAN
from posegen_core.wan.schedule import flow_match_sigmas

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


# --- PoseCrafter inside the long video --------------------------------------------------------------------------


def _faces(frames: int, shift: float = 0.0, width: int = 32, height: int = 48) -> PoseSequence:
    """One person whose 70 face points move right by ``shift`` px per frame (the hands stay missing)."""
    face = np.asarray(HUMAN.parts["face"])
    rng = np.random.default_rng(3)
    points = rng.uniform(-6, 6, (face.size, 2)) + (12.0, 14.0)
    kp = np.zeros((frames, 1, HUMAN.num_keypoints, 3), np.float32)
    for f in range(frames):
        kp[f, 0, face, :2] = points + (shift * f, 0.0)
        kp[f, 0, face, 2] = 0.9
    return PoseSequence(HUMAN, kp, width, height)


def _inverted(steps: int = 2, seed: int = 5) -> InvertedNoise:
    noise = torch.randn((1, 16, 1, 6, 4), generator=torch.Generator().manual_seed(seed))
    return InvertedNoise(noise, flow_match_sigmas(steps, 5.0))


def test_reference_pose_insertion_prepends_the_reference_pose_and_drops_its_frame(models):
    base, cond, vae = models
    spy = SpyVae(vae)
    inputs = _inputs(spy, 23)
    inputs.reference_pose_frame = torch.full((1, 48, 32, 3), 0.25)
    result = generate_long_video(base, cond, inputs, _settings(insert_reference_pose=True))
    assert result.frames.shape == (23, 48, 32, 3)
    base_clips = spy.encoded[1:7:2]  # reference, then pose + black hands per base chunk
    plan = plan_segments(23, **SEGMENTS)
    for clip, chunk in zip(base_clips, plan.base_chunks, strict=True):
        assert clip.shape[0] == SEGMENTS["segment_length"] + 4  # still 4k+1: the reference pose + 12 driving
        assert torch.allclose(clip[0], torch.full_like(clip[0], 0.25))
        driving = base_pose_indices(plan, chunk, extra=3)
        assert torch.allclose(clip[1:], inputs.pose_frames[driving], atol=1e-6)
    plain = generate_long_video(base, cond, _inputs(vae, 23), _settings()).frames
    assert (result.frames[:8] - plain[:8]).abs().max() > 1e-3  # the inserted frame changes the segment


def test_start_noise_is_used_for_every_base_segment_with_its_schedule(models):
    base, cond, vae = models
    inputs = _inputs(vae, 23)
    plain = generate_long_video(base, cond, inputs, _settings()).frames
    # the seed's own noise through the start path reproduces the plain run exactly
    inputs.base_start = BaseStart(SeedNoise(42), flow_match_sigmas(2, 5.0))
    assert torch.equal(generate_long_video(base, cond, inputs, _settings()).frames, plain)
    # an inverted reference over a 3-step schedule: base segments change, one progress bar counts its steps
    inputs.base_start = BaseStart(_inverted(steps=3), flow_match_sigmas(3, 5.0))
    calls = []
    started = generate_long_video(base, cond, inputs, _settings(),
                                  progress=lambda done, total, _: calls.append((done, total))).frames
    assert calls[-1] == (3 * 3 + 2 * 2, 3 * 3 + 2 * 2)
    assert (started[:8] - plain[:8]).abs().max() > 1e-3


def test_face_hand_edit_is_planned_per_base_segment_and_changes_the_video(models):
    base, cond, vae = models
    inputs = _inputs(vae, 23)
    inputs.poses = _faces(23, shift=0.5)
    inputs.base_start = BaseStart(_inverted(), flow_match_sigmas(2, 5.0))
    unedited = generate_long_video(base, cond, inputs, _settings()).frames
    inputs.face_hand_edit = FaceHandEdit(reference=_faces(1).frames([0]), parts=("face",))
    result = generate_long_video(base, cond, inputs, _settings())
    assert result.report.count("face/hand edit, base segment") == 3
    assert "face: 3 frame(s) edited, 0 skipped" in result.report  # every latent frame of a 9-frame segment
    assert (result.frames - unedited).abs().max() > 1e-3


@pytest.mark.parametrize("case, name", [
    ("no_reference_frame", "reference_pose_frame"), ("edit_without_poses", "pose_keypoint"),
    ("edit_without_reference", "face_hand_edit"), ("edit_too_late", "face_hand_edit"),
    ("noise_size", "noise"),
])
def test_posecrafter_inputs_are_checked(models, case, name):
    base, cond, vae = models
    inputs, settings = _inputs(vae, 23), _settings()
    edit = FaceHandEdit(reference=_faces(1).frames([0]))
    if case == "no_reference_frame":
        settings = _settings(insert_reference_pose=True)
    elif case == "edit_without_poses":
        inputs.face_hand_edit = edit
    elif case == "edit_without_reference":
        inputs.poses, inputs.face_hand_edit = _faces(23), edit
    elif case == "edit_too_late":
        inputs.poses, inputs.face_hand_edit = _faces(23), replace(edit, at_step=2)
        inputs.base_start = BaseStart(_inverted(), flow_match_sigmas(2, 5.0))
    elif case == "noise_size":
        inverted = InvertedNoise(torch.randn(1, 16, 1, 4, 4), flow_match_sigmas(2, 5.0))
        inputs.base_start = BaseStart(inverted, inverted.sigmas)
    with pytest.raises(PoseGenInputError) as err:
        generate_long_video(base, cond, inputs, settings)
    assert str(err.value).startswith(f"{name}: ")


def test_base_start_resolves_the_schedule_from_the_inputs():
    settings = _settings()
    assert base_start(None, None, settings) is None
    inverted = _inverted(steps=3)
    assert torch.equal(base_start(inverted, None, settings).sigmas, inverted.sigmas)
    assert torch.equal(base_start(inverted, inverted.sigmas.clone(), settings).sigmas, inverted.sigmas)
    seeded = base_start(None, flow_match_sigmas(4, 5.0), settings)
    assert seeded.noise == SeedNoise(settings.seed) and len(seeded.sigmas) == 5
    assert len(base_start(SeedNoise(1), None, settings).sigmas) == settings.steps + 1
    with pytest.raises(PoseGenInputError, match="^start_sigmas: .*inverted over 3 steps"):
        base_start(inverted, flow_match_sigmas(2, 5.0), settings)
    with pytest.raises(PoseGenInputError, match="^start_sigmas: "):
        base_start(None, torch.tensor([1.0, 0.5]), settings)
