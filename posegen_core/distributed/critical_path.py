"""How long a distributed long video takes on N workers: the plan's jobs as a DAG (``schedule``, the driver's
own order), list-scheduled on N workers with given job times, and the driver's in-order merge after them (it
takes the frames the workers decoded). Used by the benchmark to check the model against measured 1- and
2-worker runs, and to predict PoseGen's real size (docs/distributed.md)."""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass

from ..longvideo.merge import WindowedMerge
from ..longvideo.plan import SegmentPlan
from .jobs import Job
from .schedule import ChunkSchedule


@dataclass(frozen=True)
class ChunkCosts:
    """Seconds of the pieces of a run: one sampler step of one chunk (both CFG passes), a chunk's VAE decode,
    its pose (and hand) VAE encode, a worker making its models (0 when they are loaded), and the driver's share
    of a chunk: fetching its decoded frames, the cross-fade and the file's encode."""

    step: float
    decode: float
    encode: float = 0.0
    load: float = 0.0
    merge: float = 0.0


def job_seconds(job: Job, plan: SegmentPlan, costs: ChunkCosts, steps: int, shared: int) -> float:
    """A job's time on one worker, as ``jobs.run_job`` spends it."""
    n = len(job.chunks)
    anchor_extra = 0 if plan.anchor in job.chunks else 1
    if job.kind == "shared":
        return (n + anchor_extra) * (shared * costs.step + costs.encode)
    if job.kind == "finish":
        return (steps - shared) * costs.step + costs.decode + (0 if shared else costs.encode)
    if job.kind == "whole":
        return (n + anchor_extra) * (steps * costs.step + costs.encode) + n * costs.decode
    if job.kind == "transition":
        return steps * costs.step + costs.encode + costs.decode
    return costs.decode  # decode


@dataclass
class Timeline:
    workers_done: float  # when the last job ends
    total: float  # when the driver has merged the last chunk
    busy: float  # worker-seconds of jobs


def simulate(plan: SegmentPlan, workers: int, costs: ChunkCosts, steps: int, shared: int,
             seconds: Callable[[Job], float] | None = None) -> Timeline:
    """The run on ``workers`` workers (``shared`` > 0: lockstep with that many shared steps)."""
    seconds = seconds or (lambda job: job_seconds(job, plan, costs, steps, shared))
    schedule = ChunkSchedule(plan, workers=workers, lockstep=shared > 0, shares_kv=shared > 0)
    free = [(costs.load, w) for w in range(workers)]
    heapq.heapify(free)
    running: list[tuple[float, int, int, Job]] = []
    ready_at: dict[int, float] = {}  # chunk index -> when its final latent exists
    order = 0
    busy = 0.0
    now = 0.0
    while not schedule.complete:
        while free and schedule.ready:
            at, worker = heapq.heappop(free)
            job = schedule.take()
            length = seconds(job)
            busy += length
            order += 1
            heapq.heappush(running, (max(at, now) + length, order, worker, job))
        if not running:
            raise RuntimeError("the schedule is stuck")
        now, _, worker, job = heapq.heappop(running)
        schedule.done(job)
        if job.kind in ("finish", "whole", "transition"):
            for index in job.chunks:
                ready_at[index] = now
        heapq.heappush(free, (now, worker))
    driver = 0.0
    for chunk in WindowedMerge(plan, lambda frames: None).order():
        driver = max(driver, ready_at[chunk.index]) + costs.merge
    return Timeline(max(ready_at.values(), default=0.0), driver, busy)


def single_process_seconds(plan: SegmentPlan, costs: ChunkCosts, steps: int) -> float:
    """The same video in one process: every chunk's steps once, each encoded and decoded once."""
    return len(plan.chunks) * (steps * costs.step + costs.encode + costs.decode) + costs.load
