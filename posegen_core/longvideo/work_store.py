"""Where a long-video run keeps its finished work between chunks: a run folder on disk (``run_folder``, so a
stopped run resumes) or, for the plain in-process run, memory. Entries are named dictionaries of tensors."""

from __future__ import annotations

from typing import Protocol

import torch

from ..errors import PoseGenInputError
from .plan import Chunk


class WorkStore(Protocol):
    def has(self, name: str) -> bool: ...

    def load(self, name: str) -> dict[str, torch.Tensor] | None: ...

    def save(self, name: str, tensors: dict[str, torch.Tensor]) -> None: ...

    def remove(self, name: str) -> None: ...


class MemoryStore:
    """Entries in a dict: what a run without a run folder keeps (lost with the process)."""

    def __init__(self) -> None:
        self.entries: dict[str, dict[str, torch.Tensor]] = {}

    def has(self, name: str) -> bool:
        return name in self.entries

    def load(self, name: str) -> dict[str, torch.Tensor] | None:
        return self.entries.get(name)

    def save(self, name: str, tensors: dict[str, torch.Tensor]) -> None:
        self.entries[name] = {k: v.detach().cpu() for k, v in tensors.items()}

    def remove(self, name: str) -> None:
        self.entries.pop(name, None)


def load_tensor(store: WorkStore, name: str, shape: tuple[int, ...], where: str) -> torch.Tensor | None:
    """Entry ``name``'s tensor "x", checked against the shape this run makes (None when the entry is missing)."""
    entry = store.load(name)
    if entry is None:
        return None
    x = entry.get("x")
    if x is None or tuple(x.shape) != tuple(shape):
        found = "no latent" if x is None else f"a latent of shape {tuple(x.shape)}"
        raise PoseGenInputError("run_folder", f"'{where}' holds {found} as '{name}', where this run makes "
                                f"{tuple(shape)}: the folder belongs to other inputs.",
                                "the run folder of this graph's inputs (remove this one with PoseGen Run Folders)")
    return x


def entry_name(chunk: Chunk) -> str:
    """A chunk's final latent."""
    return f"{chunk.kind}{chunk.index}"


def state_name(chunk: Chunk, steps: int) -> str:
    """A base chunk's sampler state after ``steps`` lockstep steps."""
    return f"{entry_name(chunk)}.state{steps}"


def conditioning_name(chunk: Chunk) -> str:
    """A base chunk's encoded pose (and hand) latents, kept for the steps run one at a time."""
    return f"{entry_name(chunk)}.conditioning"
