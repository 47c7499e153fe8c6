"""Memory between chunks: what one segment held goes back before the next one starts."""

from __future__ import annotations

import functools
import os

MMAP_THRESHOLD = 1 << 20  # bytes; POSEGEN_MMAP_THRESHOLD overrides it, 0 leaves glibc's own behaviour
_M_MMAP_THRESHOLD = -3  # mallopt's parameter number (glibc malloc.h)


def release_memory() -> None:
    """Between segments: free what the last one held, in ComfyUI's allocator caches and in the C heap (glibc keeps
    freed pages otherwise, so RSS would creep up segment after segment)."""
    import ctypes
    import gc

    import comfy.model_management

    bound_heap()
    gc.collect()
    comfy.model_management.soft_empty_cache()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, Windows, musl): nothing to trim
        pass


@functools.cache
def bound_heap() -> int:
    """Serve large blocks (a frame, a latent, an activation) by mmap, so each goes back to the OS when freed; once
    per process, returns the threshold set (0: none).

    glibc raises its mmap threshold after every large free (up to 32 MiB), after which a chunk's tensors come from
    the heap and the gaps they leave put each chunk's peak hundreds of MiB above what it holds, differently every
    chunk, so the longest run meets the worst peak (docs/benchmarks.md, "Long video peak RAM against length").
    Fixing the threshold (as ``MALLOC_MMAP_THRESHOLD_`` would at start-up) turns that off."""
    threshold = int(os.environ.get("POSEGEN_MMAP_THRESHOLD", MMAP_THRESHOLD))
    if threshold <= 0:
        return 0
    import ctypes

    try:
        done = ctypes.CDLL("libc.so.6").mallopt(_M_MMAP_THRESHOLD, threshold)
    except (OSError, AttributeError):  # not glibc: its allocator has no such threshold
        return 0
    return threshold if done == 1 else 0
