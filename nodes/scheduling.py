"""PoseGenScheduler: PoseGen's exact flow-matching sigmas for SamplerCustom / SamplerCustomAdvanced."""

from __future__ import annotations

from comfy_api.v0_0_2 import io

from ..posegen_core.wan.schedule import POSEGEN_SHIFT, POSEGEN_STEPS, flow_match_sigmas
from .checked_node import PoseGenNode


class PoseGenScheduler(PoseGenNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="PoseGenScheduler",
            display_name="PoseGen Scheduler",
            category="PoseGen",
            description="Sigmas of PoseGen's sampler (DiffSynth FlowMatchScheduler, shift 5, 25 steps): "
            "shift*s/(1+(shift-1)*s) for s evenly spaced from denoise to 0, ending at 0. Use with Euler and CFG 5.",
            inputs=[
                io.Int.Input("steps", default=POSEGEN_STEPS, min=1, max=1000, tooltip="PoseGen: 25."),
                io.Float.Input("shift", default=POSEGEN_SHIFT, min=0.01, max=100.0, step=0.01, tooltip="PoseGen: 5."),
                io.Float.Input("denoise", default=1.0, min=0.01, max=1.0, step=0.01,
                               tooltip="Start below sigma 1 (for re-noising an existing latent)."),
            ],
            outputs=[io.Sigmas.Output(display_name="sigmas")],
        )

    @classmethod
    def execute(cls, steps: int, shift: float, denoise: float) -> io.NodeOutput:
        return io.NodeOutput(flow_match_sigmas(steps, shift, denoise))
