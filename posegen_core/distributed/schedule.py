"""Which jobs of a long video can run now, from the plan's dependencies (no Ray here: the driver and the
critical-path model both use it).

The dependencies (§4.3, §4.4): with lockstep KV sharing the base segments go through the shared steps in groups,
one group per worker, each beside its own recomputation of the anchor; every base segment then finishes on its
own on any worker; a transition can start once both its neighbours are decoded (their keyframes); the merge
runs on the driver in video order. Without lockstep, the base segments are sampled whole (in groups with the
anchor first when they share its K/V, else one by one). A job lost with its worker goes back to the queue.
"""

from __future__ import annotations

from ..longvideo.plan import SegmentPlan
from .jobs import JOB_KINDS, Job


class ChunkSchedule:
    """The jobs still to run for ``plan`` on ``workers`` workers. ``finished``: chunks whose final latent the
    store already holds; ``past_shared``: base segments whose state after the shared steps it holds;
    ``keyframes``: base segments whose overlap frames it holds."""

    def __init__(self, plan: SegmentPlan, *, workers: int, lockstep: bool, shares_kv: bool,
                 finished: set[int] = frozenset(), past_shared: set[int] = frozenset(),
                 keyframes: set[int] = frozenset()) -> None:
        if workers < 1:
            raise ValueError(f"workers: {workers}; expected at least 1")
        self.plan = plan
        self.finished = set(finished)
        self.keyframes: set[int] = set(keyframes)  # base chunks whose keyframes the driver holds
        self.ready: list[Job] = []
        self.running: set[Job] = set()
        self._queued_transitions: set[int] = set()
        todo = [c.index for c in plan.run_order if c.is_base and c.index not in self.finished]
        if lockstep:
            self._queue(Job("finish", (i,)) for i in todo if i in past_shared)
            before = [i for i in todo if i not in past_shared]
            self._queue(Job("shared", group) for group in _groups(before, workers))
        elif shares_kv:
            self._queue(Job("whole", group) for group in _groups(todo, workers))
        else:
            self._queue(Job("whole", (i,)) for i in todo)
        needed = {n for t in plan.transition_chunks if t.index not in self.finished for n in (t.index - 1, t.index + 1)}
        self._queue(Job("decode", (i,)) for i in sorted((needed & self.finished) - self.keyframes))
        self._transitions_ready()

    @property
    def complete(self) -> bool:
        return not self.ready and not self.running and all(c.index in self.finished for c in self.plan.chunks)

    def take(self) -> Job | None:
        """The most urgent ready job (None when none is ready), marked running."""
        if not self.ready:
            return None
        job = min(self.ready, key=lambda j: (JOB_KINDS.index(j.kind), j.chunks))
        self.ready.remove(job)
        self.running.add(job)
        return job

    def done(self, job: Job) -> list[Job]:
        """Record a finished job; returns the jobs it made ready."""
        self.running.discard(job)
        count = len(self.ready)
        if job.kind == "shared":
            self._queue(Job("finish", (i,)) for i in job.chunks)
        if job.kind in ("finish", "whole", "transition"):
            self.finished.update(job.chunks)
        if job.kind in ("finish", "whole", "decode"):
            self.keyframes.update(job.chunks)
            self._transitions_ready()
        return self.ready[count:]

    def failed(self, job: Job) -> None:
        """A job whose worker was lost: it runs again."""
        self.running.discard(job)
        self.ready.append(job)

    def _transitions_ready(self) -> None:
        for t in self.plan.transition_chunks:
            i = t.index
            if (i not in self.finished and i not in self._queued_transitions
                    and {i - 1, i + 1} <= self.keyframes):
                self._queued_transitions.add(i)
                self.ready.append(Job("transition", (i,)))

    def _queue(self, jobs) -> None:
        self.ready.extend(jobs)


def _groups(chunks: list[int], workers: int) -> list[tuple[int, ...]]:
    """``chunks`` dealt round-robin into at most ``workers`` groups (empty ones dropped)."""
    groups = [tuple(chunks[w::workers]) for w in range(min(workers, len(chunks)))]
    return [g for g in groups if g]
