"""The distributed long video, with workers in this process (``LocalPool``): the same video as the plain run, bit
for bit, with any number of workers, lockstep or whole, with lost jobs run again, and resumed from a run folder."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from posegen_core.distributed.driver import DistributedChunks
from posegen_core.distributed.local_pool import LocalPool
from posegen_core.longvideo.run import _Runner, generate_long_video
from posegen_core.longvideo.work_store import MemoryStore

from ..longvideo.test_run import EULER, _inputs, _kv, _settings

FRAMES = 35  # three base segments and two transitions
LOCKSTEP = _settings(_kv(shared_steps=2), steps=3)


def _plain(models, settings, sampler=EULER, **kwargs):
    base, cond, vae = models
    return generate_long_video(base, cond, _inputs(vae, FRAMES), settings, sampler, **kwargs)


def _distributed(models, settings, workers, sampler=EULER, lose=None, store=None):
    base, cond, vae = models
    pools = []

    def remote(runner):
        def make_runner(progress):
            return _Runner(base, cond, _inputs(vae, FRAMES), settings, sampler, progress, MemoryStore())
        pools.append(LocalPool(workers, make_runner, lose))
        return DistributedChunks(runner, pools[-1], workers, lambda: False)

    result = generate_long_video(base, cond, _inputs(vae, FRAMES), settings, sampler, remote=remote, store=store)
    return result, pools[0]


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_lockstep_on_workers_equals_the_plain_run(models, workers):
    plain = _plain(models, LOCKSTEP)
    result, pool = _distributed(models, LOCKSTEP, workers)
    assert torch.equal(result.frames, plain.frames)
    kinds = [job.kind for _, job in pool.ran]
    assert kinds.count("shared") == min(workers, 3) and kinds.count("finish") == 3
    assert kinds.count("transition") == 2
    # every group but the anchor's recomputes the anchor's 2 shared steps
    assert f"({2 * (min(workers, 3) - 1)} of them the anchor" in result.report or workers == 1


def test_whole_segments_and_no_kv_sharing_equal_the_plain_run(models):
    whole = replace(LOCKSTEP, kv_sharing=replace(LOCKSTEP.kv_sharing, lockstep=False))
    result, pool = _distributed(models, whole, 2)
    assert torch.equal(result.frames, _plain(models, whole).frames)
    assert {job.kind for _, job in pool.ran} == {"whole", "transition"}
    off = _settings(_kv(shared_steps=0), steps=2)
    result, pool = _distributed(models, off, 2)
    assert torch.equal(result.frames, _plain(models, off).frames)
    assert [job.kind for _, job in pool.ran].count("whole") == 3


def test_a_lost_job_runs_again_and_the_video_is_the_same(models):
    plain = _plain(models, LOCKSTEP)
    result, pool = _distributed(models, LOCKSTEP, 2, lose=lambda worker, job: job.kind in ("finish", "transition")
                                and job.chunks[0] in (2, 3))
    assert torch.equal(result.frames, plain.frames)
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


def test_a_run_stopped_after_the_shared_steps_resumes_on_workers(models):
    plain = _plain(models, LOCKSTEP)
    store = MemoryStore()
    with pytest.raises(RuntimeError, match="lost"):
        _distributed(models, LOCKSTEP, 2, store=store,
                     lose=lambda worker, job: (_ for _ in ()).throw(RuntimeError("lost")) if job.kind == "finish"
                     else False)
    assert any(name.endswith(".state2") for name in store.entries)  # the shared steps' states were kept
    result, pool = _distributed(models, LOCKSTEP, 2, store=store)
    assert torch.equal(result.frames, plain.frames)
    assert "shared" not in [job.kind for _, job in pool.ran]
