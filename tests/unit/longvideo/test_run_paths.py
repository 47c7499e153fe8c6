"""Every way of running a long video gives the plain run's video bit for bit: lockstep anchor vs the anchor first,
streamed to a file vs one IMAGE batch, resumed after a stop vs uninterrupted; and what each holds (K/V bytes,
steps run again)."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pytest
import torch

from posegen_core.errors import PoseGenInputError
from posegen_core.longvideo.kvshare import kv_bytes
from posegen_core.longvideo.options import PoseCrafterOptions
from posegen_core.longvideo.run import generate_long_video
from posegen_core.longvideo.work_store import MemoryStore
from posegen_core.posecrafter.edit_sampler import FaceHandEditSampler
from posegen_core.posecrafter.face_hand import FaceHandEdit
from posegen_core.posecrafter.start_noise import InvertedNoise
from posegen_core.video.writer import VideoFileWriter, read_frames, to_uint8
from posegen_core.wan.schedule import flow_match_sigmas

from .test_run import EULER, _faces, _inputs, _kv, _settings

FRAMES = 35  # three base segments (0, 13, 26) and two transitions
KV = dict(shared_steps=2)  # two lockstep steps of three


def _run(models, settings, sampler=EULER, **kwargs):
    base, cond, vae = models
    return generate_long_video(base, cond, _inputs(vae, FRAMES), settings, sampler, **kwargs)


@pytest.mark.parametrize("mask_mode", ["attention", "none"])
def test_lockstep_gives_the_anchor_first_video_and_holds_one_step_of_kv(models, mask_mode):
    settings = _settings(_kv(mask_mode=mask_mode, **KV), steps=3)
    lockstep = _run(models, settings)
    whole = _run(models, replace(settings, kv_sharing=replace(settings.kv_sharing, lockstep=False)))
    assert torch.equal(lockstep.frames, whole.frames)
    base = models[0]
    tokens = 3 * 3 * 2 + 3 * 2  # latent frames x (48/16) x (32/16), plus the reference's frame
    dim = base.model.diffusion_model.dim
    one_step = kv_bytes(tokens, dim, base.model.get_dtype(), steps=1, blocks=1)
    assert lockstep.kv_peak_bytes == one_step
    assert whole.kv_peak_bytes == 2 * one_step
    assert "lockstep" in lockstep.report and "every shared step at once" in whole.report


def test_lockstep_with_posecrafter_start_insertion_and_face_hand_edit(models):
    inverted = InvertedNoise(torch.randn(1, 16, 1, 6, 4, generator=torch.Generator().manual_seed(5)),
                             flow_match_sigmas(3, 5.0))
    posecrafter = PoseCrafterOptions(start_noise=inverted, reference_pose_frame=torch.rand(1, 48, 32, 3))
    settings = _settings(_kv(**KV), posecrafter=posecrafter, steps=3)
    edit = FaceHandEditSampler(FaceHandEdit(reference=_faces(1).frames([0]), parts=("face",), at_step=1),
                               _faces(FRAMES, shift=0.5))
    lockstep = _run(models, settings, edit)
    whole = _run(models, replace(settings, kv_sharing=replace(settings.kv_sharing, lockstep=False)), edit)
    assert torch.equal(lockstep.frames, whole.frames)
    assert "face/hand edit" in lockstep.report


def test_a_sampler_that_does_not_run_in_pieces_falls_back_to_the_anchor_first(models):
    import comfy.samplers

    heun = comfy.samplers.sampler_object("heun")
    result = _run(models, _settings(_kv(**KV), steps=3), heun)
    assert "lockstep: off" in result.report and result.kv_peak_bytes > 0


class Stop(Exception):
    pass


def _stop_after(steps: int):
    def progress(done, total, preview):
        if done > steps:
            raise Stop
    return progress


@pytest.mark.parametrize("lockstep, stop_at, piece, again", [
    # (stop after this many steps, steps of the piece it stops in, steps run again on purpose)
    (True, 2, 1, 1),  # in shared step 1: base 4 has not run it; the anchor runs it again to record its K/V
    (True, 7, 1, 0),  # in base segment 2's own last step (after the shared steps each segment finishes alone)
    (True, 11, 1, 0),  # in the second transition (its steps are kept one by one too)
    (False, 4, 3, 3),  # the anchor first: base 2 is sampled whole, lost whole, and the anchor records again
])
def test_a_stopped_run_resumes_to_the_same_video_running_only_unfinished_steps(models, lockstep, stop_at, piece,
                                                                              again):
    settings = _settings(_kv(lockstep=lockstep, **KV), steps=3)
    plain = _run(models, settings)
    total = 5 * 3
    assert plain.steps_run == total
    store = MemoryStore()
    with pytest.raises(Stop):
        _run(models, settings, progress=_stop_after(stop_at), store=store)
    resumed = _run(models, settings, store=store)
    assert torch.equal(resumed.frames, plain.frames)
    finished = int(re.search(r"\((\d+) of 15 were finished before\)", resumed.report).group(1))
    assert 0 <= (stop_at + 1) - finished <= piece  # only the step (or the whole-chunk call) it stopped in is lost
    assert resumed.steps_run == total - finished + again


def test_streamed_to_a_lossless_file_equals_the_image_frames(models, tmp_path):
    settings = _settings(_kv(**KV), steps=3)
    image = _run(models, settings).frames
    writer = VideoFileWriter(tmp_path / "video.mp4", 16.0, "lossless")
    with writer:
        streamed = _run(models, settings, sink=writer.write, keep_frames=False)
    assert streamed.frames is None
    assert np.array_equal(read_frames(tmp_path / "video.mp4"), to_uint8(image))


def test_a_store_from_other_inputs_is_refused(models):
    settings = _settings(_kv(**KV), steps=3)
    store = MemoryStore()
    store.save("base0", {"x": torch.zeros(1, 16, 2, 6, 4)})
    with pytest.raises(PoseGenInputError, match="^run_folder: 'memory' holds a latent of shape"):
        _run(models, settings, store=store)


def test_fp8_kv_storage_halves_the_store_and_stays_close(models):
    settings = _settings(_kv(**KV), steps=3)
    exact = _run(models, settings)
    fp8 = _run(models, replace(settings, kv_sharing=replace(settings.kv_sharing, kv_storage="fp8_e4m3fn")))
    assert fp8.kv_peak_bytes * 4 == exact.kv_peak_bytes  # float32 tiny model: a quarter
    assert torch.equal(fp8.frames[:8], exact.frames[:8])  # the anchor does not read its own K/V
    assert 0 < (fp8.frames - exact.frames).abs().max() < 0.1


def test_a_kv_store_that_cannot_fit_is_refused_before_sampling(models, monkeypatch):
    import comfy.model_management

    calls = []
    monkeypatch.setattr(comfy.model_management, "get_free_memory", lambda *a, **k: 1024)  # 1 KiB of RAM left
    with pytest.raises(PoseGenInputError, match=r"^kv_sharing: the anchor's K/V store needs .* but RAM has"):
        _run(models, _settings(_kv(**KV), steps=3), progress=lambda *a: calls.append(a))
    assert calls == []  # nothing was sampled


def test_the_report_carries_the_memory_plan(models):
    report = _run(models, _settings(_kv(**KV), steps=3)).report
    assert "memory plan (GiB)" in report and "shared steps" in report and "transitions" in report
    assert "anchor and base segments in lockstep" in report
