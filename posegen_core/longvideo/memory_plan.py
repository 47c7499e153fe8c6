"""What a long-video run needs in VRAM, RAM and on disk, phase by phase, before anything is sampled.

The figures come from the objects the run will use, through ComfyUI's own estimates where ComfyUI has one (a
model's weight size and the activation memory it reserves per sampling call, the VAE's encode/decode memory) and
from exact sizes elsewhere (the anchor's K/V store, decoded frames, run-folder entries). A K/V store that cannot
fit where it must live is refused here, naming the setting that shrinks it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import PoseGenInputError

GIB = 2**30


@dataclass(frozen=True)
class PhaseNeed:
    phase: str
    vram: int  # bytes on the compute device at the phase's peak (weights loaded + working memory)
    ram: int  # bytes of CPU memory beyond the process itself
    disk: int = 0  # bytes the run folder holds at the phase's end
    note: str = ""


@dataclass(frozen=True)
class MemoryInputs:
    """Sizes of one run, in bytes (models, VAE) or counts (frames, chunks)."""

    base_weights: int
    cond_weights: int
    sampling_working: int  # ComfyUI's memory_required for one sampling call (both CFG passes)
    vae_weights: int
    vae_encode_working: int  # one chunk's frames
    vae_decode_working: int  # one chunk's latent
    kv_store: int  # the anchor's K/V as held (one step in lockstep, every shared step otherwise)
    kv_on_device: bool
    frame_bytes: int  # one decoded float32 frame, H x W x 3 x 4
    frames_held: int  # decoded frames alive at once (streamed: the merge window; IMAGE: the whole video)
    latent_bytes: int  # one chunk's latent
    conditioning_bytes: int  # one chunk's encoded pose (+ hand) latents, kept for steps that are run again
    base_chunks: int
    transition_chunks: int
    device_total: int  # VRAM the run may use (after ComfyUI's reserve)
    lockstep: bool = True  # the anchor's K/V of one shared step held at a time


@dataclass(frozen=True)
class MemoryPlan:
    phases: tuple[PhaseNeed, ...]
    inputs: MemoryInputs

    @property
    def peak_vram(self) -> int:
        return max(p.vram for p in self.phases)

    @property
    def peak_ram(self) -> int:
        return max(p.ram for p in self.phases)

    @property
    def run_folder(self) -> int:
        return max(p.disk for p in self.phases)

    def describe(self) -> str:
        lines = ["memory plan (GiB):   VRAM     RAM    disk"]
        for p in self.phases:
            lines.append(f"  {p.phase:<18}{p.vram / GIB:7.2f} {p.ram / GIB:7.2f} {p.disk / GIB:7.2f}"
                         + (f"  {p.note}" if p.note else ""))
        lines.append(f"  peak               {self.peak_vram / GIB:7.2f} {self.peak_ram / GIB:7.2f} "
                     f"{self.run_folder / GIB:7.2f}")
        return "\n".join(lines)


def plan_memory(m: MemoryInputs) -> MemoryPlan:
    """The phases in run order. A model not on the device waits in RAM (ComfyUI offloads it); weights that do not
    fit beside the working memory are streamed by ComfyUI's low-VRAM mode and counted in RAM."""

    def on_device(weights: int, working: int) -> tuple[int, int]:
        room = max(0, m.device_total - working)
        loaded = min(weights, room)
        return loaded + working, weights - loaded

    kv_vram = m.kv_store if m.kv_on_device else 0
    kv_ram = 0 if m.kv_on_device else m.kv_store
    frames = m.frame_bytes * m.frames_held
    per_base = m.latent_bytes * 2 + m.conditioning_bytes  # state after the shared steps + final latent + cond
    base_disk = m.base_chunks * per_base
    vram, spill = on_device(m.base_weights, m.sampling_working + kv_vram)
    phases = [
        PhaseNeed("encode poses", m.vae_weights + m.vae_encode_working, m.base_weights + m.cond_weights,
                  m.base_chunks * m.conditioning_bytes, "per chunk, once"),
        PhaseNeed("shared steps", vram, m.cond_weights + spill + kv_ram, base_disk,
                  ("anchor and base segments in lockstep" if m.lockstep else "anchor first, every shared step held")
                  if m.kv_store else "no KV sharing"),
        PhaseNeed("base segments", on_device(m.base_weights, m.sampling_working)[0],
                  m.cond_weights + on_device(m.base_weights, m.sampling_working)[1], base_disk),
    ]
    vram_t, spill_t = on_device(m.cond_weights, m.sampling_working)
    phases += [
        PhaseNeed("transitions", max(vram_t, m.vae_weights + m.vae_decode_working),
                  m.base_weights + spill_t + frames, base_disk + m.transition_chunks * m.latent_bytes,
                  f"{m.frames_held} decoded frames held"),
    ]
    return MemoryPlan(tuple(phases), m)


def check_kv_fits(kv_store: int, free: int, where: str) -> None:
    """Refuse a K/V store that cannot fit where it must live, before any sampling."""
    if kv_store <= free:
        return
    raise PoseGenInputError(
        "kv_sharing", f"the anchor's K/V store needs {kv_store / GIB:.1f} GiB but {where} has {free / GIB:.1f} GiB "
        "free.", "fewer shared steps or blocks (framing), kv_storage fp8, or lockstep (one step held at a time)")


def latent_bytes(frames: int, width: int, height: int, channels: int = 16, element: int = 4) -> int:
    """One chunk's Wan 2.1 latent: 4x temporal and 8x spatial compression, float32."""
    return channels * (1 + (frames - 1) // 4) * (height // 8) * (width // 8) * element


def frame_bytes(width: int, height: int) -> int:
    return width * height * 3 * 4


def tokens(frames: int, width: int, height: int) -> int:
    """Video tokens of a chunk plus one latent frame of reference tokens (PoseGen's self-attention length)."""
    per_frame = math.prod((height // 16, width // 16))
    return (1 + (frames - 1) // 4) * per_frame + per_frame
