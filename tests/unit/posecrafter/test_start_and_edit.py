"""The pieces that hand PoseCrafter's results to ComfyUI's samplers: the inverted NOISE, the face/hand edit object
and the editing Euler sampler, on its own and specialised per chunk of a long video."""

from __future__ import annotations

import comfy.k_diffusion.sampling as kd
import numpy as np
import pytest
import torch

from posegen_core.errors import PoseGenInputError
from posegen_core.posecrafter.edit_sampler import FaceHandEditSampler, editing_euler
from posegen_core.posecrafter.face_hand import FaceHandEdit
from posegen_core.posecrafter.latent_edit import num_pixel_frames
from posegen_core.posecrafter.start_noise import InvertedNoise, check_schedule
from posegen_core.poses.sequence import PoseSequence
from posegen_core.poses.skeletons import AP10K, BODY18, HUMAN
from posegen_core.wan.schedule import flow_match_sigmas

FACE = np.asarray(HUMAN.parts["face"])


# --- InvertedNoise --------------------------------------------------------------------------------------------


def test_inverted_noise_copies_its_frame_over_the_latent_and_keeps_its_schedule():
    one = torch.randn(1, 16, 1, 6, 4)
    noise = InvertedNoise(one, flow_match_sigmas(4, 5.0))
    out = noise.generate_noise({"samples": torch.zeros(2, 16, 5, 6, 4)})
    assert out.shape == (2, 16, 5, 6, 4)
    assert all(torch.equal(out[b, :, t], one[0, :, 0]) for b in range(2) for t in range(5))
    full = torch.randn(1, 16, 5, 6, 4)
    assert torch.equal(InvertedNoise(full, noise.sigmas).generate_noise({"samples": torch.zeros(1, 16, 5, 6, 4)}),
                       full)
    assert noise.start_sigma == 1.0


@pytest.mark.parametrize("latent, message", [
    (torch.zeros(1, 16, 6, 4), "^latent: "),
    (torch.zeros(1, 16, 3, 6, 8), "^noise: .*4x6 latent, sampled on a 16-channel 8x6"),
    (torch.zeros(1, 48, 3, 6, 4), "^noise: .*16-channel"),
])
def test_inverted_noise_refuses_another_latent(latent, message):
    noise = InvertedNoise(torch.randn(1, 16, 1, 6, 4), flow_match_sigmas(4, 5.0))
    with pytest.raises(PoseGenInputError, match=message):
        noise.generate_noise({"samples": latent})


def test_inverted_noise_of_several_frames_needs_as_many():
    noise = InvertedNoise(torch.randn(1, 16, 3, 6, 4), flow_match_sigmas(4, 5.0))
    with pytest.raises(PoseGenInputError, match="^noise: 3 inverted latent frames for a latent of 5"):
        noise.generate_noise({"samples": torch.zeros(1, 16, 5, 6, 4)})


def test_schedule_check_accepts_the_inversions_own_and_refuses_others():
    sigmas = flow_match_sigmas(4, 5.0)
    noise = InvertedNoise(torch.randn(1, 16, 1, 6, 4), sigmas)
    assert check_schedule(noise, None) is sigmas
    assert check_schedule(noise, sigmas.clone() + 1e-8) is sigmas
    assert check_schedule(object(), None) is None
    other = flow_match_sigmas(4, 5.0, 0.5)
    assert check_schedule(object(), other) is other
    with pytest.raises(PoseGenInputError, match="^start_sigmas: 4 steps from σ=0.8333, .*from σ=1"):
        check_schedule(noise, other)


# --- FaceHandEdit ---------------------------------------------------------------------------------------------


def _face_sequence(frames: int, width: int, height: int, offset=(0.0, 0.0)) -> PoseSequence:
    rng = np.random.default_rng(0)
    points = rng.uniform(-20, 20, (FACE.size, 2)) + (width / 2, height / 3) + np.asarray(offset)
    kp = np.zeros((frames, 1, HUMAN.num_keypoints, 3), np.float32)
    kp[:, 0, FACE, :2] = points
    kp[:, 0, FACE, 2] = 0.9
    return PoseSequence(HUMAN, kp, width, height)


def test_face_hand_edit_validates_its_settings():
    reference = _face_sequence(1, 128, 128)
    with pytest.raises(PoseGenInputError, match="^parts: none selected"):
        FaceHandEdit(reference, parts=())
    with pytest.raises(PoseGenInputError, match="^at_step: -1"):
        FaceHandEdit(reference, at_step=-1)
    animal = PoseSequence(AP10K, np.zeros((1, 1, AP10K.num_keypoints, 3), np.float32), 64, 64)
    with pytest.raises(PoseGenInputError, match="^reference_pose: its skeleton 'ap10k' has no face"):
        FaceHandEdit(animal)


def test_editor_for_plans_on_the_latents_own_canvas():
    # poses on a 256x256 canvas, a latent of 8x16 (a 64x128 video, 1:2): the centre crop keeps x in [64, 192)
    # and the resize halves it, so the targets' 16 px shift becomes 8 px, one latent pixel
    reference = _face_sequence(1, 256, 256)
    targets = _face_sequence(num_pixel_frames(3), 256, 256, offset=(16.0, 0.0))  # 16 px right = 1 latent pixel
    plans = []
    edit = FaceHandEdit(reference, parts=("face",), feather=0.0).editor_for(targets, on_plan=plans.append)
    latent = torch.randn(1, 16, 3, 16, 8)
    out = edit(latent)
    (plan,) = plans
    assert plan.grid == (3, 16, 8) and len(plan.edits) == 3
    for e in plan.edits:  # a pure shift by one latent pixel to the right
        np.testing.assert_allclose(e.affine_latent, [[1, 0, 1], [0, 1, 0]], atol=1e-5)  # float32 keypoints
    x0, y0, x1, y1 = plan.edits[1].box
    assert torch.equal(out[:, :, 1, y0:y1, x0 + 1:x1], latent[:, :, 0, y0:y1, x0:x1 - 1])
    with pytest.raises(PoseGenInputError, match="^target_poses: 9 poses for a latent of 2 frames"):
        edit(torch.randn(1, 16, 2, 16, 8))


def test_plan_errors_name_the_edit_nodes_inputs():
    reference = _face_sequence(1, 256, 256)
    body = PoseSequence(BODY18, np.zeros((num_pixel_frames(3), 1, BODY18.num_keypoints, 3), np.float32), 256, 256)
    edit = FaceHandEdit(reference, parts=("face",)).editor_for(body)
    with pytest.raises(PoseGenInputError, match="^target_poses: skeleton 'openpose_body18' differs") as caught:
        edit(torch.randn(1, 16, 3, 16, 8))
    assert caught.value.expected == "the reference's skeleton"
    with pytest.raises(PoseGenInputError, match="^reference_pose: the reference canvas is 256x256"):
        FaceHandEdit(reference).plan_for(_face_sequence(num_pixel_frames(3), 64, 128), (3, 16, 8))
    with pytest.raises(PoseGenInputError, match="^box_padding: -0.5"):
        FaceHandEdit(reference, box_padding=-0.5).plan_for(_face_sequence(num_pixel_frames(3), 64, 128), (3, 16, 8))


# --- editing Euler --------------------------------------------------------------------------------------------


def _denoiser(x, sigma):
    return 0.5 * x + 0.1


@pytest.mark.parametrize("at_step", [0, 2])
def test_editing_euler_is_euler_with_the_edit_before_the_step(at_step):
    sigmas = flow_match_sigmas(4, 5.0)
    x = torch.randn(1, 4, 2, 3, 3)
    edited_states = []

    def edit(state):
        edited_states.append(state.clone())
        return state.flip(-1)

    steps = []
    out = editing_euler(edit, at_step).sampler_function(_denoiser, x, sigmas, callback=lambda i: steps.append(i["i"]),
                                                      disable=True)
    before = kd.sample_euler(_denoiser, x, sigmas[:at_step + 1], disable=True) if at_step else x
    want = kd.sample_euler(_denoiser, before.flip(-1), sigmas[at_step:], disable=True)
    assert torch.equal(edited_states[0], before) and torch.equal(out, want)
    assert steps == [0, 1, 2, 3]  # one continuous count over both halves


def test_editing_euler_refuses_a_step_past_the_schedule():
    with pytest.raises(PoseGenInputError, match="^at_step: 4 in a schedule of 4 steps"):
        editing_euler(lambda s: s, 4).sampler_function(_denoiser, torch.zeros(1, 1, 1, 1, 1),
                                                        flow_match_sigmas(4, 5.0))


# --- FaceHandEditSampler ----------------------------------------------------------------------------------------


def test_face_hand_edit_sampler_alone_is_the_editing_euler_over_its_targets():
    import comfy.samplers

    reference = _face_sequence(1, 256, 256)
    targets = _face_sequence(num_pixel_frames(3), 256, 256, offset=(16.0, 0.0))
    edit = FaceHandEdit(reference, parts=("face",), feather=0.0)
    plans, want_plans = [], []
    sampler = FaceHandEditSampler(edit, targets, on_plan=plans.append)
    assert isinstance(sampler, comfy.samplers.KSAMPLER)
    x, sigmas = torch.randn(1, 16, 3, 16, 8), flow_match_sigmas(4, 5.0)
    want = editing_euler(edit.editor_for(targets, on_plan=want_plans.append)).sampler_function(
        _denoiser, x, sigmas, disable=True)
    assert torch.equal(sampler.sampler_function(_denoiser, x, sigmas, disable=True), want)
    assert [p.summary() for p in plans] == [p.summary() for p in want_plans]


def test_face_hand_edit_sampler_per_chunk_plans_on_the_chunks_frames():
    import comfy.samplers

    reference = _face_sequence(1, 256, 256)
    driving = _face_sequence(20, 256, 256, offset=(16.0, 0.0))
    edit = FaceHandEdit(reference, parts=("face",), feather=0.0)
    sampler, notes = FaceHandEditSampler(edit, driving), []
    context = dict(label="base segment 1", steps=4, inverted_start=True, report=notes.append)
    transition = sampler.for_chunk("transition", np.arange(9), **context)
    assert transition.sampler_function is comfy.samplers.sampler_object("euler").sampler_function
    # an inserted reference frame first (-1), then driving frames 10..17: frame 0 of the latent keeps its place
    frames = np.concatenate([[-1], np.arange(10, 18)])
    base = sampler.for_chunk("base", frames, **context)
    x = torch.randn(1, 16, 3, 16, 8)
    base.sampler_function(_denoiser, x, flow_match_sigmas(4, 5.0), disable=True)
    (note,) = notes
    assert note.startswith("face/hand edit, base segment 1: latent edit plan on a 3x16x8 latent grid")
    on_canvas = edit.segment_targets(driving, frames)
    np.testing.assert_array_equal(on_canvas.keypoints[0], reference.keypoints[0])
    np.testing.assert_array_equal(on_canvas.keypoints[1:], driving.keypoints[10:18])


@pytest.mark.parametrize("frames, context, message", [
    (np.arange(9), dict(steps=2), "^face_hand_edit: edits at step 2 of a 2-step schedule"),
    (np.arange(9), dict(inverted_start=False), "^face_hand_edit: there is no reference in the latent"),
    (np.arange(15, 24), {}, "^target_poses: 20 poses, but base segment 1 shows driving frame 23"),
])
def test_face_hand_edit_sampler_checks_each_base_segment(frames, context, message):
    edit = FaceHandEdit(_face_sequence(1, 256, 256), at_step=2)
    sampler = FaceHandEditSampler(edit, _face_sequence(20, 256, 256))
    with pytest.raises(PoseGenInputError, match=message):
        sampler.for_chunk("base", frames, **{"label": "base segment 1", "steps": 4, "inverted_start": True,
                                            "report": print, **context})
    # an inserted reference pose and a later step need no inverted start
    sampler.for_chunk("base", np.concatenate([[-1], np.arange(8)]), label="base segment 0", steps=4,
                      inverted_start=False, report=print)
