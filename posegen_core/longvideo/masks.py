"""Foreground token masks for KV sharing (spec posegen-model §5, §6), plus pose- and user-based alternatives.

In a KV-shared block, video tokens that are background in both the anchor and the current chunk take the result of
attending to the anchor's K/V; foreground tokens keep their own attention. PoseGen finds the foreground from the
cross-attention of the subject keyword ("woman", "man", ...):

1. per block, the head-averaged QKᵀ/√d logits of the video queries against the keyword key(s)
   (:func:`keyword_attention_map`), min-max normalised per latent frame (:func:`normalize_per_frame`);
2. averaged over blocks 0..``max_block_idx`` (:class:`BlockMapAverager`; which blocks count depends on the kind of
   map and the shared block, see :func:`blocks_included`);
3. Otsu per latent frame (:func:`otsu_threshold`), flattened to tokens in (f, h, w) order (:func:`tokens_from_grid`);
4. ``union = curr OR prev`` (:func:`union_mask`).

:class:`ForegroundMaskTracker` is the small stateful API the sampler drives. Everything is checked against
PoseGen's own tensors in the golden folder ``posegen_tiny_v1`` (tests/unit/test_longvideo_masks.py): the Otsu
masks and thresholds bit for bit, the block averages bit for bit, the keyword maps to float rounding.

Two alternatives need no attention maps at all: :func:`pose_token_masks` rasterises the driving skeletons and
:func:`user_token_masks` takes a user MASK; both give a boolean [T, h, w] token grid with the same latent-frame
grouping as the Wan VAE (latent frame 0 = pixel frame 0, latent frame k = pixel frames 4k-3..4k).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import cv2
import numpy as np
import torch

from ..errors import PoseGenInputError
from ..posegen.conditioning import TEMPORAL_STRIDE
from ..poses.sequence import PoseSequence
from ..poses.skeletons import Skeleton

MapKind = Literal["curr", "prev"]
MAP_KINDS: tuple[str, ...] = ("curr", "prev")

NORMALIZE_EPS = 1e-6  # PoseGen's normalize_attn_map
OTSU_BINS = 256
OTSU_EPS = 1e-8  # PoseGen's guard on the class weights
USER_MASK_THRESHOLD = 0.5

# Q rows per matmul in keyword_attention_map: bounds the float32 copy of a bf16 Q slice (4096 x 5120 x 4 B = 84 MB
# for the 14B model) instead of upcasting all 75,600 rows at once.
_KEYWORD_CHUNK = 4096


# --- attention maps -----------------------------------------------------------------------------------------------


def keyword_attention_map(q: torch.Tensor, k_keyword: torch.Tensor, num_heads: int,
                          grid: tuple[int, int, int]) -> torch.Tensor:
    """PoseGen's ``compute_attn_map`` restricted to the keyword columns: float32 [B, f, h, w].

    ``q``: cross-attention queries of the video tokens [B, Nv, D] (after ``norm_q``, no RoPE), tokens in (f, h, w)
    order; ``k_keyword``: the text keys of the keyword token(s) only [B or 1, n_kw, D] (after ``norm_k``).

    PoseGen computes all [Nv, 512] logits per head, averages over heads and then picks and sums the keyword columns.
    Only those columns matter, and since the head mean and the column sum are both linear,
    ``sum_j mean_h(q_h·k_jh)/√d = q · (sum_j k_j) / (H·√d)``: one matrix-vector product over the full width D.
    That avoids the [H, Nv, 512] logits and any per-head reshuffle of Q; it equals PoseGen's result up to float
    rounding (the accumulation order differs), which the Otsu masks are robust to. Accumulated in float32 even for a
    bf16 Q (PoseGen stays in bf16), chunked over tokens so no full float32 copy of Q is made.
    """
    if q.dim() != 3 or k_keyword.dim() != 3:
        raise ValueError(f"q must be [B, Nv, D] and k_keyword [B, n_kw, D], got {tuple(q.shape)} and "
                         f"{tuple(k_keyword.shape)}")
    batch, tokens, dim = q.shape
    if k_keyword.shape[2] != dim or k_keyword.shape[0] not in (1, batch) or k_keyword.shape[1] == 0:
        raise ValueError(f"k_keyword {tuple(k_keyword.shape)} does not match q {tuple(q.shape)}: expected "
                         f"[{batch} or 1, n_kw >= 1, {dim}]")
    if num_heads <= 0 or dim % num_heads:
        raise ValueError(f"width {dim} does not split into {num_heads} heads")
    f, h, w = grid
    if f * h * w != tokens:
        raise ValueError(f"grid {grid} has {f * h * w} tokens but q has {tokens}")
    head_dim = dim // num_heads
    k_sum = k_keyword.to(device=q.device, dtype=torch.float32).sum(dim=1)  # [B or 1, D]
    k_sum = (k_sum / (num_heads * math.sqrt(head_dim))).expand(batch, dim).unsqueeze(-1)  # [B, D, 1]
    out = torch.empty(batch, tokens, dtype=torch.float32, device=q.device)
    for start in range(0, tokens, _KEYWORD_CHUNK):
        end = min(tokens, start + _KEYWORD_CHUNK)
        out[:, start:end] = torch.matmul(q[:, start:end].float(), k_sum).squeeze(-1)
    return out.reshape(batch, f, h, w)


def normalize_per_frame(maps: torch.Tensor, eps: float = NORMALIZE_EPS) -> torch.Tensor:
    """PoseGen's ``normalize_attn_map``: ``(a - min) / (max - min + eps)`` per latent frame over [..., h, w].

    A constant frame becomes all 0 (and so all background after Otsu, see :func:`otsu_threshold`).
    """
    if maps.dim() < 2:
        raise ValueError(f"maps must end with (h, w), got {tuple(maps.shape)}")
    low = maps.amin(dim=(-2, -1), keepdim=True)
    high = maps.amax(dim=(-2, -1), keepdim=True)
    return (maps - low) / (high - low + eps)


def normalized_keyword_map(q: torch.Tensor, k_text: torch.Tensor, token_indices: Sequence[int], num_heads: int,
                           grid: tuple[int, int, int]) -> torch.Tensor:
    """What the sampler feeds :meth:`ForegroundMaskTracker.add` after a block's cross-attention: [B, f, h, w].

    ``k_text``: the text keys [B, L, D] (CLIP image tokens excluded, as PoseGen's indices address text only).
    """
    indices = [int(i) for i in token_indices]
    if not indices or any(not 0 <= i < k_text.shape[1] for i in indices):
        raise ValueError(f"token_indices {indices} must be non-empty and inside the {k_text.shape[1]} text tokens")
    return normalize_per_frame(keyword_attention_map(q, k_text[:, indices], num_heads, grid))


class BlockMapAverager:
    """Normalised per-block maps of one forward pass, accumulated in block order.

    PoseGen keeps a running sum (``sum = sum + map`` in block order) and divides by the number of blocks. We keep
    every prefix sum, so the mean over the first n blocks is available for any n <= count; that is what the two
    inclusion rules need (:func:`blocks_included`). Golden evidence (``kvshare_masks``, ``max_block_idx`` 1): the
    Otsu input ``prev_anchor_avgmap`` at shared blocks 1 and 2 is bit for bit ``(map0 + map1) / 2`` of the anchor's
    maps, and ``curr_avgmap`` is ``map0 / 1`` at block 1 and ``(map0 + map1) / 2`` at block 2.
    """

    def __init__(self) -> None:
        self._prefix: list[torch.Tensor] = []  # _prefix[n - 1] = sum of the first n maps

    @property
    def count(self) -> int:
        return len(self._prefix)

    def add(self, normalised_map: torch.Tensor) -> None:
        if self._prefix and normalised_map.shape != self._prefix[0].shape:
            raise ValueError(f"map shape {tuple(normalised_map.shape)} differs from the earlier blocks' "
                             f"{tuple(self._prefix[0].shape)}")
        value = normalised_map.float()
        self._prefix.append(value.clone() if not self._prefix else self._prefix[-1] + value)

    def mean(self, num_blocks: int | None = None) -> torch.Tensor:
        """Mean of the first ``num_blocks`` maps (all by default)."""
        n = self.count if num_blocks is None else num_blocks
        if not 1 <= n <= self.count:
            raise ValueError(f"mean over {n} blocks asked but {self.count} were added")
        return self._prefix[n - 1] / n


def blocks_included(block: int, kind: MapKind, max_block_idx: int) -> int:
    """How many leading blocks (0, 1, ...) PoseGen averages into the ``kind`` map used at shared block ``block``.

    - ``"prev"`` (anchor): blocks 0..min(block, max_block_idx). PoseGen accumulates the anchor maps in
      ``WanModel.forward`` *before* each block runs, so the current block counts.
    - ``"curr"`` (current chunk): blocks 0..min(block - 1, max_block_idx). PoseGen accumulates them after each
      block's cross-attention, so only earlier blocks count; at block 0 there is none (PoseGen crashes there,
      §5.6) and this raises.

    Golden: shared blocks 1 and 2 with max_block_idx 1 give prev = 2, 2 blocks and curr = 1, 2 blocks.
    """
    if kind not in MAP_KINDS:
        raise ValueError(f"kind must be one of {MAP_KINDS}, got {kind!r}")
    if block < 0 or max_block_idx < 0:
        raise ValueError(f"block ({block}) and max_block_idx ({max_block_idx}) must be >= 0")
    last = min(block if kind == "prev" else block - 1, max_block_idx)
    if last < 0:
        raise ValueError("block 0 cannot be a KV-share block with cross-attention masks: the current chunk has no "
                         "map before block 0's cross-attention (PoseGen fails there too)")
    return last + 1


# --- Otsu ---------------------------------------------------------------------------------------------------------


def otsu_threshold(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """PoseGen's ``otsu_threshold``, per frame of [F, h, w]: (mask uint8 [F, h, w], thresholds float32 [F]).

    float32, 256-bin ``torch.histc`` on [0, 1] (1.0 lands in the last bin, values outside are not counted),
    probabilities = counts / (h·w), centres (k + 0.5)/256, ω0 and μ_cum cumulative sums, class means guarded by
    ω > 1e-8 (else 0), σ² = ω0·ω1·(μ0 - μ1)², threshold = centre of the first argmax, foreground = value > threshold.

    Runs on the CPU whatever the input device: the input is tiny ([21, 80, 45] at full size) and the CPU kernels
    are the ones the golden was made with, so the masks are deterministic across devices.

    The split puts bins <= k in the background class but the pixel test is against bin k's *centre*, so values in
    the upper half of the winning bin are foreground (PoseGen's behaviour, kept; see the tests).

    A frame whose values all fall in one bin (e.g. a constant frame, which normalisation turns into all 0) has
    σ² = 0 everywhere (one of ω0, ω1 is 0 at every bin), so the threshold is bin 0's centre 1/512: values above it
    are foreground, so an all-0 frame is all background.
    """
    if images.dim() != 3:
        raise ValueError(f"images must be [frames, h, w], got {tuple(images.shape)}")
    device = images.device
    images = images.detach().to(device="cpu", dtype=torch.float32)
    frames = images.shape[0]
    centres = (torch.arange(OTSU_BINS, dtype=torch.float32) + 0.5) / OTSU_BINS
    masks = torch.zeros(images.shape, dtype=torch.uint8)
    thresholds = torch.zeros(frames, dtype=torch.float32)
    zero = torch.zeros((), dtype=torch.float32)
    for i in range(frames):
        image = images[i]
        hist = torch.histc(image, bins=OTSU_BINS, min=0.0, max=1.0)
        p = hist / image.numel()
        omega0 = torch.cumsum(p, dim=0)
        mu_cum = torch.cumsum(p * centres, dim=0)
        mu_total = mu_cum[-1]
        omega1 = 1.0 - omega0
        mu0 = torch.where(omega0 > OTSU_EPS, mu_cum / (omega0 + OTSU_EPS), zero)
        mu1 = torch.where(omega1 > OTSU_EPS, (mu_total - mu_cum) / (omega1 + OTSU_EPS), zero)
        variance = omega0 * omega1 * (mu0 - mu1) ** 2
        threshold = centres[torch.argmax(variance)]  # torch.argmax returns the first maximum
        thresholds[i] = threshold
        masks[i] = (image > threshold).to(torch.uint8)
    return masks.to(device), thresholds.to(device)


def tokens_from_grid(mask: torch.Tensor) -> torch.Tensor:
    """[f, h, w] or [B, f, h, w] -> [B, f·h·w] in (f, h, w) order, the video-token order of the DiT."""
    if mask.dim() == 3:
        mask = mask.unsqueeze(0)
    if mask.dim() != 4:
        raise ValueError(f"mask must be [f, h, w] or [B, f, h, w], got {tuple(mask.shape)}")
    return mask.reshape(mask.shape[0], -1)


def union_mask(curr: torch.Tensor, prev: torch.Tensor) -> torch.Tensor:
    """PoseGen's ``bitwise_or(curr, prev)``: 1 = keeps its own attention, 0 = takes the anchor-KV result."""
    if curr.shape != prev.shape:
        raise ValueError(f"curr {tuple(curr.shape)} and prev {tuple(prev.shape)} masks differ in shape")
    return torch.bitwise_or(curr, prev)


def otsu_token_mask(average: torch.Tensor) -> torch.Tensor:
    """Block-averaged map [f, h, w] or [B, f, h, w] -> Otsu token mask uint8 [B, f·h·w] (Otsu per batch item)."""
    grids = average.unsqueeze(0) if average.dim() == 3 else average
    if grids.dim() != 4:
        raise ValueError(f"average must be [f, h, w] or [B, f, h, w], got {tuple(average.shape)}")
    return tokens_from_grid(torch.stack([otsu_threshold(g)[0] for g in grids]))


# --- the sampler's API --------------------------------------------------------------------------------------------


class ForegroundMaskTracker:
    """Per-step block maps of the anchor ("prev") and the current chunk ("curr"), and the token masks from them.

    The sampler, for each KV-shared step s and each block b <= ``max_block_idx`` (:meth:`needs_map`):

    - after block b's cross-attention in the current chunk's positive (cond) pass:
      ``add(s, b, normalized_keyword_map(...), "curr")``;
    - the anchor's map of (s, b), from the anchor's own run or recomputed from its Q/K: ``add(s, b, map, "prev")``
      (the anchor maps can be added up front; :meth:`maps` hands them from an anchor run's tracker to a base run's);
    - at a shared block b: ``union(s, b)`` (and ``mask(s, b, "prev")`` if the anchor foreground itself is wanted).

    Blocks must be added in order 0, 1, 2, ... per (step, kind), as PoseGen sums them in block order. The masks are
    shared by both CFG passes (PoseGen reuses the positive pass's maps in the negative pass, §5.5), so add each
    map once. Masks are cached: once b > max_block_idx + 1 every shared block of a step gets the same mask.
    """

    def __init__(self, max_block_idx: int) -> None:
        if max_block_idx < 0:
            raise ValueError(f"max_block_idx must be >= 0, got {max_block_idx}")
        self.max_block_idx = max_block_idx
        self._averagers: dict[tuple[str, int], BlockMapAverager] = {}
        self._maps: dict[tuple[str, int], list[torch.Tensor]] = {}
        self._masks: dict[tuple[str, int, int], torch.Tensor] = {}

    def needs_map(self, block: int) -> bool:
        """Whether block ``block`` feeds the masks (so its keyword map is worth computing)."""
        return 0 <= block <= self.max_block_idx

    def add(self, step: int, block: int, normalised_map: torch.Tensor, kind: MapKind = "curr") -> None:
        _check_kind(kind)
        if not self.needs_map(block):
            raise ValueError(f"block {block} does not feed the masks (blocks 0..{self.max_block_idx} do)")
        averager = self._averagers.setdefault((kind, step), BlockMapAverager())
        if block != averager.count:
            raise ValueError(f"step {step} {kind}: block {block} added after {averager.count} block(s); blocks must "
                             "arrive in order 0, 1, 2, ... and once each")
        averager.add(normalised_map)
        self._maps.setdefault((kind, step), []).append(normalised_map)

    def maps(self, step: int, kind: MapKind) -> tuple[torch.Tensor, ...]:
        """The per-block maps added so far for (step, kind), in block order."""
        _check_kind(kind)
        return tuple(self._maps.get((kind, step), ()))

    def average(self, step: int, block: int, kind: MapKind) -> torch.Tensor:
        """The block average PoseGen thresholds at shared block ``block``: float32 [B, f, h, w]."""
        needed = blocks_included(block, kind, self.max_block_idx)
        averager = self._averagers.get((kind, step))
        have = 0 if averager is None else averager.count
        if have < needed:
            raise ValueError(f"step {step} block {block}: the {kind} mask needs the maps of blocks 0..{needed - 1} "
                             f"but {have} were added")
        assert averager is not None
        return averager.mean(needed)

    def mask(self, step: int, block: int, kind: MapKind) -> torch.Tensor:
        """Otsu token mask uint8 [B, f·h·w] (1 = foreground) of the ``kind`` map at shared block ``block``."""
        key = (kind, step, blocks_included(block, kind, self.max_block_idx))
        if key not in self._masks:
            self._masks[key] = otsu_token_mask(self.average(step, block, kind))
        return self._masks[key]

    def union(self, step: int, block: int) -> torch.Tensor:
        """``curr OR prev`` as uint8 [B, f·h·w]: 1 keeps the chunk's own attention, 0 takes the anchor-KV result."""
        return union_mask(self.mask(step, block, "curr"), self.mask(step, block, "prev"))

    def clear(self, step: int | None = None) -> None:
        """Forget one step's maps and masks (all steps by default), e.g. before the next chunk."""
        for store in (self._averagers, self._maps):
            for key in [k for k in store if step is None or k[1] == step]:
                del store[key]
        for key in [k for k in self._masks if step is None or k[1] == step]:
            del self._masks[key]


def _check_kind(kind: str) -> None:
    if kind not in MAP_KINDS:
        raise ValueError(f"kind must be one of {MAP_KINDS}, got {kind!r}")


# --- latent-frame grouping and token downsampling -----------------------------------------------------------------


def latent_frame_groups(pixel_frames: int) -> list[range]:
    """Chunk positions of the pixel frames each latent frame covers: [0], [1..4], [5..8], ... (Wan VAE)."""
    if pixel_frames < 1 or (pixel_frames - 1) % TEMPORAL_STRIDE:
        raise ValueError(f"{pixel_frames} pixel frames; a chunk has 4k+1 frames")
    return [range(0, 1)] + [range(TEMPORAL_STRIDE * k - 3, TEMPORAL_STRIDE * k + 1)
                            for k in range(1, (pixel_frames - 1) // TEMPORAL_STRIDE + 1)]


def _check_grid_frames(frame_indices: np.ndarray, grid: tuple[int, int, int]) -> list[range]:
    groups = latent_frame_groups(len(frame_indices)) if len(frame_indices) else []
    if len(groups) != grid[0]:
        raise ValueError(f"{len(frame_indices)} driving frames make {len(groups)} latent frames but the grid has "
                         f"{grid[0]} (a chunk of T latent frames has 4(T-1)+1 pixel frames)")
    return groups


def _token_size(height: int, width: int, grid: tuple[int, int, int], what: str) -> tuple[int, int]:
    _, h, w = grid
    if h <= 0 or w <= 0 or height % h or width % w:
        raise ValueError(f"{what} of {width}x{height} px does not split into the {w}x{h} token grid")
    return height // h, width // w


def _pool_tokens(pixels: np.ndarray, h: int, w: int) -> np.ndarray:
    """[H, W] bool -> [h, w]: a token is foreground if any pixel it covers is (the safe side for KV sharing)."""
    big_h, big_w = pixels.shape
    return pixels.reshape(h, big_h // h, w, big_w // w).any(axis=(1, 3))


# --- pose-based masks ---------------------------------------------------------------------------------------------

# Keypoints are used from this confidence on: PoseGen draws body points from 0.3 (its hands from 0.7; we take the
# lower value for hands too, which only adds foreground).
POSE_MIN_CONFIDENCE = 0.3
# Person scale = torso length (neck, else mid-shoulder, to mid-hip). Limb half-width = 0.2 torso: a thigh is about
# 0.16 of the torso; the extra covers clothing and keypoint error. Overestimating is the safe side: a foreground
# token only keeps its own attention, while a subject token wrongly marked background would copy the anchor.
LIMB_RADIUS_FRACTION = 0.2
# Head: a disc at the centroid of the head points (about eye level); the crown sits ~0.22 torso above it, plus hair.
HEAD_RADIUS_FRACTION = 0.3
# Torso-length stand-ins when the hips are not visible: shoulder width x 1.25 (typical adult proportions); with no
# torso points at all, 0.3 x the larger side of the person's keypoint box.
SHOULDER_TO_TORSO = 1.25
BOX_TO_TORSO = 0.3
MIN_RADIUS_PX = 2.0  # a person with a single visible point still marks a small disc
_SHIFT = 4  # OpenCV fractional bits: keypoints are drawn at 1/16 px precision
_MAX_RADIUS = 16000.0  # OpenCV refuses lines thicker than 32767 px
_SAFE_COORD = float(1 << 20)  # OpenCV takes int32 points (x 2^_SHIFT); only absurd coordinates come near this


def pose_token_masks(seq: PoseSequence, frame_indices: np.ndarray, grid: tuple[int, int, int],
                     canvas: tuple[int, int], dilation_px: float | None = None,
                     min_confidence: float = POSE_MIN_CONFIDENCE) -> torch.Tensor:
    """Foreground tokens from the driving poses: bool [T, h, w].

    ``frame_indices``: the sequence frames driving this chunk (length S = 4(T-1)+1, repeats allowed, e.g. padding);
    ``canvas``: (width, height) of the video, which the poses must already be on; each token covers
    (height/h) x (width/w) pixels (16 x 16 for Wan). Per pixel frame and person, drawn at pixel resolution:

    - every skeleton edge with both ends visible as a line of radius ``LIMB_RADIUS_FRACTION`` x the person's
      torso length (round caps), every visible point as a disc of that radius;
    - the filled convex hull of the visible torso and head points (neck, shoulders, hips, nose, eyes, ears, face),
      which covers the trunk between the limb lines; skeletons without a "torso" part use all their points;
    - a disc of ``HEAD_RADIUS_FRACTION`` x torso at the head centroid, for the top of the head and hair.

    The pixel masks of the frames in one latent frame are OR-ed (frame 0 alone, then 4k-3..4k), grown by
    ``dilation_px`` pixels (Euclidean; None or 0 = no growth), and a token is foreground if any pixel it covers is.
    Frames with no visible person contribute nothing.
    """
    frame_indices = np.asarray(frame_indices, dtype=np.int64).reshape(-1)
    groups = _check_grid_frames(frame_indices, grid)
    if len(frame_indices) and (frame_indices.min() < 0 or frame_indices.max() >= seq.num_frames):
        raise ValueError(f"frame_indices reach {frame_indices.min()}..{frame_indices.max()} but the pose sequence has "
                         f"{seq.num_frames} frames")
    width, height = canvas
    if (seq.width, seq.height) != (width, height):
        raise ValueError(f"poses are on a {seq.width}x{seq.height} canvas but the video is {width}x{height}; fit "
                         "the poses to the video canvas first")
    _token_size(height, width, grid, "the canvas")
    if dilation_px is not None and not (math.isfinite(dilation_px) and dilation_px >= 0):
        raise ValueError(f"dilation_px must be >= 0 or None, got {dilation_px}")
    t, h, w = grid
    out = torch.zeros((t, h, w), dtype=torch.bool)
    plan = _PersonPlan(seq.skeleton)
    for k, group in enumerate(groups):
        pixels = np.zeros((height, width), dtype=np.uint8)
        for position in group:
            frame = seq.keypoints[frame_indices[position]]
            for person in frame:
                plan.draw(pixels, person.astype(np.float64), min_confidence)
        if dilation_px and pixels.any():
            # once per latent frame: growing the union equals the union of the grown frames. Distance of every
            # background pixel to the nearest foreground pixel, exact Euclidean, cost independent of dilation_px
            distance = cv2.distanceTransform((pixels == 0).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
            pixels = (distance <= dilation_px).astype(np.uint8)
        out[k] = torch.from_numpy(_pool_tokens(pixels > 0, h, w))
    return out


class _PersonPlan:
    """Which keypoints of a skeleton make the torso, shoulders, hips, hull and head (looked up by name once)."""

    def __init__(self, skeleton: Skeleton) -> None:
        names = skeleton.keypoints

        def find(*wanted: str) -> list[int]:
            return [names.index(n) for n in wanted if n in names]

        self.edges = np.asarray(skeleton.edges, dtype=np.int64).reshape(-1, 2)
        self.neck = find("neck")
        self.shoulders = find("right_shoulder", "left_shoulder")
        self.hips = find("right_hip", "left_hip")
        head = set(skeleton.parts.get("head", ())) | set(skeleton.parts.get("face", ()))
        self.head = sorted(head)
        if "torso" in skeleton.parts:
            self.hull = sorted(set(skeleton.parts["torso"]) | head)
        else:
            self.hull = list(range(skeleton.num_keypoints))

    def scale(self, xy: np.ndarray, ok: np.ndarray) -> float:
        """Torso length in pixels, or a stand-in (see the constants above)."""
        shoulders = [i for i in self.shoulders if ok[i]]
        hips = [i for i in self.hips if ok[i]]
        top = xy[self.neck[0]] if self.neck and ok[self.neck[0]] else (
            xy[shoulders].mean(axis=0) if shoulders else None)
        if top is not None and hips:
            torso = float(np.linalg.norm(top - xy[hips].mean(axis=0)))
            if torso > 0:
                return torso
        if len(shoulders) == 2:
            width = float(np.linalg.norm(xy[shoulders[0]] - xy[shoulders[1]]))
            if width > 0:
                return SHOULDER_TO_TORSO * width
        pts = xy[ok]
        return BOX_TO_TORSO * float((pts.max(axis=0) - pts.min(axis=0)).max())

    def draw(self, pixels: np.ndarray, person: np.ndarray, min_confidence: float) -> None:
        ok = (person[:, 2] >= min_confidence) & (person[:, 2] > 0)  # confidence 0 = missing, whatever the floor
        if not ok.any():
            return
        xy = person[:, :2]
        height, width = pixels.shape
        # radii are capped at twice the canvas size: only absurd poses (keypoints far off the canvas) reach the cap,
        # and it keeps OpenCV's int32 sizes and the clipping margin finite
        cap = min(2.0 * (width + height), _MAX_RADIUS)
        scale = self.scale(xy, ok)
        radius = min(cap, max(MIN_RADIUS_PX, LIMB_RADIUS_FRACTION * scale))
        head_radius = min(cap, max(radius, HEAD_RADIUS_FRACTION * scale))
        margin = radius + head_radius + 1.0
        hull = [i for i in self.hull if ok[i]]
        if len(hull) >= 3:
            pts = np.clip(xy[hull], -_SAFE_COORD, _SAFE_COORD)
            polygon = cv2.convexHull(_fixed(pts))
            cv2.fillConvexPoly(pixels, polygon, 255, cv2.LINE_8, _SHIFT)
        thickness = max(1, round(2 * radius))
        for a, b in self.edges:
            if ok[a] and ok[b]:
                segment = _clip_segment(xy[a], xy[b], width, height, margin)
                if segment is not None:
                    p, q = _fixed(segment)
                    cv2.line(pixels, tuple(p), tuple(q), 255, thickness, cv2.LINE_8, _SHIFT)
        for i in np.flatnonzero(ok):
            _disc(pixels, xy[i], radius, margin)
        head = [i for i in self.head if ok[i]]
        if head:
            _disc(pixels, xy[head].mean(axis=0), head_radius, margin)


def _fixed(points: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(points, dtype=np.float64) * (1 << _SHIFT)).astype(np.int32)


def _disc(pixels: np.ndarray, centre: np.ndarray, radius: float, margin: float) -> None:
    height, width = pixels.shape
    if -margin <= centre[0] <= width + margin and -margin <= centre[1] <= height + margin:
        cv2.circle(pixels, tuple(int(v) for v in _fixed(centre)), int(round(radius * (1 << _SHIFT))), 255, -1,
                   cv2.LINE_8, _SHIFT)


def _clip_segment(p: np.ndarray, q: np.ndarray, width: int, height: int,
                  margin: float) -> np.ndarray | None:
    """The part of p-q inside the canvas grown by ``margin`` (None if it misses), so OpenCV never sees huge points.

    Segments already within the safe range are returned unchanged, so ordinary poses are drawn exactly as given.
    """
    if max(abs(p[0]), abs(p[1]), abs(q[0]), abs(q[1])) <= _SAFE_COORD:
        return np.stack([p, q])
    lo = np.array([-margin, -margin])
    hi = np.array([width + margin, height + margin])
    d = q - p
    t0, t1 = 0.0, 1.0
    for axis in range(2):
        if d[axis] == 0.0:
            if not lo[axis] <= p[axis] <= hi[axis]:
                return None
            continue
        a, b = sorted(((lo[axis] - p[axis]) / d[axis], (hi[axis] - p[axis]) / d[axis]))
        t0, t1 = max(t0, a), min(t1, b)
        if t0 > t1:
            return None
    return np.clip(np.stack([p + t0 * d, p + t1 * d]), lo, hi)


# --- user masks ---------------------------------------------------------------------------------------------------


def user_token_masks(mask: torch.Tensor, frame_indices: np.ndarray, grid: tuple[int, int, int]) -> torch.Tensor:
    """Foreground tokens from a user MASK [F, H, W] in [0, 1] over the driving video: bool [T, h, w].

    ``frame_indices`` pick this chunk's frames from the mask (so F must reach every driving frame). A pixel is
    foreground from 0.5 on (``>=``: an undecided 0.5 errs towards foreground, the safe side for KV sharing). Frames
    are OR-ed per latent frame (frame 0 alone, then 4k-3..4k) and a token is foreground if any pixel it covers is;
    H and W must be multiples of the grid's h and w (the video size gives 16 x 16 px per token).
    """
    if not isinstance(mask, torch.Tensor) or mask.dim() != 3:
        raise PoseGenInputError("masks", f"got {tuple(getattr(mask, 'shape', ()))}.", "a MASK batch [frames, H, W]")
    frame_indices = np.asarray(frame_indices, dtype=np.int64).reshape(-1)
    groups = _check_grid_frames(frame_indices, grid)
    frames, height, width = mask.shape
    if len(frame_indices) and (frame_indices.min() < 0 or frame_indices.max() >= frames):
        raise PoseGenInputError("masks", f"{frames} mask frame(s) but this chunk is driven by frames "
                                f"{frame_indices.min()}..{frame_indices.max()}.",
                                "one mask per driving-video frame")
    _, h, w = grid
    if h <= 0 or w <= 0 or height % h or width % w:
        raise PoseGenInputError("masks", f"masks are {width}x{height} px.", f"a size that splits into the {w}x{h} "
                                f"token grid, e.g. the video size {16 * w}x{16 * h}")
    # threshold before leaving the mask's device: moves 1 byte per pixel instead of 4
    picked = (mask.detach()[torch.from_numpy(frame_indices).to(mask.device)] >= USER_MASK_THRESHOLD).cpu()
    grouped = torch.stack([picked[list(g)].any(dim=0) for g in groups])  # [T, H, W]
    return grouped.reshape(len(groups), h, height // h, w, width // w).any(dim=4).any(dim=2)
