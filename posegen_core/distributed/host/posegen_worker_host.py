"""A distributed Segment Sampler worker: one Ray actor per device, a headless ComfyUI inside it.

This module is imported by Ray in a fresh worker process, before anything of ComfyUI or the pack can be: it
imports only the standard library and Ray at the top, and its actor is made from plain data (paths, ComfyUI's
arguments and folders). On its first ``load`` the worker sets ComfyUI up the way the driver's server runs it (the
same arguments and model folders, the same custom nodes, so other packs' nodes exist too), then runs the part of
the prompt that makes the models — the Segment Sampler's MODEL and VAE inputs and every node above them, LoRA
loaders and model patches included — through ComfyUI's own executor. The models are the graph's own, not a
guess; the executor's cache keeps them loaded between jobs and prompts, and a changed graph reloads only what
changed.
"""

from __future__ import annotations

import asyncio
import importlib
import socket
import sys
import threading

import ray

# what the driver's process sets that makes no sense in a worker: its devices are Ray's choice
_PROCESS_ARGS = {"cuda_device", "default_device", "listen", "port"}


class _HeadlessServer:
    """What ComfyUI's executor needs of its server: somewhere to send messages (dropped: the driver reports)."""

    client_id = None
    last_node_id = None
    last_prompt_id = None

    def send_sync(self, event, data, sid=None) -> None:
        pass


@ray.remote(concurrency_groups={"control": 1})
class WorkerHost:
    def __init__(self, config: dict) -> None:
        self.config = config
        self.ready = False
        self.runs: dict[str, object] = {}  # run id -> the worker's _Runner of that run
        self.models: dict[str, object] = {}
        self.graph = None
        self.queue = None  # this prompt's progress queue (the workers outlive prompts)

    # --- ComfyUI in this process -----------------------------------------------------------------------------

    def _setup(self) -> None:
        c = self.config
        for path in reversed(c["sys_path"]):
            if path not in sys.path:
                sys.path.insert(0, path)
        from comfy.cli_args import args

        for name, value in c["args"].items():
            if name not in _PROCESS_ARGS and hasattr(args, name):
                setattr(args, name, value)
        import folder_paths

        folder_paths.folder_names_and_paths.clear()
        folder_paths.folder_names_and_paths.update(
            {name: (list(paths), set(exts)) for name, (paths, exts) in c["folder_paths"].items()})
        folder_paths.set_output_directory(c["output_directory"])
        folder_paths.set_input_directory(c["input_directory"])
        folder_paths.set_temp_directory(c["temp_directory"])
        import torch

        torch.set_num_threads(c["threads"])  # as many as the driver: CPU results then match bit for bit
        import execution
        import nodes

        asyncio.run(nodes.init_extra_nodes(init_custom_nodes=True, init_api_nodes=False))
        self.core = importlib.import_module(c["core_module"] + ".distributed.worker_side")
        self.executor = execution.PromptExecutor(_HeadlessServer(), cache_type=execution.CacheType.CLASSIC,
                                                 cache_args={"lru": 0, "ram": 0})
        self.ready = True

    def start(self, graph: dict, wanted: dict[str, list], run_id: str, spec: list) -> dict:
        """Make the models by running ``graph`` (the API prompt of the nodes above the wanted inputs) and keep its
        ``wanted`` outputs (input name -> [node id, output slot]); then take the run's inputs and settings
        (``spec``: [ObjectRef] of pack objects, read once the pack is loaded). Returns where this worker runs."""
        if not self.ready:
            self._setup()
        if graph != self.graph:
            self.models, self.graph = self.core.run_graph(self.executor, graph, wanted), graph
        if run_id not in self.runs:
            self.runs = {run_id: self.core.worker_runner(self.models, ray.get(spec[0]), self._progress)}
        return self.core.where(socket.gethostname())

    def set_progress_queue(self, queue) -> None:
        self.queue = queue

    def run(self, run_id: str, job):
        self.core.clear_interrupt()
        return self.core.run_job(self.runs[run_id], job, ray.put)  # frames go by reference

    def _progress(self, done: int, total: int, preview) -> None:
        if self.queue is not None:
            self.core.report_progress(self.queue, preview)

    @ray.method(concurrency_group="control")
    def interrupt(self) -> None:
        """Stop the job running now at its next step (ComfyUI's own interrupt flag, as /interrupt sets it)."""
        if self.ready:
            self.core.interrupt()

    @ray.method(concurrency_group="control")
    def ping(self) -> str:
        return f"{socket.gethostname()} thread {threading.get_ident()}"
