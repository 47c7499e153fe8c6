"""Where a long-video run keeps its finished work between chunks: a run folder on disk (``run_folder``, so a
stopped run resumes) or, for the plain in-process run, memory. Entries are named dictionaries of tensors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import torch

from ..errors import PoseGenInputError
from ..wan.stepwise import StepwiseEuler
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
    """A chunk's sampler state after ``steps`` steps."""
    return f"{entry_name(chunk)}.state{steps}"


def steps_done(store: WorkStore, chunk: Chunk, steps: int) -> int:
    """The most steps of ``chunk`` (out of ``steps``) whose state the store holds (0: none)."""
    return max((j for j in range(1, steps + 1) if store.has(state_name(chunk, j))), default=0)


def resumable_piece(store: WorkStore, chunk: Chunk, stepwise: StepwiseEuler, start: int, stop: int | None,
                    shape: tuple[int, ...], where: str, keep: Callable[[int], bool] = lambda steps: False):
    """The chunk's SAMPLER for steps ``start .. stop`` from its stored state after ``start`` steps, saving the
    state after every step (so a stopped run loses one step at most) and dropping the one before it unless
    ``keep(steps)`` says otherwise."""

    def on_step(done: int, x: torch.Tensor) -> None:
        store.save(state_name(chunk, done), {"x": x})
        if done > 1 and not keep(done - 1):
            store.remove(state_name(chunk, done - 1))

    state = load_tensor(store, state_name(chunk, start), shape, where) if start else None
    return stepwise.piece(start, stop, state, on_step)


def drop_states(store: WorkStore, chunk: Chunk, steps: int) -> None:
    for j in range(1, steps + 1):
        store.remove(state_name(chunk, j))


def conditioning_name(chunk: Chunk) -> str:
    """A base chunk's encoded pose (and hand) latents, kept for the steps run one at a time."""
    return f"{entry_name(chunk)}.conditioning"
