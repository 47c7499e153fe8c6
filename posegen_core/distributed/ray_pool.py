"""Workers as Ray actors (``host.posegen_worker_host.WorkerHost``), one device each, kept alive between prompts
so their models stay loaded. A ``WorkerPool`` for ``driver.DistributedChunks``.

A worker that dies (killed, out of memory, its machine gone) loses only the job it was running: the driver runs
it again on a live worker, and a new worker takes the dead one's place. A worker that cannot make the models fails
the run at once, naming the worker and ComfyUI's error.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from .cluster import DistributedOptions, connect
from .driver import Outcome, WorkerLost
from .jobs import Job

HOST_DIR = Path(__file__).resolve().parent / "host"
CORE_MODULE = __name__.rsplit(".distributed", 1)[0]  # the pack's posegen_core, as this process imported it
INTERRUPT_WAIT_S = 30.0
FETCH_TIMEOUT_S = 600.0  # one chunk's frames from another machine's object store
log = logging.getLogger("posegen")

_hosts: dict[tuple, list] = {}  # (cluster, GPUs per worker) -> live actors, kept between prompts (a run uses
# the first ``workers`` of them)


def _comfy_root() -> str:
    import folder_paths

    return str(Path(folder_paths.__file__).resolve().parent)


def worker_config() -> dict:
    """ComfyUI as this process runs it, in plain data."""
    import folder_paths
    import torch
    from comfy.cli_args import args

    sys_path = [_comfy_root()]
    if CORE_MODULE == "posegen_core":  # imported from the repository (tests, benchmarks), not as a custom node
        sys_path.append(str(Path(__file__).resolve().parents[2]))
    return {
        "sys_path": sys_path, "core_module": CORE_MODULE, "threads": torch.get_num_threads(),
        "args": {k: v for k, v in vars(args).items()},
        "folder_paths": {k: (list(v[0]), sorted(v[1])) for k, v in folder_paths.folder_names_and_paths.items()},
        "output_directory": folder_paths.get_output_directory(),
        "input_directory": folder_paths.get_input_directory(),
        "temp_directory": folder_paths.get_temp_directory(),
    }


def runtime_env() -> dict:
    paths = [str(HOST_DIR), _comfy_root(), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {"env_vars": {"PYTHONPATH": os.pathsep.join(paths)}}


class RayPool:
    def __init__(self, options: DistributedOptions, graph: dict, wanted: dict[str, list], spec: Any) -> None:
        self.ray = ray = connect(options, runtime_env(), options.workers)
        from ray.util.queue import Queue

        if str(HOST_DIR) not in sys.path:
            sys.path.insert(0, str(HOST_DIR))
        import posegen_worker_host

        self._host_class = posegen_worker_host.WorkerHost
        self.options, self.graph, self.wanted = options, graph, wanted
        self.key = (options.cluster, options.gpus_per_worker)
        self.queue = Queue()
        self.run_id = uuid.uuid4().hex
        self.spec_ref = ray.put(spec)
        _check_resources(ray, options)
        self.hosts = _hosts.setdefault(self.key, [])
        while len(self.hosts) < options.workers:
            self.hosts.append(self._new_host())
        self.where: dict[int, str] = {}
        self.loading: dict[Any, int] = {}
        self.in_flight: dict[Any, tuple[int, Job]] = {}
        for worker in range(options.workers):
            self._load(worker)

    def _new_host(self):
        return self._host_class.options(num_cpus=1, num_gpus=self.options.gpus_per_worker, max_restarts=0,
                                        runtime_env=runtime_env()).remote(worker_config())

    def _load(self, worker: int) -> None:
        host = self.hosts[worker]
        host.set_progress_queue.remote(self.queue)
        self.loading[host.start.remote(self.graph, self.wanted, self.run_id, [self.spec_ref])] = worker

    # --- WorkerPool --------------------------------------------------------------------------------------------

    def describe(self, worker: int) -> str:
        return f"worker {worker}" + (f" ({self.where[worker]})" if worker in self.where else "")

    def idle(self) -> list[int]:
        busy = {w for w, _ in self.in_flight.values()}
        return [w for w in range(self.options.workers) if w not in busy]

    def submit(self, worker: int, job: Job) -> None:
        self.in_flight[self.hosts[worker].run.remote(self.run_id, job)] = (worker, job)

    def poll(self, timeout: float) -> list[Outcome]:
        ray = self.ray
        refs = [*self.loading, *self.in_flight]
        if not refs:
            return []
        ready, _ = ray.wait(refs, num_returns=len(refs), timeout=timeout)
        outcomes = []
        for ref in ready:
            if ref in self.loading:
                self._loaded(ref)
                continue
            worker, job = self.in_flight.pop(ref)
            try:
                outcomes.append(Outcome(worker, job, result=ray.get(ref)))
            except ray.exceptions.RayActorError as error:
                outcomes.append(Outcome(worker, job, error=WorkerLost(_short(error))))
                self._replace(worker)
            except ray.exceptions.RayTaskError as error:
                outcomes.append(Outcome(worker, job, error=_cause(error)))
        return outcomes

    def _loaded(self, ref) -> None:
        ray, worker = self.ray, self.loading.pop(ref)
        try:
            where = ray.get(ref)
        except ray.exceptions.RayActorError as error:
            raise RuntimeError(f"worker {worker} died while making the models: {_short(error)}") from error
        except ray.exceptions.RayTaskError as error:
            raise RuntimeError(f"worker {worker} could not make the models: {_cause(error)}") from error
        self.where[worker] = f"{where['host']}, {where['device']}"

    def _replace(self, worker: int) -> None:
        self.hosts[worker] = self._new_host()
        self.where.pop(worker, None)
        self._load(worker)

    def progress(self) -> list[tuple[int, Any]]:
        events = []
        while not self.queue.empty():
            events.append(self.queue.get_nowait())
        return events

    def fetch(self, handle):
        """A job's decoded frames from the object store; None when they went with their worker (a chunk is then
        decoded on the driver from its latent)."""
        try:
            return self.ray.get(handle, timeout=FETCH_TIMEOUT_S)
        except self.ray.exceptions.RayError as error:
            log.warning("PoseGen distributed: decoded frames lost (%s); decoding here", _short(error))
            return None

    def interrupt(self) -> None:
        """Every worker stops at its next step; returns once their jobs ended (or were given up)."""
        for host in self.hosts[:self.options.workers]:
            host.interrupt.remote()
        deadline = time.monotonic() + INTERRUPT_WAIT_S
        while self.in_flight and time.monotonic() < deadline:
            ready, _ = self.ray.wait(list(self.in_flight), num_returns=len(self.in_flight), timeout=0.5)
            for ref in ready:
                self.in_flight.pop(ref)
        for worker, _ in list(self.in_flight.values()):  # a worker that did not stop in time
            self.ray.kill(self.hosts[worker])
            self._replace(worker)
        self.in_flight.clear()


def _check_resources(ray, options: DistributedOptions) -> None:
    """Workers the cluster cannot place would wait for ever: say so instead."""
    from ..errors import PoseGenInputError

    have = ray.cluster_resources()
    kind, each = ("GPU", options.gpus_per_worker) if options.gpus_per_worker else ("CPU", 1)
    need, total = options.workers * each, have.get(kind, 0)
    if need > total:
        fix = ("gpus_per_worker 0 for CPU workers, or a cluster with GPUs" if kind == "GPU" and not total
               else f"at most {int(total // each)} workers")
        raise PoseGenInputError("workers", f"{options.workers} workers need {need:g} {kind}s; the cluster has "
                                f"{total:g}.", fix)


def _cause(error) -> BaseException:
    cause = getattr(error, "cause", None)
    return cause if isinstance(cause, BaseException) else RuntimeError(_short(error))


def _short(error) -> str:
    text = str(error).strip().splitlines()
    return text[-1] if text else type(error).__name__
