"""The hook PoseGen's forward offers to code that reads or replaces its self-attention K/V (long video's anchor KV
sharing). Defined here, in the model family, so the forward depends on this protocol and not on its users."""

from __future__ import annotations

from typing import Protocol

import torch

KVSHARE_KEY = "posegen_kvshare"  # transformer_options entry holding an AttentionHookSource


class AttentionHook(Protocol):
    """What one model call (one sampler step, one element per CFG pass) does at each block."""

    def after_qkv(self, block: int, k: torch.Tensor, v: torch.Tensor) -> None: ...

    def shared_kv(self, block: int, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None: ...

    def own_tokens(self, block: int, device: torch.device) -> torch.Tensor:
        """bool [video tokens]: True where a token keeps its own attention, False where it takes the shared one
        (the same for every element of the batch)."""
        ...

    def wants_map(self, block: int) -> bool: ...

    def after_cross_qk(self, block: int, q: torch.Tensor, k_text: torch.Tensor, num_heads: int) -> None: ...


class AttentionHookSource(Protocol):
    """Put into ``transformer_options[KVSHARE_KEY]``; asked once per model call for that call's hook."""

    def forward_kv(self, transformer_options: dict, grid: tuple[int, int, int]) -> AttentionHook | None: ...
