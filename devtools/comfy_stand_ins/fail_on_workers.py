"""PoseGenStandInFailOnWorkers: passes a MODEL through in the server and fails inside a Ray worker, so a test can
make the distributed sampler's workers fail to make the graph's models while the server's run goes on."""

from __future__ import annotations

import sys

from comfy_api.v0_0_2 import io

from .common import CATEGORY


def in_ray_worker() -> bool:
    ray = sys.modules.get("ray")
    return ray is not None and ray.is_initialized() and ray.get_runtime_context().get_actor_id() is not None


class PoseGenStandInFailOnWorkers(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="PoseGenStandInFailOnWorkers",
            display_name="PoseGen Stand-in Fail On Workers (tests only)",
            category=CATEGORY,
            description="STAND-IN FOR TESTS ONLY: passes the model through, except inside a Ray worker, where it "
            "raises `message`.",
            inputs=[io.Model.Input("model"), io.String.Input("message", default="no such file on this worker")],
            outputs=[io.Model.Output()],
        )

    @classmethod
    def execute(cls, model, message: str) -> io.NodeOutput:
        if in_ray_worker():
            raise RuntimeError(message)
        return io.NodeOutput(model)
