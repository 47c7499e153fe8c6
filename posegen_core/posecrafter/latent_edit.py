"""PoseCrafter's face and hand latent editing (§4.3) on Wan video latents.

For every target frame PoseCrafter fits the least-squares affine from the reference frame's face (and hand)
landmarks to that frame's, warps the reference latent (the inverted reference) with it, and pastes the target's
face/hand bounding boxes from the warped latent into that frame's latent, so face and hands start from the
reference's detail already in the right place.

Wan latents are [B, C, T, h, w] with 8x spatial compression (a latent pixel covers 8x8 image pixels) and 4x
causal temporal compression: latent frame 0 encodes pixel frame 0 alone, latent frame k >= 1 pixel frames
4k-3 .. 4k. An edit is therefore planned per *latent* frame, from the landmarks of its pixel frames.

Planning (:func:`plan_face_hand_edit`, numpy only) is separate from applying (:func:`apply_edit`, torch) so a
plan can be inspected, logged and reused across samplers and steps.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch

from ..errors import PoseGenInputError
from ..poses.sequence import PoseSequence
from .affine import AffineFitError, fit_affine, fit_affine_robust, invert_affine, residuals, to_latent

PART_NAMES = ("face", "left_hand", "right_hand")
# Wan 2.1 VAE: 4 pixel frames per latent frame after the first one
TEMPORAL_STRIDE = 4
# source coordinates within this many latent pixels of a pixel centre are snapped onto it, so transforms that map
# pixel centres onto pixel centres (integer shifts, 90-degree turns, flips) copy values exactly instead of
# leaking ~1e-16 interpolation weights into the neighbours; 1e-6 latent pixels is far below anything visible
_SNAP = 1e-6

Padding = Literal["border", "zeros"]


@dataclass(frozen=True, eq=False)  # eq=False: an ndarray field has no single truth value for ==
class PartEdit:
    """Paste ``box`` of latent frame ``frame`` from the source latent warped by ``affine_latent``.

    ``affine_latent`` maps SOURCE latent coordinates to TARGET latent coordinates (continuous latent-pixel
    coordinates, latent pixel (i, j) covering [j, j+1) x [i, i+1)). ``box`` is (x0, y0, x1, y1) in latent pixels
    of the target frame, end-exclusive and clipped to the latent. ``num_points`` and ``rms_residual`` (image
    pixels) describe the landmark fit, for logs.
    """

    part: str
    frame: int
    affine_latent: np.ndarray
    box: tuple[int, int, int, int]
    num_points: int = 0
    rms_residual: float = 0.0

    def __post_init__(self) -> None:
        affine = np.array(self.affine_latent, dtype=np.float64)  # a private copy, made read-only below
        if affine.shape != (2, 3) or not np.isfinite(affine).all():
            raise ValueError(f"affine_latent must be a finite [2, 3] matrix, got shape {affine.shape}")
        affine.setflags(write=False)
        object.__setattr__(self, "affine_latent", affine)
        box = tuple(int(v) for v in self.box)
        if len(box) != 4 or box[0] < 0 or box[1] < 0 or box[2] <= box[0] or box[3] <= box[1]:
            raise ValueError(f"box must be (x0, y0, x1, y1) with 0 <= x0 < x1 and 0 <= y0 < y1, got {self.box}")
        object.__setattr__(self, "box", box)
        if self.frame < 0:
            raise ValueError(f"frame must be >= 0, got {self.frame}")


@dataclass
class EditPlan:
    """The edits for one segment's latent, plus what was skipped and how much of each latent frame is touched."""

    edits: list[PartEdit]
    grid: tuple[int, int, int]  # latent (T, h, w)
    skipped: dict[str, int] = field(default_factory=dict)  # part -> latent frames skipped (landmarks missing)
    fraction_touched: list[float] = field(default_factory=list)  # per latent frame: box union area / (h * w)

    def edits_for(self, frame: int) -> list[PartEdit]:
        return [e for e in self.edits if e.frame == frame]

    def summary(self) -> str:
        t, h, w = self.grid
        per_part: dict[str, int] = {}
        for e in self.edits:
            per_part[e.part] = per_part.get(e.part, 0) + 1
        parts = sorted(set(per_part) | set(self.skipped), key=lambda p: (PART_NAMES + (p,)).index(p))
        lines = [f"latent edit plan on a {t}x{h}x{w} latent grid: {len(self.edits)} edit(s)"]
        for p in parts:
            fits = [e.rms_residual for e in self.edits if e.part == p]
            fit = f", landmark fit RMS {np.mean(fits):.2f} px" if fits else ""
            lines.append(f"  {p}: {per_part.get(p, 0)} frame(s) edited, {self.skipped.get(p, 0)} skipped{fit}")
        if self.fraction_touched:
            touched = np.asarray(self.fraction_touched)
            lines.append(f"  area touched per frame: mean {100 * touched.mean():.1f}%, max {100 * touched.max():.1f}%")
        return "\n".join(lines)


def pixel_frames(latent_frame: int) -> range:
    """The pixel frames a Wan latent frame encodes: frame 0 alone, then 4k-3 .. 4k."""
    if latent_frame < 0:
        raise ValueError(f"latent frame must be >= 0, got {latent_frame}")
    if latent_frame == 0:
        return range(0, 1)
    return range(TEMPORAL_STRIDE * latent_frame - 3, TEMPORAL_STRIDE * latent_frame + 1)


def num_pixel_frames(latent_frames: int) -> int:
    return TEMPORAL_STRIDE * (latent_frames - 1) + 1


def _present(sequence: PoseSequence, frames: range | int, person: int, indices: np.ndarray,
             min_confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-point mean position over ``frames`` where the point is present, and whether it is present at all.

    A latent frame encodes its 4 pixel frames jointly, so the best single landmark position for it is the
    average over those frames (the least-squares centre of where the part was); averaging only over frames
    where the point was actually detected keeps a dropped detection (x, y = 0) from pulling the mean to the
    canvas corner. Presence is confidence >= ``min_confidence``.
    """
    picked = np.atleast_1d(np.arange(sequence.num_frames)[frames])
    kp = sequence.keypoints[picked, person][:, indices].astype(np.float64)  # [F, P, 3]
    ok = kp[..., 2] >= min_confidence
    count = ok.sum(axis=0)
    total = (kp[..., :2] * ok[..., None]).sum(axis=0)
    mean = np.divide(total, count[:, None], out=np.zeros_like(total), where=count[:, None] > 0)
    return mean, count > 0


def _latent_box(points: np.ndarray, padding: float, stride: int, h: int, w: int) -> tuple[int, int, int, int] | None:
    """Padded bounding box of image-pixel ``points`` as an end-exclusive latent-pixel box, or None if off-canvas."""
    lo, hi = points.min(axis=0), points.max(axis=0)
    pad = padding * float((hi - lo).max())
    x0, y0 = (math.floor(v) for v in (lo - pad) / stride)
    x1, y1 = (math.ceil(v) for v in (hi + pad) / stride)
    # a zero-extent box (points exactly on one latent-pixel boundary) still names the pixel they sit on
    x1, y1 = max(x1, x0 + 1), max(y1, y0 + 1)
    x0, x1 = min(max(x0, 0), w), min(max(x1, 0), w)
    y0, y1 = min(max(y0, 0), h), min(max(y1, 0), h)
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1, y1


def _checked_grid(grid: tuple[int, int, int], stride: int, min_points: int, box_padding: float) -> tuple[int, int, int]:
    """The latent grid (T, h, w) as ints, with the planning settings checked."""
    t, h, w = (int(v) for v in grid)
    if t < 1 or h < 1 or w < 1:
        raise PoseGenInputError("grid", f"latent grid {grid} (T, h, w).", "positive sizes")
    if stride < 1:
        raise PoseGenInputError("stride", f"{stride}.", "a positive number of image pixels per latent pixel")
    if min_points < 3:
        raise PoseGenInputError("min_points", f"{min_points}.", "at least 3 (an affine has 6 unknowns)")
    if box_padding < 0:
        raise PoseGenInputError("box_padding", f"{box_padding}.", "0 or more")
    return t, h, w


def _check_on_grid(reference: PoseSequence, targets: PoseSequence, grid: tuple[int, int, int], stride: int,
                   person: int) -> None:
    """Both sequences on the video's canvas with ``person`` in them, and one target pose per pixel frame."""
    t, h, w = grid
    for name, seq in (("reference", reference), ("targets", targets)):
        if (seq.width, seq.height) != (w * stride, h * stride):
            raise PoseGenInputError(name, f"the {name} canvas is {seq.width}x{seq.height} (width x height) but the "
                                    f"latent grid {h}x{w} (h x w) at stride {stride} is a {w * stride}x{h * stride} "
                                    "video.", "poses on the video's canvas")
        if not 0 <= person < seq.num_people:
            raise PoseGenInputError("person", f"person {person} not in {name}, which has {seq.num_people} people.")
    if reference.num_frames < 1:
        raise PoseGenInputError("reference", "no frames.", "the reference frame's pose")
    if targets.num_frames != num_pixel_frames(t):
        raise PoseGenInputError("targets", f"{targets.num_frames} frames but a latent grid with T={t} frames "
                                f"encodes {num_pixel_frames(t)} pixel frames (4(T-1)+1).", "one pose per pixel frame")


def _check_parts(reference: PoseSequence, targets: PoseSequence, parts: Sequence[str]) -> None:
    """One skeleton for both sequences, and every requested part in it."""
    if reference.skeleton.keypoints != targets.skeleton.keypoints:
        raise PoseGenInputError("targets", f"skeleton '{targets.skeleton.name}' differs from the reference's "
                                f"'{reference.skeleton.name}'.", "the reference's skeleton")
    skeleton = targets.skeleton
    for part in parts:
        if part not in skeleton.parts:
            raise PoseGenInputError("parts", f"skeleton '{skeleton.name}' has no part '{part}'.",
                                    f"parts among {sorted(skeleton.parts)}")


@dataclass(frozen=True)
class _PlanSettings:
    """plan_face_hand_edit's arguments, checked, for the per-frame step."""

    grid: tuple[int, int, int]
    person: int
    min_confidence: float
    min_points: int
    robust: bool
    box_padding: float
    stride: int


def _plan_part_frame(part: str, indices: np.ndarray, k: int, reference_points: tuple[np.ndarray, np.ndarray],
                     targets: PoseSequence, settings: _PlanSettings) -> PartEdit | None:
    """The edit of ``part`` (keypoints ``indices``) in latent frame ``k``, or None when it is skipped (too few
    landmarks present in both, no unique affine, or the part entirely off-canvas)."""
    ref_xy, ref_ok = reference_points
    tgt_xy, tgt_ok = _present(targets, pixel_frames(k), settings.person, indices, settings.min_confidence)
    both = ref_ok & tgt_ok
    if int(both.sum()) < settings.min_points:
        return None
    src, dst = ref_xy[both], tgt_xy[both]
    try:
        affine = fit_affine_robust(src, dst)[0] if settings.robust else fit_affine(src, dst)
    except AffineFitError:  # e.g. all present points on a line: no unique affine, nothing to paste
        return None
    # the box follows the target's landmarks (all present ones, not only those matched in the reference)
    _, h, w = settings.grid
    box = _latent_box(tgt_xy[tgt_ok], settings.box_padding, settings.stride, h, w)
    if box is None:  # the part is entirely off-canvas
        return None
    rms = float(np.sqrt(np.mean(residuals(affine, src, dst) ** 2)))
    return PartEdit(part=part, frame=k, affine_latent=to_latent(affine, settings.stride), box=box,
                    num_points=int(both.sum()), rms_residual=rms)


def _fraction_touched(edits: Sequence[PartEdit], grid: tuple[int, int, int]) -> list[float]:
    """Per latent frame: the area of the union of its boxes over h * w."""
    t, h, w = grid
    touched = np.zeros((t, h, w), dtype=bool)
    for edit in edits:
        x0, y0, x1, y1 = edit.box
        touched[edit.frame, y0:y1, x0:x1] = True
    return [float(f) for f in touched.reshape(t, -1).mean(axis=1)]


def plan_face_hand_edit(reference: PoseSequence, targets: PoseSequence, grid: tuple[int, int, int],
                        parts: Sequence[str] = PART_NAMES, min_confidence: float = 0.5, min_points: int = 4,
                        robust: bool = False, box_padding: float = 0.15, stride: int = 8,
                        person: int = 0) -> EditPlan:
    """Plan the face/hand edits of one segment.

    ``reference``: the reference pose (its first frame is used); ``targets``: the segment's pixel frames,
    4(T-1)+1 of them for a latent grid ``(T, h, w)``. Both must be on the video's canvas: h*stride x w*stride.

    For latent frame k and each part, the target landmarks are the per-point means over its pixel frames
    (see :func:`_present`); the part is edited when at least ``min_points`` of its points are present in both the
    reference and the target (else it counts in ``skipped``). The affine is fitted in image pixels on the points
    present in both (robustly with ``robust``), then expressed in latent coordinates. The box is the bounding box
    of the target's present part points, padded by ``box_padding`` x its larger side on every side, converted to
    latent pixels outward (floor of the minimum, ceil of the maximum) and clipped to the latent.

    A bad argument raises PoseGenInputError naming the parameter (``reference``, ``targets``, ``grid``, ``parts``,
    ``box_padding``, ...); callers rename it after their own inputs.
    """
    t, h, w = _checked_grid(grid, stride, min_points, box_padding)
    _check_on_grid(reference, targets, (t, h, w), stride, person)
    _check_parts(reference, targets, parts)
    settings = _PlanSettings((t, h, w), person, min_confidence, min_points, robust, box_padding, stride)

    edits: list[PartEdit] = []
    skipped = {part: 0 for part in parts}
    for part in parts:
        indices = np.asarray(targets.skeleton.parts[part])
        reference_points = _present(reference, 0, person, indices, min_confidence)
        for k in range(t):
            edit = _plan_part_frame(part, indices, k, reference_points, targets, settings)
            if edit is None:
                skipped[part] += 1
            else:
                edits.append(edit)
    edits.sort(key=lambda e: e.frame)  # stable: within a frame, parts keep the requested order
    return EditPlan(edits=edits, grid=(t, h, w), skipped=skipped, fraction_touched=_fraction_touched(edits, (t, h, w)))


def _sample_bilinear(image: torch.Tensor, x: torch.Tensor, y: torch.Tensor, padding: Padding) -> torch.Tensor:
    """Bilinear samples of ``image`` [B, C, h, w] at continuous coordinates x, y (float64 [n]) -> [B, C, n].

    Same convention as ``torch.nn.functional.grid_sample(align_corners=False)`` (pixel j's centre at j + 0.5;
    ``padding`` "border" clamps the sample position into the pixel centres' range, "zeros" treats outside pixels
    as 0), but computed from float64 coordinates with centre snapping: grid_sample's normalise/unnormalise
    round trip ((x + 1) * w - 1) / 2 is not exact in floating point, so an integer shift would not be a copy.
    """
    _, _, h, w = image.shape
    ix, iy = x - 0.5, y - 0.5  # pixel-index coordinates: pixel j's centre at j
    ix = torch.where((ix - ix.round()).abs() < _SNAP, ix.round(), ix)
    iy = torch.where((iy - iy.round()).abs() < _SNAP, iy.round(), iy)
    if padding == "border":
        ix, iy = ix.clamp(0, w - 1), iy.clamp(0, h - 1)
    x0, y0 = ix.floor(), iy.floor()
    fx, fy = ix - x0, iy - y0
    flat = image.reshape(image.shape[0], image.shape[1], h * w).contiguous()
    out = None
    for dx, dy, weight in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy),
                           (1, 1, fx * fy)):
        cx, cy = x0 + dx, y0 + dy
        if padding == "zeros":
            weight = weight * ((cx >= 0) & (cx < w) & (cy >= 0) & (cy < h))
        index = (cy.clamp(0, h - 1) * w + cx.clamp(0, w - 1)).long()
        term = flat.index_select(2, index) * weight.to(image.dtype)  # (much faster than flat[:, :, index] on CPU)
        out = term if out is None else out + term
    assert out is not None
    return out


def warp_latent(frame: torch.Tensor, affine_latent: np.ndarray, padding: Padding = "border") -> torch.Tensor:
    """The source latent frame [B, C, h, w] warped by ``affine_latent`` (source -> target latent coordinates).

    Backward mapping: target latent pixel (i, j) takes the bilinear sample of the source at A^-1 (j + 0.5, i + 0.5).
    Identity returns the input exactly, an integer shift is an exact shifted copy, and any transform that maps
    pixel centres to pixel centres copies values (see ``_SNAP``).

    ``padding`` decides what positions outside the source give. Default "border" (the nearest edge value): the
    pasted region of an inverted latent should keep latent-like values and statistics, and a block of zeros is a
    flat, noise-free patch the denoiser reads as a grey hole; replicated edge values at least keep the local
    magnitude. This only matters where a target box reaches content from beyond the reference's frame.
    Interpolation in float32 (float64 for float64 input); the result has the input's dtype.
    """
    if frame.ndim != 4:
        raise ValueError(f"frame must be [B, C, h, w], got shape {tuple(frame.shape)}")
    return _warp_box(frame, affine_latent, (0, 0, frame.shape[3], frame.shape[2]), padding)


def _warp_box(frame: torch.Tensor, affine_latent: np.ndarray, box: tuple[int, int, int, int],
              padding: Padding) -> torch.Tensor:
    """:func:`warp_latent` evaluated only on the target pixels of ``box`` -> [B, C, y1-y0, x1-x0]."""
    if padding not in ("border", "zeros"):
        raise ValueError(f"padding must be 'border' or 'zeros', got {padding!r}")
    x0, y0, x1, y1 = box
    inverse = torch.as_tensor(invert_affine(affine_latent), dtype=torch.float64, device=frame.device)
    ii, jj = torch.meshgrid(torch.arange(y0, y1, dtype=torch.float64, device=frame.device),
                            torch.arange(x0, x1, dtype=torch.float64, device=frame.device), indexing="ij")
    qx, qy = (jj + 0.5).reshape(-1), (ii + 0.5).reshape(-1)
    px = inverse[0, 0] * qx + inverse[0, 1] * qy + inverse[0, 2]
    py = inverse[1, 0] * qx + inverse[1, 1] * qy + inverse[1, 2]
    work = frame if frame.dtype == torch.float64 else frame.to(torch.float32)
    out = _sample_bilinear(work, px, py, padding)
    return out.reshape(*frame.shape[:2], y1 - y0, x1 - x0).to(frame.dtype)


def _feather_weight(box: tuple[int, int, int, int], h: int, w: int, feather: float,
                    device: torch.device) -> torch.Tensor:
    """Blend weight [y1-y0, x1-x0] for a box: distance of the pixel centre from the nearest box edge / feather.

    Edge pixels get 0.5 / feather (~0), pixels ``feather`` or more inside get exactly 1. Box sides lying on the
    latent's own border are not seams (nothing is outside them), so they do not ramp.
    """
    x0, y0, x1, y1 = box
    inf = torch.tensor(math.inf, dtype=torch.float64, device=device)
    xs = torch.arange(x0, x1, dtype=torch.float64, device=device) + 0.5
    ys = torch.arange(y0, y1, dtype=torch.float64, device=device) + 0.5
    dx = torch.minimum(xs - x0 if x0 > 0 else inf.expand_as(xs), x1 - xs if x1 < w else inf.expand_as(xs))
    dy = torch.minimum(ys - y0 if y0 > 0 else inf.expand_as(ys), y1 - ys if y1 < h else inf.expand_as(ys))
    distance = torch.minimum(dy[:, None], dx[None, :])
    return (distance / feather).clamp(max=1.0)


def apply_edit(latent: torch.Tensor, plan: EditPlan, source_frame: int = 0, feather: float = 0.0,
               padding: Padding = "border") -> torch.Tensor:
    """A new latent with every edit's box replaced by the warped source frame (the input is never modified).

    The source is always the *input's* frame ``source_frame`` (the inverted reference), even if that frame is
    itself edited. Edits are applied in plan order, so where boxes of one frame overlap the later one wins.
    ``feather`` > 0 blends over that many latent pixels inside each box edge (see :func:`_feather_weight`);
    pixels outside all boxes, and frames without edits, are bit-identical to the input.
    """
    if latent.ndim != 5:
        raise ValueError(f"latent must be [B, C, T, h, w], got shape {tuple(latent.shape)}")
    t, h, w = latent.shape[2:]
    if (t, h, w) != tuple(plan.grid):
        raise ValueError(f"latent grid {(t, h, w)} (T, h, w) does not match the plan's {tuple(plan.grid)}")
    if not 0 <= source_frame < t:
        raise ValueError(f"source_frame {source_frame} outside 0..{t - 1}")
    if not (math.isfinite(feather) and feather >= 0):
        raise PoseGenInputError("feather", f"{feather}.", "0 or more latent pixels")
    out = latent.clone()
    source = latent[:, :, source_frame]
    for edit in plan.edits:
        x0, y0, x1, y1 = edit.box
        if not 0 <= edit.frame < t or x1 > w or y1 > h:
            raise ValueError(f"edit {edit.part}@{edit.frame} box {edit.box} is outside the latent grid {(t, h, w)}")
        warped = _warp_box(source, edit.affine_latent, edit.box, padding)
        if feather > 0:
            weight = _feather_weight(edit.box, h, w, feather, latent.device)
            current = out[:, :, edit.frame, y0:y1, x0:x1]
            blended = (current.to(torch.float64) * (1 - weight) + warped.to(torch.float64) * weight).to(latent.dtype)
            # weight 1 is an exact copy (no float rounding of old * 0 + new * 1)
            warped = torch.where(weight >= 1, warped, blended)
        out[:, :, edit.frame, y0:y1, x0:x1] = warped
    return out
