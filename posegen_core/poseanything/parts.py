"""PoseAnything's skeleton part segmentation for PTCM: dilation count α, part canvases and token masks.

Method (docs/method/poseanything.md): §2.3 (resolution rule), §3.2 (subject mask, α), §3.3 (segmentation),
§3.4 (token masks), Appendix A (golden numbers). Checked against the released code's outputs in the golden folder
``poseanything_tiny_v1`` (tests/unit/poseanything/test_parts.py).

Per posed skeleton frame:

1. :func:`binarize_skeleton`: gray, bilinear resize to the fixed 832 basis (:func:`fixed_basis_size`), ``> 127``.
2. :func:`thin_skeleton`: scikit-image's ``skeletonize`` (Zhang), a 1-pixel skeleton.
3. :func:`remove_key_points`: drop interior endpoints (1 neighbour) and junctions (> 2 neighbours).
4. :func:`split_segments`: 8-connected pieces, raster-order seeds, breadth-first growth; single pixels dropped.
5. :func:`merge_segments`: fold the smallest piece into its nearest one until ≤ 5 parts of ≥ 20 pixels.
6. :func:`segment_parts`: draw each part, dilate it α times with the 3×3 cross, AND frame 0 with the subject.
7. :func:`token_masks`: ``INTER_NEAREST`` down to the token grid, ``> 127``.

α comes from frame 0 only (:func:`dilation_count`); the subject mask from a ``_id.png``-style image
(:func:`subject_mask_from_image`) or a ComfyUI MASK (:func:`subject_mask_from_mask`).
:func:`segment_video_parts` strings it together for a whole skeleton video.

**Released quirk we correct (§2.3, §8.2).** The released helpers always segment on the 832 basis and return
that basis' token grid, which only matches the latent grid when the generation long side is 832.
:func:`segment_video_parts` keeps segmenting on the 832 basis (α is a pixel count on that basis), but with
``grid=(W/32, H/32)`` of the generation size it samples the part canvases straight onto the latent token grid with
the same ``INTER_NEAREST`` rule. ``grid=None`` is the released behaviour.

**Pixel order inside a part.** Segments keep the order the breadth-first search reaches their pixels (neighbours
visited in raster order of their offsets), and a merge appends the small segment after the target's pixels. No
later step depends on that order: the merge uses set distances and segment (not pixel) order for ties, and the
canvases are order-free. The golden data stores parts in row-major order; compare with
:attr:`PartSegmentation.parts_xy_row_major`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import PoseGenInputError
from .video import generation_size

BASIS_LONG_SIDE = 832  # the released mask helpers' fixed long side
TOKEN_STRIDE = 32  # pixels per token side: VAE stride 16 × patch 2
SKELETON_THRESHOLD = 127  # skeleton pixel: gray > 127
SUBJECT_GRAY_MAX = 245  # subject pixel: gray <= 245 (white background, even near-white subject pixels, is out)
MASK_THRESHOLD = 0.5  # ComfyUI MASK: subject where mask > 0.5
MAX_DILATIONS = 100  # α when the skeleton never covers the subject
MAX_PARTS = 5
MIN_PART_PIXELS = 20
# MORPH_ELLIPSE 3×3 is the cross [[0,1,0],[1,1,1],[0,1,0]]; one dilation grows by 1 in L1 distance.
_CROSS = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
# 8-neighbour offsets (dy, dx) in raster order; also the breadth-first visiting order.
_NEIGHBOURS = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))
_DISTANCE_BLOCK = 1 << 22  # max pairwise distances computed at once in the merge step


# ----------------------------------------------------------------------------------------------------------------
# Sizes and image conversion
# ----------------------------------------------------------------------------------------------------------------

def fixed_basis_size(width: int, height: int, long_side: int = BASIS_LONG_SIDE) -> tuple[int, int]:
    """(w, h) of the released mask basis: the generation-size rule (§2.3) at ``long_side`` (832 as released)."""
    return generation_size(width, height, long_side, TOKEN_STRIDE, input_name="skeleton_frames")


def token_grid(width: int, height: int) -> tuple[int, int]:
    """(grid_w, grid_h) of a canvas or generation size: one token per 32×32 pixel block."""
    return width // TOKEN_STRIDE, height // TOKEN_STRIDE


def as_uint8(image: np.ndarray) -> np.ndarray:
    """uint8 pixels: uint8 as is, bool as 0/255, floats as ComfyUI's [0, 1] scale (rounded)."""
    image = np.asarray(image)
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.bool_:
        return np.where(image, 255, 0).astype(np.uint8)
    if np.issubdtype(image.dtype, np.floating):
        return np.clip(np.round(image * 255.0), 0, 255).astype(np.uint8)
    raise TypeError(f"expected a uint8, bool or float image, got dtype {image.dtype}")


def colour_channels(image: np.ndarray) -> np.ndarray:
    """(H, W) gray or (H, W, 3) RGB uint8; an alpha channel is dropped, as cv2.imread's colour mode does."""
    image = as_uint8(image)
    if image.ndim == 3 and image.shape[2] == 1:
        return image[:, :, 0]
    if image.ndim == 3 and image.shape[2] == 4:
        return image[:, :, :3]
    if image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3):
        return image
    raise ValueError(f"expected an (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) image, got shape {image.shape}")


def to_gray(image: np.ndarray) -> np.ndarray:
    """uint8 gray. RGB uses RGB2GRAY: the same weights the released code applies to cv2's BGR pixels."""
    image = colour_channels(image)
    return image if image.ndim == 2 else cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)


def resize_to_basis(image: np.ndarray, long_side: int = BASIS_LONG_SIDE) -> np.ndarray:
    """cv2 bilinear resize to :func:`fixed_basis_size` (no crop: the aspect ratio may shift slightly)."""
    height, width = image.shape[:2]
    return cv2.resize(image, fixed_basis_size(width, height, long_side), interpolation=cv2.INTER_LINEAR)


def _fit(image: np.ndarray, canvas_hw: tuple[int, int]) -> np.ndarray:
    """Bilinear resize to the canvas only when the size differs, as the released code does."""
    if image.shape[:2] == tuple(canvas_hw):
        return image
    return cv2.resize(image, (canvas_hw[1], canvas_hw[0]), interpolation=cv2.INTER_LINEAR)


def binarize_skeleton(image: np.ndarray, long_side: int = BASIS_LONG_SIDE) -> np.ndarray:
    """Skeleton pixels (bool, basis size): gray, then bilinear resize, then ``> 127``.

    The released code reads the PNG as gray (cv2.IMREAD_GRAYSCALE), so the gray conversion comes before the resize.
    For white-on-black skeletons every gray conversion agrees; for coloured lines cv2's PNG decoder may round a gray
    level differently from cvtColor, which only matters right at the threshold.
    """
    return resize_to_basis(to_gray(image), long_side) > SKELETON_THRESHOLD


# ----------------------------------------------------------------------------------------------------------------
# Subject mask and α
# ----------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SubjectMask:
    """Frame 0's subject at the skeleton canvas size, in the two forms the released code uses (§3.2).

    ``coverage`` is what α must cover; ``and_operand`` is the second operand of the AND with frame 0's parts. They
    differ only when the subject image had to be resized to the canvas: α resizes the colour image and thresholds
    after, the part code thresholds first and keeps the bilinear in-between values (0..255) of the resized mask.
    """

    coverage: np.ndarray  # bool (H, W)
    and_operand: np.ndarray  # uint8 (H, W): 0/255, or 0..255 after a resize

    @property
    def canvas_hw(self) -> tuple[int, int]:
        return self.coverage.shape[:2]

    @property
    def is_empty(self) -> bool:
        return not bool(self.coverage.any())


def _subject_pixels(colour: np.ndarray) -> np.ndarray:
    return to_gray(colour) <= SUBJECT_GRAY_MAX


def subject_mask_from_image(image: np.ndarray, canvas_hw: tuple[int, int],
                            long_side: int = BASIS_LONG_SIDE) -> SubjectMask:
    """Subject of a ``_id.png``-style image (RGB, background painted white): gray <= 245 is subject.

    Both forms start from the colour image resized to its own fixed basis. α then resizes the colour image to the
    canvas and thresholds; the part AND thresholds first and resizes the 0/255 mask (§3.2).
    """
    basis = resize_to_basis(colour_channels(image), long_side)
    coverage = _subject_pixels(_fit(basis, canvas_hw))
    operand = _fit(np.where(_subject_pixels(basis), 255, 0).astype(np.uint8), canvas_hw)
    return SubjectMask(coverage=coverage, and_operand=operand)


def subject_mask_from_mask(mask: np.ndarray, canvas_hw: tuple[int, int]) -> SubjectMask:
    """Subject of a ComfyUI MASK (float in [0, 1], 1 = subject, shape (H, W) or (1, H, W)).

    Our choice (the released code has no MASK input): resize the float mask bilinearly to the canvas, like every
    other resize here, then ``> 0.5``. Both forms are that one binary mask, so α and the AND agree exactly.
    """
    values = np.asarray(mask, dtype=np.float32)
    while values.ndim > 2 and values.shape[0] == 1:
        values = values[0]
    if values.ndim != 2:
        raise ValueError(f"expected an (H, W) mask, got shape {np.shape(mask)}")
    binary = _fit(values, canvas_hw) > MASK_THRESHOLD
    return SubjectMask(coverage=binary, and_operand=np.where(binary, 255, 0).astype(np.uint8))


def as_subject_mask(subject: SubjectMask | np.ndarray | None, canvas_hw: tuple[int, int],
                    long_side: int = BASIS_LONG_SIDE) -> SubjectMask | None:
    """Any accepted subject input as a :class:`SubjectMask` for this canvas.

    uint8 arrays are ``_id.png``-style images (white = background); float or bool arrays are MASKs (1 = subject).
    """
    if subject is None:
        return None
    if isinstance(subject, SubjectMask):
        if subject.canvas_hw != tuple(canvas_hw):
            raise ValueError(f"subject mask is {subject.canvas_hw}, the skeleton canvas {tuple(canvas_hw)}")
        return subject
    subject = np.asarray(subject)
    if subject.dtype == np.uint8:
        return subject_mask_from_image(subject, canvas_hw, long_side)
    return subject_mask_from_mask(subject.astype(np.float32), canvas_hw)


def dilation_count(skeleton_binary: np.ndarray, subject_mask: SubjectMask | np.ndarray | None) -> int:
    """α: 1 + the fewest 3×3-cross dilations (0..99) of frame 0's binary skeleton that cover every subject pixel.

    100 if none does; 1 without a subject or with an empty one (§3.2). ``subject_mask`` is a
    :class:`SubjectMask` or a bool coverage array of the skeleton's size.
    """
    if subject_mask is None:
        return 1
    coverage = subject_mask.coverage if isinstance(subject_mask, SubjectMask) else np.asarray(subject_mask, bool)
    skeleton = np.asarray(skeleton_binary, bool)
    if coverage.shape != skeleton.shape:
        raise ValueError(f"subject mask {coverage.shape} and skeleton {skeleton.shape} differ in size")
    if not coverage.any():
        return 1
    current = np.where(skeleton, 255, 0).astype(np.uint8)
    for k in range(MAX_DILATIONS):
        if current[coverage].all():
            return k + 1
        current = cv2.dilate(current, _CROSS)
    return MAX_DILATIONS


# ----------------------------------------------------------------------------------------------------------------
# Segmentation
# ----------------------------------------------------------------------------------------------------------------

def thin_skeleton(skeleton_binary: np.ndarray) -> np.ndarray:
    """1-pixel skeleton (bool): scikit-image's ``skeletonize``, whose 2-D default is Zhang's method."""
    try:
        from skimage.morphology import skeletonize
    except ImportError as exc:  # not a dependency of the rest of the pack
        raise ImportError("PoseAnything part segmentation needs scikit-image: pip install scikit-image") from exc
    return np.asarray(skeletonize(np.asarray(skeleton_binary, bool)), bool)


def neighbour_counts(skeleton: np.ndarray) -> np.ndarray:
    """Number of 8-neighbours that are skeleton pixels, for interior pixels only (the border rows/cols stay 0)."""
    pixels = np.asarray(skeleton, bool).astype(np.uint8)
    height, width = pixels.shape
    counts = np.zeros((height, width), np.uint8)
    if height < 3 or width < 3:
        return counts
    inner = counts[1:-1, 1:-1]
    for dy, dx in _NEIGHBOURS:
        inner += pixels[1 + dy:height - 1 + dy, 1 + dx:width - 1 + dx]
    return counts


def remove_key_points(thinned: np.ndarray) -> np.ndarray:
    """Thinned skeleton without its interior endpoints (1 neighbour) and junctions (> 2 neighbours).

    Both kinds are found on the thinned image before anything is deleted. Border pixels and isolated pixels stay.
    """
    skeleton = np.asarray(thinned, bool)
    counts = neighbour_counts(skeleton)
    interior = np.zeros_like(skeleton)
    interior[1:-1, 1:-1] = True
    key_points = skeleton & interior & ((counts == 1) | (counts > 2))
    return skeleton & ~key_points


def split_segments(pixels: np.ndarray) -> list[np.ndarray]:
    """8-connected pieces as (n, 2) int32 (x, y) arrays in discovery order; single-pixel pieces are dropped.

    Seeds are taken in raster order and each piece is grown breadth-first, so pixels come in the order the search
    reaches them.
    """
    coords = np.argwhere(np.asarray(pixels, bool))  # (y, x), raster order
    remaining = {(x, y) for y, x in coords.tolist()}
    segments: list[np.ndarray] = []
    for y0, x0 in coords.tolist():
        if (x0, y0) not in remaining:
            continue
        segment = _grow(remaining, x0, y0)
        if len(segment) > 1:
            segments.append(np.asarray(segment, dtype=np.int32))
    return segments


def _grow(remaining: set[tuple[int, int]], x0: int, y0: int) -> list[tuple[int, int]]:
    """Breadth-first flood from (x0, y0), removing the reached pixels from ``remaining``."""
    remaining.discard((x0, y0))
    reached = [(x0, y0)]
    queue = deque(reached)
    while queue:
        x, y = queue.popleft()
        for dy, dx in _NEIGHBOURS:
            point = (x + dx, y + dy)
            if point in remaining:
                remaining.discard(point)
                reached.append(point)
                queue.append(point)
    return reached


def _nearest_sq_distances(points: np.ndarray, source: np.ndarray) -> np.ndarray:
    """For each of ``points``, the squared distance to the nearest pixel of ``source`` (exact integers)."""
    points = points.astype(np.int64)
    source = source.astype(np.int64)
    step = max(1, _DISTANCE_BLOCK // max(1, len(source)))
    nearest = np.empty(len(points), np.int64)
    for start in range(0, len(points), step):
        block = points[start:start + step]
        diff = block[:, None, :] - source[None, :, :]
        nearest[start:start + step] = (diff * diff).sum(axis=2).min(axis=1)
    return nearest


def nearest_segment(segments: Sequence[np.ndarray], index: int) -> int:
    """Index of the segment with the smallest point-to-point distance to ``segments[index]``; earliest on ties.

    Squared integer distances order the candidates exactly as the released float Euclidean distances do (sqrt is
    monotonic and keeps distinct integers of this size distinct), so ties are found exactly.
    """
    others = [i for i in range(len(segments)) if i != index]
    if not others:
        raise ValueError("a single segment has no other segment to merge into")
    points = np.concatenate([segments[i] for i in others])
    starts = np.cumsum([0] + [len(segments[i]) for i in others[:-1]])
    per_segment = np.minimum.reduceat(_nearest_sq_distances(points, segments[index]), starts)
    return others[int(np.argmin(per_segment))]


def merge_segments(segments: Sequence[np.ndarray], max_parts: int = MAX_PARTS,
                   min_part_pixels: int = MIN_PART_PIXELS) -> list[np.ndarray]:
    """Fold the smallest segment (earliest on ties) into its nearest one while there are more than ``max_parts``
    or one has fewer than ``min_part_pixels`` pixels; stop when one segment is left (§3.3 step 5).

    The union need not be connected; the small segment's pixels are appended after the target's.
    """
    parts = list(segments)
    while len(parts) > 1 and (len(parts) > max_parts or min(len(p) for p in parts) < min_part_pixels):
        small = int(np.argmin([len(p) for p in parts]))
        target = nearest_segment(parts, small)
        parts[target] = np.concatenate([parts[target], parts[small]])
        del parts[small]
    return parts


def _and_operand(subject_mask: SubjectMask | np.ndarray | None, canvas_hw: tuple[int, int]) -> np.ndarray | None:
    """uint8 AND operand at the canvas size; a bool array counts as 0/255."""
    if subject_mask is None:
        return None
    operand = subject_mask.and_operand if isinstance(subject_mask, SubjectMask) else as_uint8(subject_mask)
    if operand.ndim != 2:
        raise ValueError(f"expected an (H, W) subject mask, got shape {operand.shape}")
    return _fit(operand, canvas_hw)


def part_canvas(xy: np.ndarray, canvas_hw: tuple[int, int], alpha: int,
                operand: np.ndarray | None = None) -> np.ndarray:
    """One part drawn at 255, dilated ``alpha`` times with the 3×3 cross, then ANDed with ``operand`` if given."""
    canvas = np.zeros(canvas_hw, np.uint8)
    canvas[xy[:, 1], xy[:, 0]] = 255
    if alpha > 0:
        canvas = cv2.dilate(canvas, _CROSS, iterations=int(alpha))
    if operand is not None:
        canvas = cv2.bitwise_and(canvas, operand)
    return canvas


@dataclass
class PartSegmentation:
    """One frame's parts (§3.3): list order is the part index j."""

    thinned: np.ndarray  # bool (H, W): the skeletonize output
    parts_xy: list[np.ndarray]  # (n_j, 2) int32 (x, y), undilated, in discovery/merge order
    canvases: list[np.ndarray]  # uint8 (H, W): dilated parts (ANDed with the subject for frame 0)
    alpha: int

    @property
    def canvas_hw(self) -> tuple[int, int]:
        return self.thinned.shape[:2]

    @property
    def grid(self) -> tuple[int, int]:
        """The released token grid (W/32, H/32) of this canvas."""
        return token_grid(self.canvas_hw[1], self.canvas_hw[0])

    @property
    def n_parts(self) -> int:
        return len(self.parts_xy)

    @property
    def thinned_xy(self) -> np.ndarray:
        """(n, 2) int32 (x, y) of the thinned skeleton, row-major."""
        return np.argwhere(self.thinned)[:, ::-1].astype(np.int32)

    @property
    def parts_xy_row_major(self) -> list[np.ndarray]:
        """Each part's pixels sorted row-major (y, then x), the order the golden data stores."""
        return [xy[np.lexsort((xy[:, 0], xy[:, 1]))] for xy in self.parts_xy]

    def token_masks(self, grid: tuple[int, int] | None = None) -> np.ndarray:
        """Bool (P, grid_h, grid_w) on ``grid`` = (grid_w, grid_h); the released grid when None."""
        grid_w, grid_h = grid or self.grid
        return token_masks(self.canvases, grid_w, grid_h)


def segment_parts(skeleton_binary: np.ndarray, alpha: int, subject_mask: SubjectMask | np.ndarray | None = None,
                  max_parts: int = MAX_PARTS, min_part_pixels: int = MIN_PART_PIXELS) -> PartSegmentation:
    """Split a binary skeleton (basis size) into at most ``max_parts`` dilated parts (§3.3).

    ``subject_mask`` (frame 0 only in the released pipeline) is ANDed into every part canvas: its ``and_operand``
    for a :class:`SubjectMask`, else the array itself (bool as 0/255, resized bilinearly if its size differs).
    """
    binary = np.asarray(skeleton_binary, bool)
    if binary.ndim != 2:
        raise ValueError(f"expected an (H, W) binary skeleton, got shape {binary.shape}")
    thinned = thin_skeleton(binary)
    parts = merge_segments(split_segments(remove_key_points(thinned)), max_parts, min_part_pixels)
    operand = _and_operand(subject_mask, binary.shape)
    canvases = [part_canvas(xy, binary.shape, alpha, operand) for xy in parts]
    return PartSegmentation(thinned=thinned, parts_xy=parts, canvases=canvases, alpha=int(alpha))


def token_masks(part_canvases: Sequence[np.ndarray], grid_w: int, grid_h: int) -> np.ndarray:
    """Bool (P, grid_h, grid_w): each canvas resized with cv2 ``INTER_NEAREST``, then ``> 127`` (§3.4).

    On the released 32× grid this samples each 32×32 block's top-left pixel. Token index = row·grid_w + col.
    """
    if grid_w <= 0 or grid_h <= 0:
        raise ValueError(f"token grid must be positive, got {grid_w}x{grid_h}")
    masks = np.zeros((len(part_canvases), grid_h, grid_w), dtype=bool)
    for j, canvas in enumerate(part_canvases):
        small = cv2.resize(as_uint8(canvas), (grid_w, grid_h), interpolation=cv2.INTER_NEAREST)
        masks[j] = small > SKELETON_THRESHOLD
    return masks


# ----------------------------------------------------------------------------------------------------------------
# Whole video
# ----------------------------------------------------------------------------------------------------------------

@dataclass
class VideoPartMasks:
    """Token masks of every posed frame, as the PTCM pre-pass consumes them (``binary_masks``, §3.4)."""

    alpha: int
    grid: tuple[int, int]  # (grid_w, grid_h) the masks are on
    frame_indices: list[int]  # positions of the posed frames in the input list (the condition_index)
    masks: list[np.ndarray]  # per posed frame: bool (P_i, grid_h, grid_w)

    @property
    def first_masks(self) -> np.ndarray:
        """Frame 0's parts: PTCM's key/value masks."""
        return self.masks[0]

    @property
    def part_counts(self) -> list[int]:
        return [len(m) for m in self.masks]


def _binarize_frame(frame: np.ndarray, index: int, long_side: int, input_name: str) -> np.ndarray:
    """:func:`binarize_skeleton`, with unusable frames reported against the node input."""
    try:
        return binarize_skeleton(frame, long_side)
    except (TypeError, ValueError) as exc:
        raise PoseGenInputError(input_name, f"skeleton frame {index} cannot be used: {exc}.",
                                "RGB or gray images, white lines on black") from exc


def segment_video_parts(skeleton_frames: Sequence[np.ndarray | None],
                        subject_mask: SubjectMask | np.ndarray | None = None,
                        long_side: int = BASIS_LONG_SIDE, grid: tuple[int, int] | None = None, *,
                        input_name: str = "skeleton_video", max_parts: int = MAX_PARTS,
                        min_part_pixels: int = MIN_PART_PIXELS) -> VideoPartMasks:
    """Part token masks of every posed frame (``None`` = un-posed), α from frame 0.

    Frame 0 must be posed and give at least one part (PTCM takes its keys from frame 0; P = 0 crashes it), else a
    :class:`PoseGenInputError` naming ``input_name``. Only frame 0 is ANDed with ``subject_mask``, as released;
    without a subject α is 1. ``grid`` = (W/32, H/32) of the generation size puts the masks on the latent token
    grid (our correction of the fixed-832 quirk); ``None`` keeps the released grid of frame 0's basis canvas.
    Canvases are not kept: 81 frames × 5 parts at 832² would be ~280 MB.
    """
    if not skeleton_frames or skeleton_frames[0] is None:
        raise PoseGenInputError(input_name, "frame 0 has no skeleton, but PTCM takes its parts from frame 0.",
                                "a posed first frame (white skeleton lines on black)")
    first = _binarize_frame(skeleton_frames[0], 0, long_side, input_name)
    subject = as_subject_mask(subject_mask, first.shape, long_side)
    alpha = dilation_count(first, subject)
    target = tuple(grid) if grid is not None else token_grid(first.shape[1], first.shape[0])
    indices: list[int] = []
    masks: list[np.ndarray] = []
    for index, frame in enumerate(skeleton_frames):
        if frame is None:
            continue
        binary = first if index == 0 else _binarize_frame(frame, index, long_side, input_name)
        parts = segment_parts(binary, alpha, subject if index == 0 else None, max_parts, min_part_pixels)
        if index == 0 and parts.n_parts == 0:
            raise PoseGenInputError(input_name, "the frame-0 skeleton gives no part (no line piece of 2+ pixels "
                                    "after thinning), and PTCM needs at least one.",
                                    "white (> 127) skeleton lines on black in frame 0, or PTCM turned off")
        indices.append(index)
        masks.append(parts.token_masks(target))
    return VideoPartMasks(alpha=alpha, grid=(int(target[0]), int(target[1])), frame_indices=indices, masks=masks)
