"""Memory between chunks: what one segment held goes back before the next one starts."""

from __future__ import annotations


def release_memory() -> None:
    """Between segments: free what the last one held, in ComfyUI's allocator caches and in the C heap (glibc keeps
    freed pages otherwise, so RSS would creep up segment after segment)."""
    import ctypes
    import gc

    import comfy.model_management

    gc.collect()
    comfy.model_management.soft_empty_cache()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, Windows, musl): nothing to trim
        pass
