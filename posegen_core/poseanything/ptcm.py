"""Run-time state of PoseAnything's part-aware temporal coherence module (PTCM, §3.5-3.7).

Two objects travel to the DiT forward in ``transformer_options``:

- :class:`PTCMContext` (key ``poseanything_ptcm``): the first-frame part masks, the per-slot union masks found by
  the correspondence pre-pass, and the sampler steps in which the part cross-attention runs (0-5 as released);
- :class:`AttentionCapture` (key ``poseanything_capture``): a request to re-apply one block's self-attention to its
  own output and keep the frame-0-query attention probabilities (the pre-pass capture), after which the forward
  stops by raising :class:`CaptureComplete`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..errors import PoseGenInputError
from ..wan.steps import step_index

PTCM_KEY = "poseanything_ptcm"
CAPTURE_KEY = "poseanything_capture"
RELEASED_ACTIVE_STEPS = frozenset(range(6))  # real-run steps 0..5 (§3.7)
RELEASED_CAPTURE_STEP = 5  # capture at step index 5, after 5 ordinary pre-pass steps (§3.5)
RELEASED_CAPTURE_BLOCK = 27  # hard-coded in the released model_fn (§3.5)


@dataclass
class PTCMContext:
    """Part masks on the latent token grid: ``first_masks`` [P, h, w] and ``union_mask`` [T-1, P, h, w] (slot s
    belongs to latent frame s+1)."""

    first_masks: torch.Tensor
    union_mask: torch.Tensor
    active_steps: frozenset[int] = RELEASED_ACTIVE_STEPS

    def __post_init__(self) -> None:
        # VideoParts refuses a first frame without parts (the user-facing error); this guards direct use
        if self.first_masks.dim() != 3 or self.first_masks.shape[0] == 0:
            raise ValueError(f"PTCM needs at least one first-frame part mask, got {tuple(self.first_masks.shape)}")
        if self.union_mask.dim() != 4 or self.union_mask.shape[1:] != self.first_masks.shape:
            raise ValueError(f"union mask {tuple(self.union_mask.shape)} does not fit first masks "
                             f"{tuple(self.first_masks.shape)}")

    @property
    def parts(self) -> int:
        return int(self.first_masks.shape[0])

    def is_active(self, transformer_options: dict) -> bool:
        """Active in the listed sampler steps; a direct model call outside a sampler counts as active."""
        index = step_index(transformer_options)
        return index is None or index in self.active_steps

    def check_grid(self, frames: int, rows: int, cols: int) -> None:
        slots, _, h, w = self.union_mask.shape
        if (h, w) != (rows, cols) or slots != frames - 1:
            raise PoseGenInputError(
                "ptcm", f"the part masks were made for {slots + 1} latent frames of {h}x{w} tokens, but the model "
                f"is sampling {frames} latent frames of {rows}x{cols} tokens.",
                "the same resolution and frame count in PoseAnything Conditioning and the sampled latent")

    def token_masks(self, device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        """(query masks [P, (T-1)·N], key masks [P, N]) as multipliers, frame-major like the token sequence."""
        parts = self.parts
        query = self.union_mask.permute(1, 0, 2, 3).reshape(parts, -1)
        key = self.first_masks.reshape(parts, -1)
        return query.to(device=device, dtype=dtype), key.to(device=device, dtype=dtype)


class CaptureComplete(Exception):
    """Raised by the forward once the requested attention is captured: the rest of that call is not needed."""


@dataclass
class AttentionCapture:
    """Which block to capture and, once done, ``probs`` [1, heads, N, L] of the positive branch."""

    block: int = RELEASED_CAPTURE_BLOCK
    step: int | None = None  # only at this sampler step (None: any call)
    probs: torch.Tensor | None = field(default=None, repr=False)

    def wanted(self, transformer_options: dict) -> bool:
        return self.step is None or step_index(transformer_options) == self.step

    def head_sum(self) -> torch.Tensor:
        if self.probs is None:
            raise RuntimeError("no attention was captured")
        return self.probs.sum(dim=1)[0]
