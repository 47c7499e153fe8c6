"""The long-video run on tiny real-architecture models, in process: frame count, keyframes of the transitions,
the merge, KV sharing's effect, the SAMPLER (plain and per chunk), PoseCrafter, and clear errors."""

from __future__ import annotations

from dataclasses import replace

import comfy.clip_vision
import comfy.samplers
import comfy.sd
import comfy.utils
import numpy as np
import pytest
import torch

from posegen_core.errors import PoseGenInputError
from posegen_core.longvideo.options import KVSharing, LongVideoSettings, PoseCrafterOptions, SegmentLayout
from posegen_core.longvideo.plan import base_pose_indices, plan_segments
from posegen_core.longvideo.run import LongVideoInputs, generate_long_video, transition_between
from posegen_core.longvideo.subject import SUBJECT_TOKENS_KEY
from posegen_core.posecrafter.edit_sampler import FaceHandEditSampler
from posegen_core.posecrafter.face_hand import FaceHandEdit
from posegen_core.posecrafter.start_noise import InvertedNoise
from posegen_core.poses.sequence import PoseSequence
from posegen_core.poses.skeletons import HUMAN
from posegen_core.wan.schedule import flow_match_sigmas

SIZE = dict(width=32, height=48)
SEGMENTS = dict(segment_length=9, head_overlap=1, tail_overlap=4)  # smallest valid layout: 4 generated frames
EULER = comfy.samplers.sampler_object("euler")  # what KSamplerSelect "euler" gives


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


def _kv(**changes) -> KVSharing:
    """KV sharing on the 2-block tiny model: the first step, the last block, masks from block 0..1."""
    return KVSharing(**{"shared_steps": 1, "shared_blocks": 1, "mask_mode": "attention", "max_block_idx": 1,
                        **changes})


def _settings(kv: KVSharing | None = None, posecrafter: PoseCrafterOptions | None = None,
              **changes) -> LongVideoSettings:
    return LongVideoSettings(**{**SIZE, "steps": 2, "layout": SegmentLayout(**SEGMENTS), "kv_sharing": kv or _kv(),
                                "posecrafter": posecrafter or PoseCrafterOptions(), **changes})


def test_video_has_the_driving_length_and_transitions_get_their_keyframes(models):
    base, cond, vae = models
    spy = SpyVae(vae)
    frames = 23  # 5 chunks: base 0-8, transition 8-16, base 13-21, transition 20-28, base 26-34 (padded)
    calls = []
    result = generate_long_video(base, cond, _inputs(spy, frames), _settings(), EULER,
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
    shared = generate_long_video(base, cond, inputs, _settings(_kv(mask_mode="none")), EULER).frames
    plain = generate_long_video(base, cond, inputs, _settings(_kv(shared_steps=0, shared_blocks=0)), EULER).frames
    assert torch.equal(shared[:8], plain[:8])  # the anchor segment itself is unchanged by recording
    assert (shared[13:20] - plain[13:20]).abs().max() > 1e-3  # a sharing base segment moves


def test_same_seed_same_video(models):
    base, cond, vae = models
    inputs = _inputs(vae, 23)
    first = generate_long_video(base, cond, inputs, _settings(), EULER).frames
    assert torch.equal(first, generate_long_video(base, cond, inputs, _settings(), EULER).frames)
    assert not torch.equal(first, generate_long_video(base, cond, inputs, _settings(seed=7), EULER).frames)
    # no SAMPLER is PoseGen's Euler
    assert torch.equal(first, generate_long_video(base, cond, inputs, _settings()).frames)


@pytest.mark.parametrize("case, name", [
    ("short", "pose_frames"), ("anchor", "anchor_segment"), ("keyword", "positive"), ("variant", "base_model"),
    ("size", "pose_frames"), ("pose_count", "poses"), ("mask_count", "masks"), ("block_zero", "shared_blocks"),
])
def test_bad_inputs_name_the_input(models, case, name):
    """Errors name the run's own parameters: the frames, or the option objects' fields (the nodes rename these to
    their inputs where they differ)."""
    base, cond, vae = models
    inputs, settings, base_model = _inputs(vae, 23), _settings(), base
    if case == "short":
        inputs = _inputs(vae, 5)
    elif case == "anchor":
        settings = _settings(_kv(anchor_segment=3))
    elif case == "keyword":
        inputs = _inputs(vae, 23, subject=False)
    elif case == "variant":
        base_model = cond
    elif case == "size":
        inputs.pose_frames = torch.rand(23, 40, 32, 3)
    elif case == "pose_count":
        settings = _settings(_kv(mask_mode="pose", poses=_faces(20)))
    elif case == "mask_count":
        settings = _settings(_kv(mask_mode="user", masks=torch.ones(20, 48, 32)))
    elif case == "block_zero":
        settings = _settings(_kv(shared_blocks=2))  # both blocks of the tiny model, with attention masks
    with pytest.raises(PoseGenInputError) as err:
        generate_long_video(base_model, cond, inputs, settings)
    assert str(err.value).startswith(f"{name}: ") and err.value.input_name == name


def test_default_kv_sharing_needs_the_subject_word(models):
    """Unconnected KV sharing is PoseGen's default (attention masks): a prompt without the subject word's tokens is
    refused, with the way out in the message."""
    base, cond, vae = models
    with pytest.raises(PoseGenInputError, match="^positive: .*PoseGen Text Encode.*PoseGen KV Sharing"):
        generate_long_video(base, cond, _inputs(vae, 23, subject=False), _settings(KVSharing()))


class CountingSampler:
    """A per-chunk SAMPLER that records what the run told it and hands out ComfyUI's Euler."""

    def __init__(self) -> None:
        self.calls = []

    def for_chunk(self, kind, frames, *, label, steps, inverted_start, report):
        self.calls.append((kind, tuple(int(f) for f in frames), label, steps, inverted_start))
        report(f"counted {label}")
        return EULER


def test_a_per_chunk_sampler_is_asked_for_every_chunk_before_sampling(models):
    base, cond, vae = models
    inputs = _inputs(vae, 23)
    plain = generate_long_video(base, cond, inputs, _settings(), EULER)
    counting = CountingSampler()
    result = generate_long_video(base, cond, inputs, _settings(), counting)
    assert torch.equal(result.frames, plain.frames)
    plan = plan_segments(23, **SEGMENTS)
    assert [c[0] for c in counting.calls] == [c.kind for c in plan.chunks]
    assert counting.calls[2][1:] == (tuple(base_pose_indices(plan, plan.chunks[2])), "base segment 1", 2, False)
    assert counting.calls[1][2] == "transition 0"
    assert result.report.count("\ncounted ") == 5


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
    posecrafter = PoseCrafterOptions(reference_pose_frame=torch.full((1, 48, 32, 3), 0.25))
    result = generate_long_video(base, cond, inputs, _settings(posecrafter=posecrafter), EULER)
    assert result.frames.shape == (23, 48, 32, 3)
    base_clips = spy.encoded[1:7:2]  # reference, then pose + black hands per base chunk
    plan = plan_segments(23, **SEGMENTS)
    for clip, chunk in zip(base_clips, plan.base_chunks, strict=True):
        assert clip.shape[0] == SEGMENTS["segment_length"] + 4  # still 4k+1: the reference pose + 12 driving
        assert torch.allclose(clip[0], torch.full_like(clip[0], 0.25))
        driving = base_pose_indices(plan, chunk, extra=3)
        assert torch.allclose(clip[1:], inputs.pose_frames[driving], atol=1e-6)
    plain = generate_long_video(base, cond, _inputs(vae, 23), _settings(), EULER).frames
    assert (result.frames[:8] - plain[:8]).abs().max() > 1e-3  # the inserted frame changes the segment


def test_start_noise_is_used_for_every_base_segment_with_its_schedule(models):
    from posegen_core.longvideo.noise import SeedNoise

    base, cond, vae = models
    inputs = _inputs(vae, 23)
    plain = generate_long_video(base, cond, inputs, _settings(), EULER).frames
    # the seed's own noise through the start path reproduces the plain run exactly
    seeded = PoseCrafterOptions(start_noise=SeedNoise(42), start_sigmas=flow_match_sigmas(2, 5.0))
    assert torch.equal(generate_long_video(base, cond, inputs, _settings(posecrafter=seeded), EULER).frames, plain)
    # an inverted reference over a 3-step schedule: base segments change, one progress bar counts its steps
    calls = []
    started = generate_long_video(base, cond, inputs, _settings(posecrafter=PoseCrafterOptions(_inverted(steps=3))),
                                  EULER, progress=lambda done, total, _: calls.append((done, total))).frames
    assert calls[-1] == (3 * 3 + 2 * 2, 3 * 3 + 2 * 2)
    assert (started[:8] - plain[:8]).abs().max() > 1e-3


def test_face_hand_edit_is_planned_per_base_segment_and_changes_the_video(models):
    base, cond, vae = models
    inputs = _inputs(vae, 23)
    settings = _settings(posecrafter=PoseCrafterOptions(_inverted()))
    unedited = generate_long_video(base, cond, inputs, settings, EULER).frames
    edit = FaceHandEdit(reference=_faces(1).frames([0]), parts=("face",))
    result = generate_long_video(base, cond, inputs, settings, FaceHandEditSampler(edit, _faces(23, shift=0.5)))
    assert result.report.count("face/hand edit, base segment") == 3
    assert "face: 3 frame(s) edited, 0 skipped" in result.report  # every latent frame of a 9-frame segment
    assert (result.frames - unedited).abs().max() > 1e-3


@pytest.mark.parametrize("case, name", [
    ("poses_too_short", "target_poses"), ("edit_without_reference", "face_hand_edit"),
    ("edit_too_late", "face_hand_edit"), ("noise_size", "start_noise"),
    ("reference_frame_size", "reference_pose_frame"),
])
def test_posecrafter_inputs_are_checked(models, case, name):
    base, cond, vae = models
    inputs, posecrafter, sampler = _inputs(vae, 23), PoseCrafterOptions(_inverted()), EULER
    edit = FaceHandEdit(reference=_faces(1).frames([0]))
    if case == "poses_too_short":
        sampler = FaceHandEditSampler(edit, _faces(20))
    elif case == "edit_without_reference":
        posecrafter, sampler = PoseCrafterOptions(), FaceHandEditSampler(edit, _faces(23))
    elif case == "edit_too_late":
        sampler = FaceHandEditSampler(replace(edit, at_step=2), _faces(23))
    elif case == "noise_size":
        posecrafter = PoseCrafterOptions(InvertedNoise(torch.randn(1, 16, 1, 4, 4), flow_match_sigmas(2, 5.0)))
    elif case == "reference_frame_size":
        posecrafter = PoseCrafterOptions(reference_pose_frame=torch.zeros(1, 40, 32, 3))
    with pytest.raises(PoseGenInputError) as err:
        generate_long_video(base, cond, inputs, _settings(posecrafter=posecrafter), sampler)
    assert str(err.value).startswith(f"{name}: ")


# --- Transition Blend -------------------------------------------------------------------------------------------


def test_transition_between_keeps_the_frames_away_from_the_seam(models):
    base, cond, vae = models
    video = generate_long_video(base, cond, _inputs(vae, 23), _settings(), EULER).frames
    inputs = _inputs(vae, 23)
    inputs.pose_frames = inputs.pose_frames[:9]
    blended = transition_between(cond, inputs, _settings(), video[:5], video[-6:], EULER)
    assert blended.shape[0] == 5 + 9 + 6 - 1 - 4
    assert torch.equal(blended[:4], video[:4]) and torch.equal(blended[-2:], video[-2:])
    with pytest.raises(PoseGenInputError, match="^pose_frames: 8 frames for a transition of 9"):
        transition_between(cond, replace(inputs, pose_frames=inputs.pose_frames[:8]), _settings(), video[:5],
                           video[-6:])


def test_driving_poses_rendered_per_chunk_give_the_same_video(models):
    """POSE_KEYPOINT drawn by the run chunk by chunk = the same poses drawn by Render Poses beforehand."""
    from posegen_core.longvideo.frame_sources import RenderedPoses
    from posegen_core.poses.render import render_sequence

    base, cond, vae = models
    rng = np.random.default_rng(5)
    frames = 22  # two base segments and a transition, the last one mirror-padded
    xy = rng.uniform([4, 4], [28, 44], size=(1, 1, HUMAN.num_keypoints, 2)) + rng.normal(
        0, 1.5, size=(frames, 1, HUMAN.num_keypoints, 2))
    seq = PoseSequence(HUMAN, np.concatenate([xy, np.ones((frames, 1, HUMAN.num_keypoints, 1))], -1).astype(
        np.float32), 32, 48)
    rendered = torch.from_numpy(render_sequence(seq, "posegen", 32, 48)).float().div(255)  # Render Poses' IMAGE
    assert rendered.any()
    settings = _settings(kv=_kv(mask_mode="none"))
    inputs = _inputs(vae, frames)
    want = generate_long_video(base, cond, replace(inputs, pose_frames=rendered), settings, EULER).frames
    got = generate_long_video(base, cond, replace(inputs, pose_frames=RenderedPoses(seq, "posegen", 32, 48)),
                              settings, EULER).frames
    assert got.shape[0] == frames and torch.equal(got, want)
