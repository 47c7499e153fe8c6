"""PoseGenStandInSleep: a node that takes a chosen time, for testing progress, previews, interrupts and errors."""

from __future__ import annotations

import time
from typing import Any

import comfy.model_management
import comfy.utils
from comfy_api.v0_0_2 import io, ui
from PIL import Image

from .common import CATEGORY

POLL_S = 0.05  # how often an interrupt is noticed


def _preview(step: int, steps: int) -> tuple[str, Image.Image, int]:
    # ComfyUI's progress hook takes (format, PIL image, max size); grey level shows how far we are.
    level = round(255 * step / steps)
    return ("JPEG", Image.new("RGB", (16, 16), (level, level, level)), 64)


class PoseGenStandInSleep(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="PoseGenStandInSleep",
            display_name="PoseGen Stand-in Sleep (tests only)",
            category=CATEGORY,
            description=(
                "STAND-IN FOR TESTS AND DEMOS ONLY: no model, no meaningful output. Waits `seconds`, reporting "
                "`steps` progress updates (optionally each with a tiny preview image), stops within 50 ms when "
                "the prompt is interrupted, then passes `value` through, or raises `fail_message` as an error "
                "if it is not empty. Always runs (never cached)."
            ),
            inputs=[
                io.Float.Input("seconds", default=1.0, min=0.0, max=3600.0, step=0.05),
                # Optional, so API prompts (which get no widget defaults filled in) may leave them out.
                io.Int.Input(
                    "steps", default=10, min=1, max=10000, optional=True, tooltip="Number of progress updates."
                ),
                io.Boolean.Input(
                    "previews", default=False, optional=True, tooltip="Send a preview image with each update."
                ),
                io.String.Input(
                    "fail_message", default="", optional=True, tooltip="If set, the node fails with this message."
                ),
                io.AnyType.Input("value", optional=True, tooltip="Passed through unchanged (to order nodes)."),
            ],
            outputs=[io.AnyType.Output("passthrough", display_name="value")],
            is_output_node=True,
        )

    @classmethod
    def fingerprint_inputs(cls, **kwargs: Any) -> float:
        return float("nan")  # NaN never equals itself, so ComfyUI re-runs the node instead of using its cache

    @classmethod
    def execute(
        cls,
        seconds: float = 1.0,
        steps: int = 10,
        previews: bool = False,
        fail_message: str = "",
        value: Any = None,
    ) -> io.NodeOutput:
        if seconds < 0:
            raise ValueError(f"seconds: must be >= 0, got {seconds}")
        if steps < 1:
            raise ValueError(f"steps: must be >= 1, got {steps}")
        pbar = comfy.utils.ProgressBar(steps)
        start = time.monotonic()
        done = 0
        while True:
            comfy.model_management.throw_exception_if_processing_interrupted()
            elapsed = time.monotonic() - start
            reached = steps if elapsed >= seconds else int(steps * elapsed / seconds)
            while done < reached:
                done += 1
                pbar.update_absolute(done, steps, preview=_preview(done, steps) if previews else None)
            if done >= steps:
                break
            time.sleep(min(POLL_S, seconds - elapsed))  # elapsed < seconds here, else all steps were reached
        if fail_message:
            raise RuntimeError(fail_message)
        slept = time.monotonic() - start
        return io.NodeOutput(value, ui=ui.PreviewText(f"slept {slept:.2f}s in {steps} steps"))
