"""Offline BlumNet substitute: white-on-black medial-axis skeleton frames from subject masks (§2.2, §6.4).

PoseAnything drives non-human subjects with BlumNet curves: pruned, smooth medial axes of the subject, drawn as
white lines about 3 px wide at a 512-px long side on black. Without BlumNet we approximate them from a per-frame
subject MASK:

1. Resize to a 512-px long side (``INTER_AREA`` when shrinking) and threshold at 0.5.
2. Clean: morphological open then close (``clean_kernel`` px), keep the largest connected component, fill holes.
3. Skeletonise (``skimage.morphology.skeletonize``, Zhang's method in 2-D), made minimal: the staircase pixels Zhang
   leaves would otherwise read as junctions. A subject cut off by the frame is first extended past the edge, so its
   axes run on to the edge instead of stopping one radius short.
4. Prune spurs, ``prune_rounds`` rounds of two passes over the end branches (endpoint → junction):
   a. noise: branches whose tip reaches less than ``max(min_branch_px, half the inscribed radius)`` past the
      subject's inscribed circle at their junction. Those are boundary bumps and the corner branches of blunt ends,
      however long their path from a thick body's axis is.
   b. size: branches shorter than ``max(min_branch_px, branch_fraction × skeleton length)``, the length taken after
      pass (a) so that a noisy mask does not prune harder. A junction left with one other branch keeps a short
      branch at least twice as long as the other short ones there: a limb's tip beyond a small side branch.
   A junction that would lose every branch keeps its two longest (the longest path), so a skeleton never vanishes;
   closed loops are never end branches.
5. Smooth: each branch is simplified with Douglas–Peucker (``smooth_epsilon`` px, 0 = off) and redrawn as a 1-px
   ``LINE_8`` polyline.
6. Render like the released extractor: cross-dilate, Lee-thin, cross-dilate again (≈3 px at 512), resize to the
   mask's size (bilinear when enlarging, area when shrinking; when shrinking, pixels on the centre line stay white so
   strokes stay connected) and re-binarise at 0.5. The output is strictly 0/1 white on black because the shipped
   skeleton PNGs are exactly (0,0,0)/(255,255,255): binary is what the model saw.

Every frame uses the same settings and nothing carries over between frames, so the result depends only on the mask
(topology stability over time is what §6.4 asks for). Frames whose mask is empty after cleaning (no subject, or only
specks the opening removes) render black and are listed in :attr:`SkeletonVideo.empty_frames`, so callers can mark
them un-posed for sparse control.

Needs scikit-image at run time (it is only a dev requirement of the pack so far); it is imported on first use.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from ..errors import PoseGenInputError

# The released drawing code dilates with cv2's 3x3 MORPH_ELLIPSE, which is this cross
CROSS_3X3 = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
MIN_MASK_SIDE = 16
# Leftover stubs of this length or less appear where a pruned branch met a junction cluster
_STUB_PX = 3.0
# The corners of a square end stick out (sqrt(2) - 1) ≈ 0.41 radii past the inscribed circle: below this is noise
_NOISE_RADIUS_FRACTION = 0.5
# 8-neighbour offsets, 4-neighbours first so that walks along a path never skip a staircase corner
_OFFSETS = ((-1, 0), (0, 1), (1, 0), (0, -1), (-1, 1), (1, 1), (1, -1), (-1, -1))
# The same neighbours in ring order (E, NE, N, NW, W, SW, S, SE) for the connectivity number
_RING = ((0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1), (1, 0), (1, 1))


@dataclass(frozen=True)
class SkeletonFromMaskSettings:
    """Parameters shared by every frame. Pixel sizes are at the working resolution (``work_long_side``)."""

    work_long_side: int = 512  # the extractor's canvas; lines are 3 px wide at this size
    clean_kernel: int = 5  # open/close ellipse diameter; 0 or 1 skips the morphology
    min_branch_px: float = 8.0  # end branches shorter than this are spurs (step 4 above)
    branch_fraction: float = 0.05  # ... and so are those shorter than this share of the skeleton's length
    prune_rounds: int = 3  # 0 keeps every branch
    smooth_epsilon: float = 1.5  # Douglas–Peucker tolerance; 0 redraws the skeleton pixel for pixel

    def __post_init__(self) -> None:
        _check_number("work_long_side", self.work_long_side, 64, 4096, integer=True)
        _check_number("clean_kernel", self.clean_kernel, 0, 64, integer=True)
        _check_number("min_branch_px", self.min_branch_px, 0.0, 1000.0)
        _check_number("branch_fraction", self.branch_fraction, 0.0, 1.0)
        _check_number("prune_rounds", self.prune_rounds, 0, 20, integer=True)
        _check_number("smooth_epsilon", self.smooth_epsilon, 0.0, 50.0)


@dataclass
class TracedSkeleton:
    """The 1-px skeleton of one mask at the working resolution, before rendering.

    ``lines`` is the (smoothed) polyline drawing; ``endpoints`` and ``junctions`` are (row, col) points of the pruned
    skeleton graph at the working resolution, junctions as centroids of junction-pixel clusters. ``branch_count`` is
    the number of branches between endpoints and junctions (0 when there is no subject). ``scale`` = work size /
    mask size.
    """

    lines: np.ndarray
    branch_count: int
    endpoints: np.ndarray
    junctions: np.ndarray
    scale: float

    @property
    def empty(self) -> bool:
        return not bool(self.lines.any())


@dataclass
class SkeletonVideo:
    """Skeleton frames float32 [F, H, W, 3] in {0, 1}, the indices of frames with no subject, branches per frame."""

    frames: np.ndarray
    empty_frames: list[int] = field(default_factory=list)
    branch_counts: list[int] = field(default_factory=list)


@dataclass
class _Graph:
    """A 1-px skeleton split at its junctions (pixels with 3+ neighbours) into branches.

    Branch k (1-based) is the 8-connected component ``branch_labels == k`` of the non-junction pixels, junction
    cluster j likewise in ``junction_labels``; per-branch and per-cluster arrays are indexed by k and j (0 unused).
    """

    branch_labels: np.ndarray  # int32 [h, w]
    junction_labels: np.ndarray  # int32 [h, w]
    length: np.ndarray  # float64 [B + 1], Euclidean, plus the step onto a junction for branches that touch one
    tips: dict[int, tuple[int, int]]  # branch -> one of its skeleton endpoints (a lone pixel counts)
    junctions: list[frozenset[int]]  # junction clusters each branch touches
    junction_centre: np.ndarray  # float64 [J + 1, 2] (row, col)
    junction_radius: np.ndarray  # float32 [J + 1], the subject's inscribed radius at each cluster

    @property
    def branch_count(self) -> int:
        return len(self.length) - 1

    def end_branches(self) -> list[int]:
        """Branches running from an endpoint into exactly one junction: the only ones pruning may remove."""
        return [k for k in self.tips if len(self.junctions[k]) == 1]

    def junction_of(self, branch: int) -> int:
        return next(iter(self.junctions[branch]))


# ----------------------------------------------------------------------------------------------------- validation


def _check_number(name: str, value: object, low: float, high: float, *, integer: bool = False) -> None:
    kind = "an integer" if integer else "a number"
    ok_type = isinstance(value, (int, np.integer)) if integer else isinstance(value, (int, float, np.number))
    if isinstance(value, bool) or not ok_type or not math.isfinite(float(value)) or not low <= value <= high:
        raise PoseGenInputError(name, f"got {value!r}.", f"{kind} in [{low}, {high}]")


def _check_masks(masks: object, name: str = "masks") -> np.ndarray:
    """The masks as float32 [F, H, W], or PoseGenInputError naming the input ``name``."""
    shape = getattr(masks, "shape", None)
    if not isinstance(masks, np.ndarray):
        raise PoseGenInputError(name, f"got {type(masks).__name__}.", "a numpy array [frames, height, width]")
    if masks.ndim != 3:
        raise PoseGenInputError(name, f"got shape {shape}.", "a 3-D batch [frames, height, width]")
    if not (np.issubdtype(masks.dtype, np.number) or masks.dtype == np.bool_):
        raise PoseGenInputError(name, f"got dtype {masks.dtype}.", "numeric values in 0..1")
    frames, height, width = masks.shape
    if frames < 1:
        raise PoseGenInputError(name, "the batch holds no frames.", "at least one frame")
    if height < MIN_MASK_SIDE or width < MIN_MASK_SIDE:
        raise PoseGenInputError(name, f"frames are {width}x{height}.",
                                f"at least {MIN_MASK_SIDE} px on each side")
    values = masks.astype(np.float32)
    if not np.isfinite(values).all():
        raise PoseGenInputError(name, "holds NaN or infinite values.", "finite values in 0..1")
    return values


def _check_mask2d(mask2d: object) -> np.ndarray:
    if not isinstance(mask2d, np.ndarray) or mask2d.ndim != 2:
        raise PoseGenInputError("mask", f"got {getattr(mask2d, 'shape', type(mask2d).__name__)}.",
                                "a 2-D numpy array [height, width]")
    return _check_masks(mask2d[None], "mask")[0]


# ------------------------------------------------------------------------------------------------- mask cleaning


def work_size(height: int, width: int, long_side: int) -> tuple[int, int]:
    """(h, w) with the long side at ``long_side``, aspect kept (the extractor's 512-px working canvas)."""
    scale = long_side / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def _resize(image: np.ndarray, size_hw: tuple[int, int]) -> np.ndarray:
    # Area averaging when shrinking keeps thin parts from aliasing away; bilinear when enlarging
    shrinking = size_hw[0] * size_hw[1] < image.shape[0] * image.shape[1]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(image, (size_hw[1], size_hw[0]), interpolation=interpolation)


def _largest_component(mask: np.ndarray) -> np.ndarray:
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count <= 1:
        return np.zeros_like(mask, dtype=bool)
    biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return labels == biggest


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    # Background 4-connected to the (padded) border is outside; every other background pixel is a hole
    padded = np.pad(~mask, 1, constant_values=True).astype(np.uint8)
    _, labels = cv2.connectedComponents(padded, connectivity=4)
    outside = labels == labels[0, 0]
    return ~outside[1:-1, 1:-1]


def clean_mask(mask: np.ndarray, kernel: int) -> np.ndarray:
    """Open then close with a ``kernel``-px ellipse, keep the largest 8-connected component, fill its holes."""
    cleaned = mask.astype(np.uint8)
    if kernel > 1:
        element = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (kernel, kernel))
        cleaned = cv2.morphologyEx(cleaned, cv2.MORPH_OPEN, element)
        # Closing near the border must not pull in the outside, so pad with background first
        pad = kernel
        cleaned = np.pad(cleaned, pad)
        cleaned = cv2.morphologyEx(cleaned, cv2.MORPH_CLOSE, element)[pad:-pad, pad:-pad]
    return _fill_holes(_largest_component(cleaned > 0))


# ------------------------------------------------------------------------------------------------ skeleton graph


def _skeletonize(image: np.ndarray, method: str | None = None) -> np.ndarray:
    try:
        from skimage.morphology import skeletonize
    except ImportError as error:  # pragma: no cover - depends on the install
        raise ImportError("Skeletons from masks need scikit-image: pip install scikit-image") from error
    return skeletonize(image.astype(bool), method=method)


def _ring_codes(image: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """8-bit code of each pixel's 8 neighbours, bit i set for ``_RING[i]`` (0 outside the image)."""
    padded = np.pad(image.astype(np.uint8), 1)
    codes = np.zeros(rows.shape, np.int32)
    for bit, (dr, dc) in enumerate(_RING):
        codes |= padded[rows + 1 + dr, cols + 1 + dc].astype(np.int32) << bit
    return codes


def _redundant_table() -> np.ndarray:
    """Ring codes whose centre can go without changing topology or shortening a line.

    Yokoi's 8-connectivity number N = Σ over the 4-neighbours k of (x̄ₖ − x̄ₖ·x̄ₖ₊₁·x̄ₖ₊₂), with x̄ = 1 − x around
    the ring: N = 1 means a simple point. Endpoints (fewer than 2 neighbours) stay.
    """
    table = np.zeros(256, bool)
    for code in range(256):
        ring = [(code >> bit) & 1 for bit in range(8)]
        empty = [1 - value for value in ring]
        yokoi = sum(empty[k] - empty[k] * empty[(k + 1) % 8] * empty[(k + 2) % 8] for k in (0, 2, 4, 6))
        table[code] = yokoi == 1 and sum(ring) >= 2
    return table


_REDUNDANT = _redundant_table()


def _drop_redundant(skeleton: np.ndarray) -> np.ndarray:
    """Remove pixels a 1-px skeleton can lose without changing its topology or shortening a line.

    Zhang's method leaves such staircase pixels, and pruning leaves them where a junction lost a branch; they would
    read as junctions of 3+ neighbours and split branches that are really one.
    """
    padded = np.pad(skeleton.astype(bool), 1)
    while True:
        rows, cols = np.nonzero(padded[1:-1, 1:-1])
        candidates = _REDUNDANT[_ring_codes(padded[1:-1, 1:-1], rows, cols)]
        removed = 0
        # One at a time: of two touching redundant pixels only one may go
        for row, col in zip(rows[candidates].tolist(), cols[candidates].tolist(), strict=True):
            code = sum(int(padded[row + 1 + dr, col + 1 + dc]) << bit for bit, (dr, dc) in enumerate(_RING))
            if _REDUNDANT[code]:
                padded[row + 1, col + 1] = False
                removed += 1
        if not removed:
            return padded[1:-1, 1:-1].copy()


def _neighbour_count(skeleton: np.ndarray) -> np.ndarray:
    kernel = np.ones((3, 3), np.float32)
    kernel[1, 1] = 0
    counts = cv2.filter2D(skeleton.astype(np.float32), -1, kernel, borderType=cv2.BORDER_CONSTANT)
    return np.rint(counts).astype(np.int32)


def _neighbour_labels(labels: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """[N, 8] labels of the 8 neighbours of each (row, col); 0 outside the image."""
    padded = np.pad(labels, 1)
    return np.stack([padded[rows + 1 + dr, cols + 1 + dc] for dr, dc in _OFFSETS], axis=1)


def _pair_lengths(labels: np.ndarray, count: int) -> np.ndarray:
    """Euclidean length of each labelled 1-px curve, summed over its pairs of touching pixels.

    Orthogonal pairs count 1 and diagonal pairs √2, except a diagonal across a corner that the curve already turns
    through an orthogonal pair (a staircase step would otherwise count twice).
    """
    top_left, top_right = labels[:-1, :-1], labels[:-1, 1:]
    bottom_left, bottom_right = labels[1:, :-1], labels[1:, 1:]
    pairs = [
        (labels[:, :-1], labels[:, 1:], 1.0, True),
        (labels[:-1, :], labels[1:, :], 1.0, True),
        (top_left, bottom_right, math.sqrt(2.0), (top_right != top_left) & (bottom_left != top_left)),
        (top_right, bottom_left, math.sqrt(2.0), (top_left != top_right) & (bottom_right != top_right)),
    ]
    total = np.zeros(count, np.float64)
    for first, second, weight, not_a_corner in pairs:
        same = (first == second) & (first > 0) & not_a_corner
        total += weight * np.bincount(first[same], minlength=count)
    return total


def _graph(skeleton: np.ndarray, radius: np.ndarray) -> _Graph:
    """Split a 1-px skeleton into branches; ``radius`` is the subject's distance transform."""
    counts = _neighbour_count(skeleton)
    junction = skeleton & (counts >= 3)
    junction_total, junction_labels = cv2.connectedComponents(junction.astype(np.uint8), connectivity=8)
    rest = (skeleton & ~junction).astype(np.uint8)
    branch_total, branch_labels = cv2.connectedComponents(rest, connectivity=8)
    rows, cols = np.nonzero(branch_labels)
    labels = branch_labels[rows, cols]
    touched = _neighbour_labels(junction_labels, rows, cols).ravel()
    hits = np.unique(np.stack([np.repeat(labels, 8), touched], axis=1)[touched > 0], axis=0)
    junctions: list[set[int]] = [set() for _ in range(branch_total)]
    for branch, cluster in hits.tolist():
        junctions[branch].add(cluster)
    tip_rows, tip_cols = np.nonzero(rest & (counts <= 1))
    tips = {int(branch_labels[r, c]): (int(r), int(c)) for r, c in zip(tip_rows, tip_cols, strict=True)}
    length = _pair_lengths(branch_labels, branch_total) + np.array([1.0 if j else 0.0 for j in junctions])
    j_rows, j_cols = np.nonzero(junction)
    j_labels = junction_labels[j_rows, j_cols]
    pixels = np.maximum(np.bincount(j_labels, minlength=junction_total), 1)
    centre = np.stack([np.bincount(j_labels, j_rows, junction_total), np.bincount(j_labels, j_cols, junction_total)],
                      axis=1) / pixels[:, None]
    junction_radius = np.zeros(junction_total, np.float32)
    np.maximum.at(junction_radius, j_labels, radius[j_rows, j_cols])
    return _Graph(branch_labels, junction_labels, length, tips, [frozenset(j) for j in junctions], centre,
                  junction_radius)


def _noise_branches(graph: _Graph, radius: np.ndarray, min_branch_px: float) -> set[int]:
    """End branches whose tip's disc reaches less than ``max(min_branch_px, radius / 2)`` past the junction's disc."""
    noise = set()
    for branch in graph.end_branches():
        cluster = graph.junction_of(branch)
        tip = graph.tips[branch]
        reach = math.dist(tip, graph.junction_centre[cluster]) + radius[tip] - graph.junction_radius[cluster]
        if reach < max(min_branch_px, _NOISE_RADIUS_FRACTION * graph.junction_radius[cluster]):
            noise.add(branch)
    return noise


def _dominant(graph: _Graph, longest_first: list[int]) -> bool:
    return len(longest_first) >= 2 and graph.length[longest_first[0]] >= 2 * graph.length[longest_first[1]]


def _doomed(graph: _Graph, short: set[int], spare_dominant: bool) -> list[int]:
    """The ``short`` end branches to remove, minus those their junction must keep.

    A junction that would lose every branch keeps its two longest (the longest path), so a skeleton never vanishes.
    With ``spare_dominant``, a junction left with a single other branch keeps a short branch at least twice as long
    as any other short one there: that is a limb's tip beyond a small side branch, not a fork.
    """
    groups: dict[int, list[int]] = {}
    for branch in sorted(short):
        groups.setdefault(graph.junction_of(branch), []).append(branch)
    degree = Counter(cluster for clusters in graph.junctions for cluster in clusters)
    doomed = []
    for cluster, group in groups.items():
        group.sort(key=lambda branch: graph.length[branch], reverse=True)
        staying = degree[cluster] - len(group)
        if staying == 0:
            group = group[2:]
        elif spare_dominant and staying == 1 and _dominant(graph, group):
            group = group[1:]
        doomed.extend(group)
    return doomed


def _remove(skeleton: np.ndarray, graph: _Graph, doomed: list[int]) -> np.ndarray:
    if not doomed:
        return skeleton
    pruned = skeleton & ~np.isin(graph.branch_labels, doomed)
    # A junction cluster that lost a branch may keep redundant pixels (its 1-2 px stubs go in a later pass)
    return _drop_redundant(pruned)


def _short_branches(graph: _Graph, threshold: float) -> set[int]:
    return {branch for branch in graph.end_branches() if graph.length[branch] < threshold}


def prune_spurs(skeleton: np.ndarray, subject: np.ndarray, settings: SkeletonFromMaskSettings) -> np.ndarray:
    """Remove spurs from the 1-px ``skeleton`` of the bool ``subject`` mask (the module docstring's step 4).

    The skeleton is first made minimal (no staircase pixels), so the result is minimal even with no pruning rounds.
    """
    radius = cv2.distanceTransform(subject.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    pruned = _drop_redundant(skeleton.astype(bool))
    for _ in range(settings.prune_rounds):
        start = pruned
        graph = _graph(pruned, radius)
        pruned = _remove(pruned, graph, _doomed(graph, _noise_branches(graph, radius, settings.min_branch_px), False))
        graph = graph if pruned is start else _graph(pruned, radius)
        threshold = max(settings.min_branch_px, settings.branch_fraction * float(graph.length.sum()))
        pruned = _remove(pruned, graph, _doomed(graph, _short_branches(graph, threshold), True))
        if pruned is start:
            break
    if settings.prune_rounds:
        graph = _graph(pruned, radius)
        pruned = _remove(pruned, graph, _doomed(graph, _short_branches(graph, _STUB_PX), False))
    return pruned


# ------------------------------------------------------------------------------------------- smoothing, rendering


def _ordered_paths(graph: _Graph) -> tuple[list[np.ndarray], list[bool], np.ndarray]:
    """Each branch's pixels (row, col) in walking order, whether it is a closed loop, and pixels no walk reached."""
    rows, cols = np.nonzero(graph.branch_labels)
    index = np.full(graph.branch_labels.shape, -1, np.int64)
    index[rows, cols] = np.arange(rows.size)
    # Neighbours of a branch pixel that are not junctions belong to the same branch by construction
    neighbours = [[n for n in row if n >= 0] for row in (_neighbour_labels(index + 1, rows, cols) - 1).tolist()]
    labels = graph.branch_labels[rows, cols].tolist()
    starts: dict[int, int] = {}
    for pixel, label in enumerate(labels):
        if label not in starts or (len(neighbours[pixel]) <= 1 < len(neighbours[starts[label]])):
            starts[label] = pixel
    visited = np.zeros(rows.size, bool)
    paths, closed = [], []
    for label in range(1, graph.branch_count + 1):
        walk = [starts[label]]
        visited[walk[0]] = True
        while (step := next((n for n in neighbours[walk[-1]] if not visited[n]), None)) is not None:
            visited[step] = True
            walk.append(step)
        paths.append(np.stack([rows[walk], cols[walk]], axis=1).astype(np.int32))
        closed.append(len(neighbours[walk[0]]) > 1 and len(walk) > 2 and not graph.junctions[label])
    missed = np.stack([rows[~visited], cols[~visited]], axis=1)
    return paths, closed, missed


def _junction_neighbour(point: np.ndarray, labels: np.ndarray) -> np.ndarray | None:
    hits = _neighbour_labels(labels, point[None, 0], point[None, 1])[0]
    for (dr, dc), hit in zip(_OFFSETS, hits, strict=True):
        if hit:
            return point + np.array([dr, dc], dtype=np.int32)
    return None


def _with_junction_ends(path: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The path extended by one pixel into each junction it meets, so redrawn branches stay connected."""
    head = _junction_neighbour(path[0], labels)
    tail = _junction_neighbour(path[-1], labels)
    parts = [path] if head is None else [head[None], path]
    if tail is not None:
        parts.append(tail[None])
    return np.vstack(parts)


def _draw_branches(graph: _Graph, epsilon: float) -> np.ndarray:
    """Each branch simplified by Douglas–Peucker and redrawn as a 1-px polyline, plus the junction pixels."""
    canvas = (graph.junction_labels > 0).astype(np.uint8)
    paths, closed, missed = _ordered_paths(graph)
    for path, loop in zip(paths, closed, strict=True):
        path = path if loop else _with_junction_ends(path, graph.junction_labels)
        points = np.ascontiguousarray(path[:, ::-1]).reshape(-1, 1, 2)  # (x, y) for cv2
        if epsilon > 0 and len(points) > 2:
            points = cv2.approxPolyDP(points, epsilon, loop)
        cv2.polylines(canvas, [points], loop, 1, thickness=1, lineType=cv2.LINE_8)
        canvas[path[0, 0], path[0, 1]] = 1  # a one-pixel branch (a blob's skeleton) draws no line
    canvas[missed[:, 0], missed[:, 1]] = 1  # odd blobs no walk could follow are kept as they are
    return canvas > 0


def _endpoints(skeleton: np.ndarray) -> np.ndarray:
    return np.argwhere(skeleton & (_neighbour_count(skeleton) <= 1)).astype(np.float32)


def _bounding_box(image: np.ndarray, margin: int) -> tuple[slice, slice]:
    x, y, width, height = cv2.boundingRect(image.astype(np.uint8))
    return slice(max(y - margin, 0), y + height + margin), slice(max(x - margin, 0), x + width + margin)


def _border_padding(subject: np.ndarray, box: tuple[slice, slice], limit: int) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) padding for the sides where the subject is cut off by the frame.

    Thinning treats the frame edge as background, so a leg cut off by the frame would end one radius short of it
    (its blunt end pruned); extending the subject outwards first lets its axis run on to the edge. The widest
    inscribed radius bounds how far a blunt end pulls back; ``limit`` keeps frame-filling masks cheap.
    """
    crop = subject[box]
    framed = np.pad(crop.astype(np.uint8), 1)  # the frame edge counts as background here
    reach = min(int(math.ceil(float(cv2.distanceTransform(framed, cv2.DIST_L2, 3).max()))) + 2, limit)
    touches = (box[0].start == 0 and crop[0].any(), box[0].stop >= subject.shape[0] and crop[-1].any(),
               box[1].start == 0 and crop[:, 0].any(), box[1].stop >= subject.shape[1] and crop[:, -1].any())
    top, bottom, left, right = (reach if touch else 0 for touch in touches)
    return top, bottom, left, right


def _trace(mask: np.ndarray, settings: SkeletonFromMaskSettings) -> TracedSkeleton:
    size = work_size(*mask.shape, settings.work_long_side)
    subject = clean_mask(_resize(mask, size) > 0.5, settings.clean_kernel)
    lines = np.zeros(size, bool)
    scale = size[0] / mask.shape[0]
    if not subject.any():
        return TracedSkeleton(lines, 0, np.zeros((0, 2), np.float32), np.zeros((0, 2), np.float32), scale)
    # The skeleton work only needs the subject's box (a little margin keeps its border background)
    box = _bounding_box(subject, margin=2)
    top, bottom, left, right = _border_padding(subject, box, limit=settings.work_long_side // 8)
    crop = subject[box]
    padded = cv2.copyMakeBorder(crop.astype(np.uint8), top, bottom, left, right, cv2.BORDER_REPLICATE) > 0
    pruned = prune_spurs(_skeletonize(padded), padded, settings)
    graph = _graph(pruned, np.zeros(padded.shape, np.float32))
    inside = (slice(top, top + crop.shape[0]), slice(left, left + crop.shape[1]))
    lines[box] = _draw_branches(graph, settings.smooth_epsilon)[inside]
    origin = np.array([box[0].start, box[1].start], np.float32)
    endpoints = _endpoints(pruned[inside]) + origin
    junctions = graph.junction_centre[1:].astype(np.float32) - np.array([top, left], np.float32)
    on_frame = ((junctions >= 0) & (junctions < np.array(crop.shape, np.float32))).all(axis=1)
    junctions = junctions[on_frame] + origin
    branch_count = max(graph.branch_count, 1)  # a skeleton of junction pixels only still is one stroke
    return TracedSkeleton(lines, branch_count, endpoints, junctions, scale)


def trace_skeleton(mask2d: np.ndarray, settings: SkeletonFromMaskSettings | None = None) -> TracedSkeleton:
    """Clean, skeletonise, prune and smooth one mask [H, W] (0..1) at the working resolution."""
    return _trace(_check_mask2d(mask2d), settings or SkeletonFromMaskSettings())


def render_lines(lines: np.ndarray, size_hw: tuple[int, int]) -> np.ndarray:
    """1-px lines → the released drawing (cross-dilate, Lee-thin, cross-dilate) → bool image of ``size_hw``."""
    drawn = np.zeros(lines.shape, np.float32)
    thin = np.zeros(lines.shape, np.float32)
    if lines.any():
        box = _bounding_box(lines, margin=3)
        thin[box] = _skeletonize(cv2.dilate(lines[box].astype(np.uint8), CROSS_3X3), method="lee")
        drawn[box] = cv2.dilate(thin[box], CROSS_3X3)
    if drawn.shape == tuple(size_hw):
        return drawn > 0.5
    out = _resize(drawn, size_hw) >= 0.5
    if size_hw[0] < drawn.shape[0]:
        # Shrunk lines can fall under 0.5; any pixel the centre line touches stays white so strokes stay connected
        out |= _resize(thin, size_hw) > 0
    return out


def skeletonize_mask(mask2d: np.ndarray, settings: SkeletonFromMaskSettings | None = None) -> np.ndarray:
    """One mask [H, W] (0..1) → the rendered skeleton, bool [H, W] (white lines ≈3 px at a 512-px long side)."""
    traced = trace_skeleton(mask2d, settings)
    if traced.empty:
        return np.zeros(mask2d.shape, dtype=bool)
    return render_lines(traced.lines, mask2d.shape)


def skeleton_frames_from_masks(masks: np.ndarray, settings: SkeletonFromMaskSettings | None = None,
                               progress: Callable[[int], None] | None = None,
                               should_stop: Callable[[], None] | None = None) -> SkeletonVideo:
    """Masks float [F, H, W] in 0..1 (ComfyUI MASK layout) → white-on-black skeleton frames float32 [F, H, W, 3].

    ``should_stop()`` runs before each frame; whatever it raises (ComfyUI's interrupt check) stops the run.
    ``progress(done)`` runs after each frame with the number of frames finished so far.
    """
    settings = settings or SkeletonFromMaskSettings()
    values = _check_masks(masks)
    frames = np.zeros((*values.shape, 3), dtype=np.float32)
    video = SkeletonVideo(frames)
    for index, mask in enumerate(values):
        if should_stop is not None:
            should_stop()
        traced = _trace(mask, settings)
        video.branch_counts.append(traced.branch_count)
        if traced.empty:
            video.empty_frames.append(index)
        else:
            frames[index] = render_lines(traced.lines, mask.shape)[..., None]
        if progress is not None:
            progress(index + 1)
    return video
