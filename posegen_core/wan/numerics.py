"""Which numerics a forward runs in, read from ``transformer_options``:

- ``native`` (the default): ComfyUI's own Wan choices - float32 RoPE tables, fused RMSNorm, modulation and gated
  residuals as one ``addcmul`` each;
- ``reference``: the public code's - float64 RoPE, RMSNorm normalising in float32 before its weight, modulate and
  gate as separate ops.

Both pass the golden sets (docs/fidelity.md); ``reference`` is there for fidelity checks. At PoseGen's size it
turns q and k of every block into float64 (79,200 tokens x 5,120 channels x 8 bytes = 3.0 GiB per tensor per CFG
pass per block), which ``native`` never does. Set it on a MODEL with :func:`set_numerics`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..errors import PoseGenInputError
from . import ops

NUMERICS_KEY = "posegen_numerics"
DEFAULT_NUMERICS = "native"


@dataclass(frozen=True)
class Numerics:
    name: str
    rope_dtype: torch.dtype
    fused: bool  # ComfyUI's fused ops, else the public code's separate ones

    def modulate(self, x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor, owned: bool = False,
                 ) -> torch.Tensor:
        """``x * (1 + scale) + shift``. ``owned``: nothing else reads ``x`` (a norm's output made for this call), so
        without autograd it is written in place - the same values, one activation-sized allocation fewer."""
        in_place = owned and not torch.is_grad_enabled()
        if self.fused:
            return torch.addcmul(shift, x, 1 + scale, out=x if in_place else None)
        return x.mul_(1 + scale).add_(shift) if in_place else ops.modulate(x, shift, scale)

    def modulate_into(self, out: torch.Tensor, x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> None:
        """``modulate`` written into ``out`` (a slice of a larger tensor), without autograd."""
        if self.fused:
            torch.addcmul(shift, x, 1 + scale, out=out)
        else:
            out.copy_(ops.modulate(x, shift, scale))

    def gated_add(self, x: torch.Tensor, y: torch.Tensor, gate: torch.Tensor | None = None, owned: bool = False,
                  ) -> torch.Tensor:
        """``x + y * gate`` (``x + y`` without a gate), a block's residual update; in place as for ``modulate``
        when ``x`` is owned (the residual after the block's first update)."""
        in_place = owned and not torch.is_grad_enabled()
        if gate is None:
            return x.add_(y) if in_place else x + y
        if self.fused:
            return x.addcmul_(y, gate) if in_place else torch.addcmul(x, y, gate)
        return x.add_(y * gate) if in_place else x + y * gate

    def rms_norm(self, norm: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return ops.fused_rms_norm(norm, x) if self.fused else ops.rms_norm(norm, x)


NUMERICS: dict[str, Numerics] = {"native": Numerics("native", torch.float32, fused=True),
                                 "reference": Numerics("reference", torch.float64, fused=False)}


def numerics_of(transformer_options: dict) -> Numerics:
    mode = transformer_options.get(NUMERICS_KEY, DEFAULT_NUMERICS)
    if mode not in NUMERICS:
        raise PoseGenInputError("numerics", f"'{mode}' is unknown.", f"one of {', '.join(NUMERICS)}")
    return NUMERICS[mode]


def rope_dtype(transformer_options: dict) -> torch.dtype:
    return numerics_of(transformer_options).rope_dtype


def set_numerics(patcher, mode: str) -> None:
    """Make every forward of ``patcher`` (a ComfyUI ModelPatcher, changed in place) run in ``mode``."""
    numerics_of({NUMERICS_KEY: mode})
    patcher.model_options.setdefault("transformer_options", {})[NUMERICS_KEY] = mode
