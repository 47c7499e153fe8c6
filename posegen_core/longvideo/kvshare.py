"""Anchor KV sharing (§5), in memory: record the anchor segment's self-attention K/V, share them with the
other base segments.

The sampler puts a :class:`KVShareContext` into ``transformer_options["posegen_kvshare"]``; PoseGen's forward asks
it, once per call, for a :class:`ForwardKV` (None outside the shared steps) and hands every block's Q/K/V and
cross-attention Q/K to it. Nothing goes to disk, no anchor Q is stored (only the anchor's per-block keyword maps,
a few floats per token), and no dense token×token mask is built: the reference code's −inf mask only changes rows
whose result is discarded (§5.4), so the shared attention is a plain attention against the anchor's K/V.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import torch

from ..errors import PoseGenInputError
from ..wan.steps import step_index
from .masks import ForegroundMaskTracker, normalized_keyword_map

Mode = Literal["record", "share"]
MaskMode = Literal["attention", "pose", "user", "none"]
MASK_MODES: tuple[str, ...] = ("attention", "pose", "user", "none")
COND, UNCOND = 0, 1  # ComfyUI's cond_or_uncond values; PoseGen's positive and negative passes


@dataclass(frozen=True)
class KVShareSettings:
    steps: frozenset[int]  # sampler step indices that share (PoseGen default {0, 1})
    blocks: frozenset[int]  # block indices that share (PoseGen default the last 6 of 40)
    mask_mode: str = "attention"
    max_block_idx: int = 10  # blocks 0..max feed the keyword maps (attention mode)
    token_indices: tuple[int, ...] = ()  # positions of the subject word in the text context (attention mode)

    def __post_init__(self) -> None:
        if self.mask_mode not in MASK_MODES:
            raise PoseGenInputError("mask_mode", f"'{self.mask_mode}' is unknown.", f"one of {', '.join(MASK_MODES)}")
        if self.mask_mode == "attention":
            if not self.token_indices:
                raise PoseGenInputError("token_indices", "attention masks need the subject word's token position.")
            if 0 in self.blocks:
                # the current run's map averages earlier blocks only: block 0 has none (PoseGen crashes there)
                raise PoseGenInputError("blocks", "block 0 cannot share when masks come from cross-attention.",
                                        "blocks from 1 on, or masks that do not come from attention")

    def map_blocks(self) -> range:
        return range(self.max_block_idx + 1)


KV_STORAGE: dict[str, torch.dtype | None] = {"model dtype": None, "fp8_e4m3fn": torch.float8_e4m3fn}
FP8_MAX = 448.0  # the largest float8_e4m3fn


@dataclass(frozen=True)
class ScaledFp8:
    """A tensor kept in float8_e4m3fn with one scale (amax / 448), so nothing overflows the format's range."""

    data: torch.Tensor
    scale: float

    @staticmethod
    def of(tensor: torch.Tensor, device: torch.device) -> ScaledFp8:
        amax = float(tensor.abs().max()) if tensor.numel() else 0.0
        scale = amax / FP8_MAX if amax > 0 else 1.0
        return ScaledFp8((tensor.float() / scale).to(device=device, dtype=torch.float8_e4m3fn), scale)

    def to(self, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        return (self.data.to(device).float() * self.scale).to(dtype)

    def numel(self) -> int:
        return self.data.numel()

    def element_size(self) -> int:
        return self.data.element_size()


@dataclass
class AnchorRecord:
    """What the anchor run leaves behind: K/V per (step, block, pass) and keyword maps per (step, block).

    ``kv_dtype`` None keeps the K/V as computed (exact); float8_e4m3fn halves a bf16 store (scaled, not exact).
    ``peak_kv_bytes`` is the most K/V bytes held at once, over the record's life."""

    kv: dict[tuple[int, int, int], tuple[torch.Tensor | ScaledFp8, torch.Tensor | ScaledFp8]] = field(
        default_factory=dict)
    maps: dict[tuple[int, int], torch.Tensor] = field(default_factory=dict)  # normalised [f, h, w]
    storage: torch.device = torch.device("cpu")
    kv_dtype: torch.dtype | None = None
    peak_kv_bytes: int = 0

    @property
    def kv_nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for pair in self.kv.values() for t in pair)

    @property
    def nbytes(self) -> int:
        return self.kv_nbytes + sum(t.numel() * t.element_size() for t in self.maps.values())

    def keep(self, key: tuple[int, int, int], k: torch.Tensor, v: torch.Tensor) -> None:
        if self.kv_dtype is None:
            self.kv[key] = (k.detach().to(self.storage), v.detach().to(self.storage))
        else:
            self.kv[key] = (ScaledFp8.of(k.detach(), self.storage), ScaledFp8.of(v.detach(), self.storage))
        self.peak_kv_bytes = max(self.peak_kv_bytes, self.kv_nbytes)

    def clear(self) -> None:
        self.kv.clear()
        self.maps.clear()


def kv_bytes(tokens: int, dim: int, dtype: torch.dtype, steps: int, blocks: int, passes: int = 2) -> int:
    """Memory the anchor's K/V take: K and V of every token, per shared step, block and CFG pass."""
    return 2 * tokens * dim * torch.empty((), dtype=dtype).element_size() * steps * blocks * passes


@dataclass
class KVShareContext:
    """One sampling run's role in KV sharing: ``record`` (the anchor) or ``share`` (another base segment).

    ``static_masks`` are the token masks for the pose/user modes: ``{"curr": bool[T*h*w], "prev": bool[T*h*w]}``.
    ``inspect`` keeps the masks each shared block used (for tests and the golden check).
    """

    settings: KVShareSettings
    mode: Mode
    record: AnchorRecord
    static_masks: dict[str, torch.Tensor] | None = None
    inspect: dict[str, torch.Tensor] | None = None
    _fixed_own: tuple[tuple[int, torch.device, int], torch.Tensor] | None = field(default=None, init=False, repr=False)

    def fixed_own_tokens(self, tokens: int, device: torch.device) -> torch.Tensor:
        """The own-attention tokens of the modes whose masks do not change (pose, user, none), made once per run."""
        key = (tokens, device, id(self.static_masks))
        if self._fixed_own is None or self._fixed_own[0] != key:
            if self.settings.mask_mode == "none":
                union = torch.zeros(tokens, dtype=torch.bool)
            else:
                masks = self.static_masks or {}
                union = masks["curr"].flatten().bool() | masks["prev"].flatten().bool()
            self._fixed_own = (key, union.to(device))
        return self._fixed_own[1]

    def forward_kv(self, transformer_options: dict, grid: tuple[int, int, int]) -> ForwardKV | None:
        step = step_index(transformer_options)
        if step is None or step not in self.settings.steps:
            return None
        passes = list(transformer_options.get("cond_or_uncond") or [COND])
        return ForwardKV(self, step, passes, grid)


class ForwardKV:
    """KV sharing inside one model call (one step; the batch holds one element per CFG pass)."""

    def __init__(self, context: KVShareContext, step: int, passes: list[int], grid: tuple[int, int, int]) -> None:
        self.context = context
        self.settings = context.settings
        self.step = step
        self.passes = passes
        self.grid = grid
        # this call's keyword maps ("curr", positive element) beside the anchor's ("prev") for the mask rules
        self.masks = ForegroundMaskTracker(self.settings.max_block_idx)
        if context.mode == "share" and self.settings.mask_mode == "attention":
            for block in self.settings.map_blocks():
                anchor_map = context.record.maps.get((step, block))
                if anchor_map is None:
                    raise ValueError(f"the anchor recorded no subject map for step {step}, block {block}: anchor "
                                     "and base segments must use the same steps and mask settings")
                self.masks.add(step, block, anchor_map, "prev")

    def _check_batch(self, batch: int) -> None:
        if batch != len(self.passes):
            raise ValueError(f"KV sharing needs one latent per CFG pass; got a batch of {batch} for passes "
                             f"{self.passes} (use batch size 1)")

    # --- self-attention ----------------------------------------------------------------------------------------

    def after_qkv(self, block: int, k: torch.Tensor, v: torch.Tensor) -> None:
        """Anchor: keep K (after norm and RoPE) and V of [video ; reference] for a shared block."""
        if self.context.mode != "record" or block not in self.settings.blocks:
            return
        self._check_batch(k.shape[0])
        record = self.context.record
        for i, pass_ in enumerate(self.passes):
            record.keep((self.step, block, pass_), k[i:i + 1], v[i:i + 1])

    def shared_kv(self, block: int, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Base segment: the anchor's K/V for this step and block, one row per batch element's pass."""
        if self.context.mode != "share" or block not in self.settings.blocks:
            return None
        self._check_batch(like.shape[0])
        try:
            pairs = [self.context.record.kv[(self.step, block, p)] for p in self.passes]
        except KeyError:
            raise ValueError(f"the anchor recorded no K/V for step {self.step}, block {block}: anchor and base "
                             "segments must use the same steps and blocks") from None
        k = torch.cat([pk.to(device=like.device, dtype=like.dtype) for pk, _ in pairs])
        v = torch.cat([pv.to(device=like.device, dtype=like.dtype) for _, pv in pairs])
        if k.shape[1:] != like.shape[1:]:
            raise ValueError(f"anchor K/V have {k.shape[1]} tokens, this segment {like.shape[1]}: anchor and base "
                             "segments need the same size and length")
        return k, v

    def own_tokens(self, block: int, device: torch.device) -> torch.Tensor:
        """[video tokens] True where a token keeps its own attention (foreground in either segment)."""
        if self.settings.mask_mode != "attention":
            return self.context.fixed_own_tokens(math.prod(self.grid), device)
        prev = self.masks.mask(self.step, block, "prev")[0].bool()
        curr = self.masks.mask(self.step, block, "curr")[0].bool()
        union = prev | curr
        self._inspect(block, prev=prev, curr=curr, union=union)
        return union.to(device)

    def _inspect(self, block: int, **masks: torch.Tensor) -> None:
        if self.context.inspect is not None:
            for name, mask in masks.items():
                self.context.inspect[f"{name}/step{self.step}_block{block}"] = mask.clone()

    # --- cross-attention ---------------------------------------------------------------------------------------

    def wants_map(self, block: int) -> bool:
        return self.settings.mask_mode == "attention" and block <= self.settings.max_block_idx

    def after_cross_qk(self, block: int, q: torch.Tensor, k_text: torch.Tensor, num_heads: int) -> None:
        """Keyword map of the positive element (the negative pass reuses the positive's masks, as PoseGen)."""
        if not self.wants_map(block):
            return
        positive = self.passes.index(COND) if COND in self.passes else 0
        normalised = normalized_keyword_map(q[positive:positive + 1], k_text[positive:positive + 1],
                                            self.settings.token_indices, num_heads, self.grid)
        if self.context.mode == "record":
            self.context.record.maps[(self.step, block)] = normalised[0].to(self.context.record.storage)
        else:
            self.masks.add(self.step, block, normalised, "curr")
