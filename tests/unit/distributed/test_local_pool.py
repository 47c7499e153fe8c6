"""The distributed long video, with workers in this process (``LocalPool``): the same video as the plain run, bit
for bit, with any number of workers, lockstep or whole, with lost jobs run again, and resumed from a run folder."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from posegen_core.distributed.driver import DistributedChunks
from posegen_core.distributed.local_pool import LocalPool
from posegen_core.longvideo.merge import WindowedMerge
from posegen_core.longvideo.plan import plan_segments
from posegen_core.longvideo.run import _Runner, generate_long_video
from posegen_core.longvideo.work_store import MemoryStore

from ..longvideo.test_run import EULER, _inputs, _kv, _settings

FRAMES = 35  # three base segments and two transitions
LOCKSTEP = _settings(_kv(shared_steps=2), steps=3)


def _plain(models, settings, sampler=EULER, **kwargs):
    base, cond, vae = models
    return generate_long_video(base, cond, _inputs(vae, FRAMES), settings, sampler, **kwargs)


@pytest.fixture(scope="module")
def plain(models):
    """The single-process lockstep video every distributed run here must equal (made once: it is the slow part)."""
    return _plain(models, LOCKSTEP).frames


def _distributed(models, settings, workers, sampler=EULER, lose=None, store=None, pool_class=LocalPool,
                 driver_decodes=None, frames_held=None):
    """``driver_decodes``: a list that gets one entry per chunk the driver decodes itself."""
    base, cond, vae = models
    pools = []

    def remote(runner):
        def make_runner(progress):
            return _Runner(base, cond, _inputs(vae, FRAMES), settings, sampler, progress, MemoryStore())
        if driver_decodes is not None:
            decode = runner.chunks.decode
            runner.chunks.decode = lambda latent: driver_decodes.append(latent.shape) or decode(latent)
        pools.append(pool_class(workers, make_runner, lose))
        chunks = DistributedChunks(runner, pools[-1], workers, lambda: False)
        if frames_held is not None:
            chunks.frames_held = frames_held
        return chunks

    result = generate_long_video(base, cond, _inputs(vae, FRAMES), settings, sampler, remote=remote, store=store)
    return result, pools[0]


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_lockstep_on_workers_equals_the_plain_run(models, plain, workers):
    decodes = []
    result, pool = _distributed(models, LOCKSTEP, workers, driver_decodes=decodes)
    assert torch.equal(result.frames, plain)
    kinds = [job.kind for _, job in pool.ran]
    assert kinds.count("shared") == min(workers, 3) and kinds.count("finish") == 3
    assert kinds.count("transition") == 2
    # every group but the anchor's recomputes the anchor's 2 shared steps
    assert f"({2 * (min(workers, 3) - 1)} of them the anchor" in result.report or workers == 1
    # the driver decodes nothing itself: every chunk's frames come from the worker that made it
    assert decodes == []
    assert "decoded frames: 5 chunks taken from the workers" in result.report and "0 decoded here" in result.report


class _LosingFrames(LocalPool):
    """A pool whose workers' kept frames of chunks 2 and 3 are gone when the driver asks (their worker died)."""

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.gone: list[torch.Tensor] = []

    def fetch(self, handle):
        return None if any(handle is frames for frames in self.gone) else handle

    def submit(self, worker, job):
        super().submit(worker, job)
        result = self.outcomes[-1].result
        if result is not None:
            self.gone += [frames for index, frames in result.frames.items() if index in (2, 3)]


def test_lost_or_released_worker_frames_are_decoded_here_to_the_same_video(models, plain):
    decodes = []
    result, _ = _distributed(models, LOCKSTEP, 2, pool_class=_LosingFrames, driver_decodes=decodes)
    assert torch.equal(result.frames, plain)
    assert len(decodes) == 2 and "3 chunks taken from the workers" in result.report
    # none kept at all (as when more chunks finish ahead of the merge than may wait): all decoded here
    decodes.clear()
    result, _ = _distributed(models, LOCKSTEP, 2, driver_decodes=decodes, frames_held=0)
    assert torch.equal(result.frames, plain)
    assert len(decodes) == 5 and "0 chunks taken from the workers" in result.report


def test_frames_waiting_for_the_merge_are_bounded_nearest_first():
    """With more finished chunks than may wait, those furthest from the merge are released."""
    chunks = DistributedChunks.__new__(DistributedChunks)  # only its frame bookkeeping
    plan = plan_segments(5 * 35, 17, 5, 4)
    chunks.decoded, chunks.frames_held = {}, 3
    chunks.merge_position = {c.index: n for n, c in enumerate(WindowedMerge(plan, print).order())}
    chunks._keep_frames({4: "f4", 8: "f8"})
    chunks._keep_frames({1: "f1", 2: "f2"})  # merge order 0, 2, 1, 4, 3, ...: 8 is the furthest
    assert chunks.decoded == {4: "f4", 1: "f1", 2: "f2"}
    chunks._keep_frames({3: "f3"})  # 3 comes after 4 in merge order
    assert set(chunks.decoded) == {1, 2, 4}


def test_whole_segments_and_no_kv_sharing_equal_the_plain_run(models):
    whole = replace(LOCKSTEP, kv_sharing=replace(LOCKSTEP.kv_sharing, lockstep=False))
    result, pool = _distributed(models, whole, 2)
    assert torch.equal(result.frames, _plain(models, whole).frames)
    assert {job.kind for _, job in pool.ran} == {"whole", "transition"}
    off = _settings(_kv(shared_steps=0), steps=2)
    result, pool = _distributed(models, off, 2)
    assert torch.equal(result.frames, _plain(models, off).frames)
    assert [job.kind for _, job in pool.ran].count("whole") == 3


def test_a_lost_job_runs_again_and_the_video_is_the_same(models, plain):
    result, pool = _distributed(models, LOCKSTEP, 2, lose=lambda worker, job: job.kind in ("finish", "transition")
                                and job.chunks[0] in (2, 3))
    assert torch.equal(result.frames, plain)
    assert result.report.count("rerun: ") == 2
    assert "finish (chunk 2): worker" in result.report and "transition (chunk 3): worker" in result.report


def test_a_failing_job_fails_the_run_naming_the_worker(models):
    class Broken(Exception):
        pass

    base, cond, vae = models

    def remote(runner):
        def make_runner(progress):
            worker = _Runner(base, cond, _inputs(vae, FRAMES), LOCKSTEP, EULER, progress, MemoryStore())
            worker.sample_transition = lambda chunk, keyframes: (_ for _ in ()).throw(Broken("no memory"))
            return worker
        return DistributedChunks(runner, LocalPool(2, make_runner), 2, lambda: False)

    with pytest.raises(RuntimeError, match=r"worker \d \(this process\) failed transition \(chunk 1\): no memory"):
        generate_long_video(base, cond, _inputs(vae, FRAMES), LOCKSTEP, EULER, remote=remote)


def test_a_run_stopped_after_the_shared_steps_resumes_on_workers(models, plain):
    store = MemoryStore()
    with pytest.raises(RuntimeError, match="lost"):
        _distributed(models, LOCKSTEP, 2, store=store,
                     lose=lambda worker, job: (_ for _ in ()).throw(RuntimeError("lost")) if job.kind == "finish"
                     else False)
    assert any(name.endswith(".state2") for name in store.entries)  # the shared steps' states were kept
    result, pool = _distributed(models, LOCKSTEP, 2, store=store)
    assert torch.equal(result.frames, plain)
    assert "shared" not in [job.kind for _, job in pool.ran]
