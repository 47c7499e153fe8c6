"""PoseGen Distributed: the option that makes the Segment Sampler run its chunks on several workers (Ray)."""

from __future__ import annotations

from comfy_api.v0_0_2 import io

from ..posegen_core.distributed.cluster import LOCAL, DistributedOptions
from .checked_node import PoseGenNode

DistributedType = io.Custom("POSEGEN_DISTRIBUTED")


class PoseGenDistributed(PoseGenNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="PoseGenDistributed",
            display_name="PoseGen Distributed",
            category="PoseGen/long video",
            description="Run the Segment Sampler's base segments and transitions on several workers, one GPU each, "
            "on Ray: a local instance on this machine, or a running Ray cluster. Every worker makes the graph's "
            "models itself by running the nodes above the sampler's model and VAE inputs in its own ComfyUI (LoRAs "
            "and patches included) and keeps them loaded between prompts. The video is the single-process one, "
            "frame for frame; the merge and the file stay here. Needs Ray (pip install ray); see the README's "
            "security note before using a cluster address.",
            inputs=[
                io.String.Input("cluster", default=LOCAL,
                                tooltip="'local': a Ray instance on this machine, started on demand (node address "
                                "127.0.0.1). Or host:port of a Ray head (ray start --head) on a trusted network."),
                io.Int.Input("workers", default=2, min=1, max=1024,
                             tooltip="How many workers; each holds both models on its own device."),
                io.Float.Input("gpus_per_worker", default=1.0, min=0.0, max=8.0, step=0.25,
                               tooltip="GPUs each worker is placed on (Ray); 0 = CPU workers (tests, no GPU)."),
            ],
            outputs=[DistributedType.Output(display_name="distributed")],
        )

    @classmethod
    def execute(cls, cluster: str, workers: int, gpus_per_worker: float) -> io.NodeOutput:
        return io.NodeOutput(DistributedOptions(cluster.strip() or LOCAL, workers, gpus_per_worker))


NODES: list[type[io.ComfyNode]] = [PoseGenDistributed]
