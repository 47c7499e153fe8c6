"""The base segments of a long video (§4.3, §5), each sampled to its final latent in the run's work store.

Two orders give the same latents bit for bit:

- **lockstep** (PoseGen's KV sharing with a SAMPLER that runs in pieces, ``wan.stepwise``): for every shared step,
  the anchor runs that one step and records its K/V, every other base segment runs the same step against them,
  and the step's K/V are dropped; after the shared steps each segment finishes on its own. The K/V of one step
  are held instead of all of them, and each segment's state after every step is kept in the store, so a resumed
  run goes on from the last finished step (the anchor keeps its shared-step states so it can record one again).
- **whole** (any other SAMPLER): the anchor is sampled first and records the K/V of every shared step, then each
  other base segment is sampled against them (§4.3's order).

A segment whose final latent is already in the store is not sampled again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from ..errors import inputs_named
from ..posegen.conditioning import MASK_CHANNELS
from ..wan.stepwise import stepwise_of
from . import memory
from .kvshare import AnchorRecord, KVShareContext
from .plan import Chunk
from .work_store import conditioning_name, drop_states, entry_name, resumable_piece, steps_done

if TYPE_CHECKING:
    from .run import _Runner


class BaseSegments:
    def __init__(self, runner: _Runner, record: AnchorRecord, only: list[Chunk] | None = None) -> None:
        """``only``: these base segments (a distributed worker's share), else every one not finished yet."""
        self.r, self.record = runner, record
        self.store = runner.store
        self.anchor = runner.plan.chunks[runner.plan.anchor]
        self.todo = [c for c in runner.plan.run_order if c.is_base and not self.store.has(entry_name(c))
                     and (only is None or c in only)]

    def run(self) -> None:
        if not self.todo:
            return
        if self.r.lockstep:
            self._lockstep()
        else:
            self.whole()

    # --- the pieces each order is made of ------------------------------------------------------------------------

    def _conditioning(self, chunk: Chunk, keep: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        """A segment's pose (and hand) latents: encoded once, kept in the store when its steps run in pieces."""
        if keep:
            kept = self.store.load(conditioning_name(chunk))
            if kept is not None:
                return kept["pose"], kept.get("hands")
        poses, hands = self.r.base_clip(chunk)
        pose_latent = self.r.chunks.encode(poses, "pose_frames")
        hand_latent = None if hands is None else self.r.chunks.encode(hands, "hand_frames")
        if keep:
            self.store.save(conditioning_name(chunk), {"pose": pose_latent} | ({} if hand_latent is None else
                                                                               {"hands": hand_latent}))
        return pose_latent, hand_latent

    def _kvshare(self, chunk: Chunk, share: bool) -> KVShareContext | None:
        if self.r.kv_settings is None or not share:
            return None
        mode = "record" if chunk == self.anchor else "share"
        return KVShareContext(self.r.kv_settings, mode, self.record, static_masks=self.r.static_masks(chunk))

    def _sample(self, chunk: Chunk, conditioning, sampler, share: bool, label: str) -> torch.Tensor:
        import comfy.model_management

        comfy.model_management.throw_exception_if_processing_interrupted()
        pose_latent, hand_latent = conditioning
        with inputs_named({"noise": "start_noise"}):  # the start's noise is PoseCrafter Options' start_noise
            return self.r.chunks.sample(self.r.base_model, pose_latent, hand_latent,
                                        torch.zeros(MASK_CHANNELS, pose_latent.shape[2]), self._kvshare(chunk, share),
                                        label, start=self.r.start, sampler=sampler)

    def _finish(self, chunk: Chunk, latent: torch.Tensor) -> None:
        self.store.save(entry_name(chunk), {"x": latent})

    # --- whole segments --------------------------------------------------------------------------------------------

    def whole(self) -> None:
        todo = list(self.todo)
        if self.r.kv_settings is not None and self.anchor not in todo and todo:
            todo.insert(0, self.anchor)  # the others need its K/V again: it records them once more
        for chunk in todo:
            memory.release_memory()
            latent = self._sample(chunk, self._conditioning(chunk, keep=False), self.r.samplers[chunk.index],
                                  share=True, label=f"base chunk {chunk.index}")
            self._finish(chunk, latent)

    # --- lockstep --------------------------------------------------------------------------------------------------

    def _piece(self, chunk: Chunk, start: int, stop: int | None, shared: int):
        """The chunk's SAMPLER for steps start..stop, saving its state after every step; the anchor keeps its
        states of the shared steps (a resumed run may need it to record a step again)."""
        return resumable_piece(self.store, chunk, stepwise_of(self.r.samplers[chunk.index]), start, stop,
                               self.r.latent_shape(chunk), self.r.store_where,
                               keep=lambda steps: chunk == self.anchor and steps <= shared)

    def shared_steps(self) -> int:
        return min(len(self.r.kv_settings.steps), self.r.base_steps)

    def _lockstep(self) -> None:
        shared = self.shared_steps()
        self.run_shared(shared)
        for chunk in self.todo:
            self.finish(chunk, shared)

    def run_shared(self, shared: int) -> int:
        """The shared steps of every segment to do, one step at a time beside the anchor (which records them).
        Returns how many steps the anchor ran."""
        anchor_steps = 0
        others = [c for c in self.todo if c != self.anchor]
        anchor_todo = self.anchor in self.todo
        for step in range(shared):
            waiting = [c for c in others if steps_done(self.store, c, self.r.base_steps) <= step]
            if not waiting and not (anchor_todo and steps_done(self.store, self.anchor, shared) <= step):
                continue
            memory.release_memory()
            # the anchor runs this step (again, on a resumed run: the same state, the same K/V) and records it
            self._sample(self.anchor, self._conditioning(self.anchor, keep=True),
                         self._piece(self.anchor, step, step + 1, shared), share=True,
                         label=f"base chunk {self.anchor.index}, step {step + 1} (anchor)")
            anchor_steps += 1
            for chunk in waiting:
                memory.release_memory()  # per segment: what one left behind must not pile up over many
                self._sample(chunk, self._conditioning(chunk, keep=True), self._piece(chunk, step, step + 1, shared),
                             share=True, label=f"base chunk {chunk.index}, step {step + 1}")
            self.record.clear()  # this step's K/V are used up
        return anchor_steps

    def finish(self, chunk: Chunk, shared: int) -> None:
        """A segment's steps after the shared ones, on its own, from its stored state."""
        memory.release_memory()
        start = max(shared, steps_done(self.store, chunk, self.r.base_steps))
        latent = self._sample(chunk, self._conditioning(chunk, keep=True), self._piece(chunk, start, None, shared),
                              share=False, label=f"base chunk {chunk.index}")
        self._finish(chunk, latent)
        drop_states(self.store, chunk, self.r.base_steps)
        self.store.remove(conditioning_name(chunk))
