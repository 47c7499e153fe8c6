"""What a worker's headless ComfyUI does for the distributed Segment Sampler (called by ``host``): run the
graph's model-making part through ComfyUI's executor, build the run, run jobs, report steps, honour interrupts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..longvideo.options import LongVideoSettings
from ..longvideo.run import LongVideoInputs, _Runner
from ..longvideo.work_store import MemoryStore
from .jobs import Job, JobResult
from .jobs import run_job as _run_job

MODEL_INPUTS = ("base_model", "cond_model", "vae")  # rebuilt on every worker; the rest is shipped as data


@dataclass
class RunSpec:
    """A run as it is shipped to the workers: everything but the models."""

    inputs: dict[str, Any]  # LongVideoInputs' fields but the VAE
    settings: LongVideoSettings
    sampler: Any


def run_graph(executor, graph: dict, wanted: dict[str, list]) -> dict[str, Any]:
    """Execute ``graph`` (an API prompt) with ComfyUI's executor; the outputs ``wanted`` ({input: [node, slot]})."""
    import uuid

    executor.execute(graph, str(uuid.uuid4()), {}, sorted({node for node, _ in wanted.values()}))
    if not executor.success:
        errors = [data for event, data in executor.status_messages if event == "execution_error"]
        detail = errors[0] if errors else {}
        raise RuntimeError(f"the graph's models could not be made: node {detail.get('node_id')} "
                           f"({detail.get('node_type')}): {detail.get('exception_message', 'unknown error')}")
    models = {}
    for name, (node, slot) in wanted.items():
        entry = executor.caches.outputs.get(node)
        models[name] = entry.outputs[slot][0]
    return models


def where(hostname: str) -> dict[str, str]:
    import comfy.model_management

    return {"host": hostname, "device": str(comfy.model_management.get_torch_device())}


@torch.inference_mode()  # as in ComfyUI's executor, which made the models' (inference) tensors
def run_job(runner: _Runner, job: Job, put) -> JobResult:
    """``put``: ``ray.put``, so decoded frames wait in the object store until the driver's merge takes them."""
    return _run_job(runner, job, put)


@torch.inference_mode()
def worker_runner(models: dict[str, Any], spec: RunSpec, progress) -> _Runner:
    inputs = LongVideoInputs(vae=models["vae"], **spec.inputs)
    return _Runner(models["base_model"], models["cond_model"], inputs, spec.settings, spec.sampler,
                   _checking_interrupt(progress), MemoryStore())


def _checking_interrupt(progress):
    import comfy.model_management

    def step(done: int, total: int, preview) -> None:
        comfy.model_management.throw_exception_if_processing_interrupted()
        progress(done, total, preview)
    return step


def report_progress(queue, preview) -> None:
    queue.put_nowait((1, preview))


def interrupt() -> None:
    import comfy.model_management

    comfy.model_management.interrupt_current_processing(True)


def clear_interrupt() -> None:
    import comfy.model_management

    comfy.model_management.interrupt_current_processing(False)
