"""Workers inside this process, one job at a time: the distributed schedule without Ray, so the core can be
checked against the single-process run without a cluster (and a pool of one runs exactly what a worker runs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .driver import Outcome, WorkerLost
from .jobs import Job, run_job


class LocalPool:
    """``make_runner(progress)`` builds a worker's ``_Runner`` (over a ``MemoryStore``). ``lose`` may name jobs
    whose worker is "lost" on their first try (``(worker, job) -> bool``), to exercise the reruns."""

    def __init__(self, workers: int, make_runner: Callable[[Callable], Any],
                 lose: Callable[[int, Job], bool] | None = None) -> None:
        self._events: list[tuple[int, Any]] = []
        self.runners = [make_runner(self._progress) for _ in range(workers)]
        self.outcomes: list[Outcome] = []
        self.lose, self.lost = lose, set()
        self.ran: list[tuple[int, Job]] = []

    def _progress(self, done: int, total: int, preview) -> None:
        self._events.append((1, preview))

    def describe(self, worker: int) -> str:
        return f"worker {worker} (this process)"

    def idle(self) -> list[int]:
        return list(range(len(self.runners)))  # a job runs to its end inside submit

    def submit(self, worker: int, job: Job) -> None:
        self.ran.append((worker, job))
        if self.lose is not None and job not in self.lost and self.lose(worker, job):
            self.lost.add(job)
            self.outcomes.append(Outcome(worker, job, error=WorkerLost("lost on purpose")))
            return
        try:
            self.outcomes.append(Outcome(worker, job, result=run_job(self.runners[worker], job)))
        except Exception as error:  # noqa: BLE001 - handed to the driver, which fails the run with it
            self.outcomes.append(Outcome(worker, job, error=error))

    def poll(self, timeout: float) -> list[Outcome]:
        outcomes, self.outcomes = self.outcomes, []
        return outcomes

    def progress(self) -> list[tuple[int, Any]]:
        events, self._events = self._events, []
        return events

    def interrupt(self) -> None:
        pass

    def fetch(self, handle):
        return handle  # the frames themselves
