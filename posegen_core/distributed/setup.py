"""The distributed Segment Sampler's run: the workers' part of the prompt, what is shipped to them, the pool."""

from __future__ import annotations

from collections.abc import Callable

from .cluster import DistributedOptions
from .driver import DistributedChunks
from .subgraph import upstream_graph
from .worker_side import MODEL_INPUTS, RunSpec


def run_spec(runner) -> RunSpec:
    """Everything a worker needs of the run but the models it makes itself."""
    i = runner.inputs
    inputs = {"positive": i.positive, "negative": i.negative, "clip_vision_output": i.clip_vision_output,
              "reference_image": i.reference_image, "pose_frames": i.pose_frames, "hand_frames": i.hand_frames}
    return RunSpec(inputs, runner.settings, runner.sampler)


def remote_chunks(options: DistributedOptions, prompt: dict, node_id: str) -> Callable:
    """For ``generate_long_video(remote=...)``: the run's chunks on Ray workers."""
    import comfy.model_management

    graph, wanted = upstream_graph(prompt, node_id, MODEL_INPUTS)

    def make(runner) -> DistributedChunks:
        from .ray_pool import RayPool

        pool = RayPool(options, graph, wanted, run_spec(runner))
        return DistributedChunks(runner, pool, options.workers, comfy.model_management.processing_interrupted)
    return make
