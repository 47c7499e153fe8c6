"""The jobs' dependencies and the critical-path model built on them."""

import pytest

from posegen_core.distributed.critical_path import ChunkCosts, simulate, single_process_seconds
from posegen_core.distributed.jobs import Job
from posegen_core.distributed.schedule import ChunkSchedule
from posegen_core.longvideo.plan import plan_segments

PLAN = plan_segments(142, 17, 5, 4)  # 6 base segments (chunks 0, 2, .., 10), 5 transitions


def _drain(schedule: ChunkSchedule) -> list[Job]:
    ran = []
    while not schedule.complete:
        job = schedule.take()
        assert job is not None, "stuck"
        schedule.done(job)
        ran.append(job)
    return ran


def test_lockstep_groups_then_finishes_then_transitions_when_both_neighbours_are_done():
    schedule = ChunkSchedule(PLAN, workers=2, lockstep=True, shares_kv=True)
    assert len(PLAN.base_chunks) == 6
    assert sorted(j.chunks for j in schedule.ready) == [(0, 4, 8), (2, 6, 10)]
    first = schedule.take()
    assert schedule.done(first) == [Job("finish", (i,)) for i in first.chunks]
    finished = []
    while (job := schedule.take()) is not None and job.kind != "shared":
        finished.append(schedule.done(job))
    assert job.kind == "shared"  # the other group's shared steps come before any finish
    schedule.done(job)
    ran = _drain(schedule)
    for transition in (j for j in ran if j.kind == "transition"):
        i = transition.chunks[0]
        before = [j for j in ran[:ran.index(transition)] if j.kind == "finish"]
        assert {(i - 1,), (i + 1,)} <= {j.chunks for j in before} | {(c,) for c in first.chunks}


def test_a_failed_job_runs_again_and_resumed_chunks_are_skipped():
    schedule = ChunkSchedule(PLAN, workers=3, lockstep=True, shares_kv=True)
    job = schedule.take()
    schedule.failed(job)
    assert job in schedule.ready and job not in schedule.running
    resumed = ChunkSchedule(PLAN, workers=2, lockstep=True, shares_kv=True, finished={0, 1, 2},
                            past_shared={4, 6})
    kinds = sorted((j.kind, j.chunks) for j in resumed.ready)
    assert ("finish", (4,)) in kinds and ("finish", (6,)) in kinds
    assert ("decode", (2,)) in kinds and ("decode", (0,)) not in kinds  # transition 1 is done
    assert [j.chunks for j in resumed.ready if j.kind == "shared"] == [(8,), (10,)]
    ran = _drain(resumed)
    assert {j.chunks[0] for j in ran if j.kind == "transition"} == {3, 5, 7, 9}


def test_without_lockstep_bases_are_whole_and_without_sharing_one_by_one():
    assert sorted(len(j.chunks) for j in ChunkSchedule(PLAN, workers=4, lockstep=False, shares_kv=True).ready) == \
        [1, 1, 2, 2]
    assert len(ChunkSchedule(PLAN, workers=4, lockstep=False, shares_kv=False).ready) == 6
    with pytest.raises(ValueError, match="workers"):
        ChunkSchedule(PLAN, workers=0, lockstep=True, shares_kv=True)


COSTS = ChunkCosts(step=1.0, decode=2.0, encode=0.5, merge=0.25)


def test_one_worker_does_the_single_process_work_with_the_drivers_merge_beside_it():
    one = simulate(PLAN, 1, COSTS, steps=50, shared=2)
    single = single_process_seconds(PLAN, COSTS, steps=50)
    # the worker decodes every chunk once (the driver takes its frames); the driver's merges overlap its jobs
    assert one.busy == pytest.approx(single)
    assert one.total == pytest.approx(one.workers_done + COSTS.merge)


def test_many_workers_approach_the_critical_path():
    many = simulate(PLAN, 64, COSTS, steps=50, shared=2)
    path = (2 * 2 * COSTS.step + 2 * COSTS.encode) + (48 * COSTS.step + COSTS.decode) + 50 + 0.5 + COSTS.decode
    assert many.workers_done == pytest.approx(path)
    times = [simulate(PLAN, n, COSTS, steps=50, shared=2).total for n in (1, 2, 3, 6)]
    assert times == sorted(times, reverse=True) and times[0] / times[-1] > 3
