"""The base of the pack's nodes: every IMAGE and MASK input is checked before ``execute`` runs."""

from __future__ import annotations

from comfy_api.v0_0_2 import io

from ..posegen_core.input_checks import check_image_batch, check_mask_batch

CHECKS = {"IMAGE": check_image_batch, "MASK": check_mask_batch}


class PoseGenNode(io.ComfyNode):
    """A V3 node whose IMAGE and MASK inputs, when given, are finite, in 0..1 and (IMAGE) RGB; anything else is
    refused naming the input (``posegen_core.input_checks``), so no node makes a video from a garbage batch."""

    @classmethod
    def checked_inputs(cls) -> dict[str, str]:
        """Input name -> "IMAGE" or "MASK", from the node's own schema (ComfyUI's cached one; the class it executes
        is a locked clone, so the schema is not cached again here)."""
        schema = cls.SCHEMA or cls.define_schema()
        return {item.id: str(item.io_type) for item in schema.inputs if str(item.io_type) in CHECKS}

    @classmethod
    def EXECUTE_NORMALIZED(cls, *args, **kwargs) -> io.NodeOutput:
        for name, kind in cls.checked_inputs().items():
            value = kwargs.get(name)
            if value is not None:
                CHECKS[kind](value, name)
        return super().EXECUTE_NORMALIZED(*args, **kwargs)
