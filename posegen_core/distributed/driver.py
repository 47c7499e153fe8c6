"""The driver of a distributed long video: hands the plan's jobs to a pool of workers in dependency order
(``schedule``), keeps what they return in the run's store (the run folder, so a stopped run resumes), and lets
the run's merge wait for each chunk in video order (``longvideo.run.RemoteChunks``).

A job lost with its worker (killed, out of memory, machine gone) runs again on a live one; the report lists
every rerun. A job that fails on a worker fails the run with the worker's message. An interrupt reaches every
worker at once. The transitions' keyframes come from the workers' decodes; before a transition is merged they
are compared with the frames the merge holds, so a worker that decodes differently cannot go unnoticed.

The workers also keep every chunk they decode (by reference: in Ray's object store, on their own machine), and
the merge takes those frames instead of decoding the chunk again here, so the driver does no model work at all.
At most ``2 × workers + 2`` chunks' frames wait at once, the nearest to the merge: a chunk's frames past that,
or lost with their worker, are decoded here from its latent, which is always in the store. Nothing held grows
with the video's length.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import torch

from ..longvideo.merge import WindowedMerge
from ..longvideo.plan import Chunk, TransitionKeyframes
from ..longvideo.work_store import conditioning_name, entry_name, state_name, steps_done
from .jobs import Entries, Job, JobResult, keyframes_name, transition_keyframes
from .schedule import ChunkSchedule


class WorkerLost(RuntimeError):
    """The worker running a job went away; the job can run again elsewhere."""


@dataclass
class Outcome:
    worker: int
    job: Job
    result: JobResult | None = None
    error: BaseException | None = None  # WorkerLost: run it again; anything else fails the run


class WorkerPool(Protocol):
    """Workers that each run one job at a time (``ray_pool.RayPool``; ``local_pool.LocalPool`` in-process)."""

    def describe(self, worker: int) -> str: ...

    def idle(self) -> list[int]: ...

    def submit(self, worker: int, job: Job) -> None: ...

    def poll(self, timeout: float) -> list[Outcome]: ...

    def progress(self) -> list[tuple[int, Any]]: ...  # (steps, preview or None) since the last call

    def interrupt(self) -> None: ...

    def fetch(self, handle: Any) -> torch.Tensor | None: ...  # a job's decoded frames, None when lost


class DistributedChunks:
    """``RemoteChunks`` over a ``WorkerPool`` for one run (``runner``: the driver's ``_Runner``)."""

    def __init__(self, runner, pool: WorkerPool, workers: int, interrupted: Callable[[], bool]) -> None:
        self.r, self.pool, self.interrupted = runner, pool, interrupted
        store, plan = runner.store, runner.plan
        self.shared = min(len(runner.kv_settings.steps), runner.base_steps) if runner.lockstep else 0
        finished = {c.index for c in plan.chunks if store.has(entry_name(c))}
        past = {c.index for c in plan.base_chunks
                if self.shared and steps_done(store, c, runner.base_steps) >= self.shared}
        kept = {c.index for c in plan.base_chunks if store.has(keyframes_name(c))}  # no decode again
        self.schedule = ChunkSchedule(plan, workers=workers, lockstep=runner.lockstep,
                                      shares_kv=runner.kv_settings is not None, finished=finished,
                                      past_shared=past - finished, keyframes=kept)
        anchor = plan.chunks[plan.anchor]
        self.anchor_recomputes = sum(
            (self.shared if runner.lockstep else runner.base_steps)
            for j in self.schedule.ready if j.kind in ("shared", "whole") and runner.kv_settings is not None
            and anchor.index not in j.chunks)
        runner.chunks.total_steps += self.anchor_recomputes
        self.reruns: list[str] = []
        self.steps_run = 0
        self.bytes_sent = self.bytes_received = 0
        self.jobs_run = 0
        self.job_seconds: dict[str, list[float]] = {}
        self.decode_seconds: list[float] = []
        # decoded frames the workers kept, by chunk: at most ``frames_held`` of the chunks nearest to the merge
        self.decoded: dict[int, Any] = {}
        self.frames_held = 2 * workers + 2
        self.merge_position = {c.index: n for n, c in enumerate(WindowedMerge(plan, lambda frames: None).order())}
        self.frames_taken = self.frames_decoded_here = 0
        self.frame_bytes = 0

    # --- RemoteChunks --------------------------------------------------------------------------------------------

    def start(self) -> None:
        self._dispatch()

    def wait_for(self, chunk: Chunk, keyframes: TransitionKeyframes | None = None) -> None:
        name = entry_name(chunk)
        while not self.r.store.has(name):
            self._pump()
        if keyframes is not None:
            self._check_keyframes(chunk, keyframes)

    def frames(self, chunk: Chunk) -> torch.Tensor | None:
        handle = self.decoded.pop(chunk.index, None)
        frames = None if handle is None else self.pool.fetch(handle)
        if frames is None:
            self.frames_decoded_here += 1
            return None
        self.frames_taken += 1
        self.frame_bytes += frames.numel() * frames.element_size()
        return frames

    # --- the loop ---------------------------------------------------------------------------------------------------

    def _pump(self) -> None:
        if self.interrupted():
            self.pool.interrupt()
            import comfy.model_management

            raise comfy.model_management.InterruptProcessingException()
        for outcome in self.pool.poll(0.1):
            self._handle(outcome)
        for steps, preview in self.pool.progress():
            chunks = self.r.chunks
            chunks.done_steps += steps
            if chunks.progress is not None:
                chunks.progress(min(chunks.done_steps, chunks.total_steps), chunks.total_steps, preview)
        self._dispatch()
        if not self.schedule.ready and not self.schedule.running and not self.schedule.complete:
            raise RuntimeError("distributed long video: nothing left to run but chunks are missing "
                               f"(finished {sorted(self.schedule.finished)})")

    def _handle(self, outcome: Outcome) -> None:
        job = outcome.job
        if isinstance(outcome.error, WorkerLost):
            self.schedule.failed(job)
            self.reruns.append(f"{job.describe()}: {self.pool.describe(outcome.worker)} was lost "
                               f"({outcome.error}); run again")
            return
        if outcome.error is not None:
            raise RuntimeError(f"{self.pool.describe(outcome.worker)} failed {job.describe()}: "
                               f"{outcome.error}") from outcome.error
        result = outcome.result
        store = self.r.store
        for name, tensors in result.entries.items():
            store.save(name, tensors)
            self.bytes_received += _bytes(tensors)
        for name in result.removed:
            store.remove(name)
        for index, frames in result.keyframes.items():
            store.save(keyframes_name(self.r.plan.chunks[index]), frames)
            self.bytes_received += _bytes(frames)
        self._keep_frames(result.frames)
        self.steps_run += result.steps
        self.r.chunks.steps_run += result.steps
        self.jobs_run += 1
        self.job_seconds.setdefault(job.kind, []).append(result.seconds)
        if result.frames:
            self.decode_seconds.append(result.decode_seconds / len(result.frames))
        self.schedule.done(job)

    def _keep_frames(self, frames: dict[int, Any]) -> None:
        self.decoded.update(frames)
        while len(self.decoded) > self.frames_held:  # release the furthest from the merge: decoded here later
            del self.decoded[max(self.decoded, key=self.merge_position.__getitem__)]

    def _dispatch(self) -> None:
        for worker in self.pool.idle():
            job = self.schedule.take()
            if job is None:
                return
            full = self._with_entries(job)
            self.bytes_sent += sum(_bytes(t) for t in full.entries.values())
            if full.keyframes is not None:
                self.bytes_sent += _bytes({"h": full.keyframes.head, "t": full.keyframes.tail})
            self.pool.submit(worker, full)

    def _with_entries(self, job: Job) -> Job:
        plan, store = self.r.plan, self.r.store
        chunks = [plan.chunks[i] for i in job.chunks]
        if job.kind == "shared":
            chunks.append(plan.chunks[plan.anchor])  # a resumed anchor goes on from its kept state
        entries: Entries = {}
        for chunk in chunks:
            steps = self.r.base_steps if chunk.is_base else self.r.settings.steps
            names = [entry_name(chunk), conditioning_name(chunk), *(state_name(chunk, j) for j in range(1, steps + 1))]
            entries.update({n: store.load(n) for n in names if store.has(n)})
        keyframes = None
        if job.kind == "transition":
            i = job.chunks[0]
            before, after = (store.load(keyframes_name(plan.chunks[n])) for n in (i - 1, i + 1))
            keyframes = transition_keyframes(self.r, plan.chunks[i], before, after)
        return Job(job.kind, job.chunks, entries, keyframes)

    def _check_keyframes(self, chunk: Chunk, merged: TransitionKeyframes) -> None:
        """The keyframes the workers gave this transition against the driver's decode of its neighbours."""
        plan, store = self.r.plan, self.r.store
        before, after = (store.load(keyframes_name(plan.chunks[n])) for n in (chunk.index - 1, chunk.index + 1))
        if before is None or after is None:
            return  # sampled by an earlier, single-process run
        if not (torch.equal(before["tail"], merged.head) and torch.equal(after["head"], merged.tail)):
            raise RuntimeError(f"transition chunk {chunk.index}: the workers decoded its neighbours differently "
                               "from this process; the workers must run the same ComfyUI, models and settings")
        store.remove(keyframes_name(plan.chunks[chunk.index - 1]))  # no later transition needs them
        if chunk.index + 1 == plan.chunks[-1].index:
            store.remove(keyframes_name(plan.chunks[chunk.index + 1]))

    def report(self) -> str:
        lines = [f"distributed: {self.jobs_run} jobs, {self.steps_run} sampler steps on the workers"
                 + (f" ({self.anchor_recomputes} of them the anchor's recomputed K/V steps)"
                    if self.anchor_recomputes else "")
                 + f"; {self.bytes_sent / 2**20:.1f} MiB sent to them, {self.bytes_received / 2**20:.1f} MiB back"]
        times = ", ".join(f"{kind} {len(t)} x {sum(t) / len(t):.2f}" for kind, t in sorted(self.job_seconds.items()))
        decode = sum(self.decode_seconds) / len(self.decode_seconds) if self.decode_seconds else 0.0
        lines.append(f"job seconds on the workers (count x mean): {times}; a decode {decode:.2f}")
        lines.append(f"decoded frames: {self.frames_taken} chunks taken from the workers "
                     f"({self.frame_bytes / 2**20:.1f} MiB), {self.frames_decoded_here} decoded here")
        lines += [f"rerun: {line}" for line in self.reruns]
        return "\n".join(lines)


def _bytes(tensors: dict[str, torch.Tensor]) -> int:
    return sum(t.numel() * t.element_size() for t in tensors.values())
