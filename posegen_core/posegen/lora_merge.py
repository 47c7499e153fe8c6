"""PoseGen's checkpoint key layout and its LoRA merge rule (§1.2, §1.5).

On disk every key starts with ``pipe.dit.``; a Linear that carries a LoRA appears as
``<module>.base_layer.{weight,bias}`` plus ``<module>.lora_A[.<adapter>].weight`` and
``<module>.lora_B[.<adapter>].weight``. PoseGen merges ``W + 1.0 * (B @ A)`` in the dtype of the
first base tensor, with no rank scaling.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch

ONDISK_PREFIX = "pipe.dit."
LORA_ALPHA = 1.0


class LoraMergeError(ValueError):
    pass


def strip_ondisk_key(key: str) -> str:
    """Bare Wan key for an on-disk key: drop ``pipe.dit.`` and PEFT's ``.base_layer``."""
    if key.startswith(ONDISK_PREFIX):
        key = key[len(ONDISK_PREFIX):]
    return key.replace(".base_layer", "")


def split_base_and_lora(raw: Mapping[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Split a raw (possibly sharded-then-joined) state dict into base weights and LoRA tensors."""
    base: dict[str, torch.Tensor] = {}
    lora: dict[str, torch.Tensor] = {}
    for key, tensor in raw.items():
        bare = strip_ondisk_key(key)
        target = lora if "lora" in bare else base
        if bare in target:
            raise LoraMergeError(f"tensor '{bare}' appears twice (keys '{key}' and an earlier one)")
        target[bare] = tensor
    return base, lora


def lora_target_key(lora_b_key: str) -> str:
    """``blocks.7.cross_attn.k.lora_B.default.weight`` -> ``blocks.7.cross_attn.k.weight``."""
    parts = lora_b_key.split(".")
    i = parts.index("lora_B")
    tail = parts[i + 1:]
    if len(tail) == 2:  # an adapter name sits between lora_B and weight
        tail = tail[1:]
    head = parts[:i]
    if head and head[0] == "diffusion_model":
        head = head[1:]
    return ".".join(head + tail)


def merge_lora(
    base: dict[str, torch.Tensor], lora: Mapping[str, torch.Tensor], alpha: float = LORA_ALPHA,
) -> list[str]:
    """Merge every LoRA pair into ``base`` in place; returns the merged target keys.

    The arithmetic follows PoseGen exactly: the dtype of the first base tensor, ``W + alpha * (B @ A)``.
    """
    if not lora:
        return []
    if not base:
        raise LoraMergeError("LoRA tensors found but no base weights")
    merge_dtype = next(iter(base.values())).dtype
    merged: list[str] = []
    used: set[str] = set()
    for b_key in sorted(k for k in lora if ".lora_B." in k):
        a_key = b_key.replace(".lora_B.", ".lora_A.")
        if a_key not in lora:
            raise LoraMergeError(f"LoRA up-weight '{b_key}' has no partner '{a_key}'")
        target = lora_target_key(b_key)
        if target not in base:
            raise LoraMergeError(f"LoRA '{b_key}' targets '{target}', which is not in the base weights")
        weight = base[target]
        up = lora[b_key].to(merge_dtype)
        down = lora[a_key].to(merge_dtype)
        if up.dim() == 4:  # 1x1 conv LoRA: multiply as matrices, restore the kernel axes
            delta = torch.mm(up.squeeze(3).squeeze(2), down.squeeze(3).squeeze(2)).unsqueeze(2).unsqueeze(3)
        else:
            delta = torch.mm(up, down)
        if delta.shape != weight.shape:
            raise LoraMergeError(f"LoRA '{b_key}' gives a {tuple(delta.shape)} update for '{target}' "
                                 f"of shape {tuple(weight.shape)}")
        base[target] = weight.to(merge_dtype) + alpha * delta
        merged.append(target)
        used.update((a_key, b_key))
    leftover = sorted(set(lora) - used)
    if leftover:
        raise LoraMergeError(f"LoRA tensors without a lora_B/lora_A pair: {leftover[:4]}")
    return merged


def ondisk_state_dict(
    base: Mapping[str, torch.Tensor], lora_targets: Iterable[str], lora: Mapping[str, torch.Tensor],
) -> dict[str, torch.Tensor]:
    """Rebuild PoseGen's on-disk dictionary from bare base weights and PEFT-named LoRA tensors.

    ``lora_targets`` are the module names (``blocks.0.self_attn.q``) whose Linear is PEFT-wrapped.
    ``lora`` keys may carry the ``pipe.dit.`` prefix or not.
    """
    wrapped = set(lora_targets)
    out: dict[str, torch.Tensor] = {}
    for key, tensor in base.items():
        module, _, leaf = key.rpartition(".")
        if module in wrapped:
            out[f"{ONDISK_PREFIX}{module}.base_layer.{leaf}"] = tensor
        else:
            out[f"{ONDISK_PREFIX}{key}"] = tensor
    for key, tensor in lora.items():
        out[key if key.startswith(ONDISK_PREFIX) else ONDISK_PREFIX + key] = tensor
    return out


def lora_modules(lora: Iterable[str]) -> set[str]:
    """Module names that carry a LoRA, from LoRA key names."""
    return {lora_target_key(strip_ondisk_key(k)).rpartition(".")[0] for k in lora if ".lora_B." in k}
