"""2-D affine transforms fitted to landmark correspondences (PoseCrafter §4.3, Eq. 18-19).

An affine is a float64 array ``A`` of shape [2, 3]: a point ``p = (x, y)`` maps to ``A[:, :2] @ p + A[:, 2]``.
Coordinates are continuous canvas coordinates (x right, y down) in which image pixel (row i, column j) covers
[j, j+1) x [i, i+1); keypoints in a :class:`~posegen_core.poses.sequence.PoseSequence` are in these coordinates.

PoseCrafter maps the reference frame's face (and hand) landmarks onto each target frame's with the 6-DoF affine
that minimises the squared landmark distances; :func:`fit_affine` is that least-squares fit and
:func:`fit_affine_robust` the same fit made insensitive to a few badly detected landmarks (pose detectors do
produce the odd landmark far off on blurred or occluded faces and hands).
"""

from __future__ import annotations

import numpy as np


class AffineFitError(ValueError):
    """The correspondences do not determine an affine (fewer than 3 usable points, or all on one line)."""


# Relative size of the smallest singular value of the (normalised) design matrix below which the points count as
# collinear. The design is normalised first, so this is a statement about the point geometry, not about units.
_RANK_TOLERANCE = 1e-9

# IRLS tuning constants, in units of the robust residual scale sigma: the classical 95%-efficiency values for
# Gaussian noise (Huber k = 1.345, Tukey biweight c = 4.685).
_HUBER_K = 1.345
_TUKEY_C = 4.685
# The residual of a 2-D point is the length of a 2-D error vector: with isotropic Gaussian noise of per-axis
# standard deviation sigma it is Rayleigh distributed with median sigma * sqrt(2 ln 2). Dividing the median
# residual length by this factor turns it into a per-axis sigma (the 2-D analogue of the MAD's 1.4826).
_RAYLEIGH_MEDIAN = float(np.sqrt(2.0 * np.log(2.0)))


def _as_points(points: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(points, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"{name} must be an array of points [N, 2], got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def _as_affine(affine: np.ndarray, name: str = "affine") -> np.ndarray:
    arr = np.asarray(affine, dtype=np.float64)
    if arr.shape != (2, 3):
        raise ValueError(f"{name} must be a [2, 3] affine matrix, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def _homogeneous(affine: np.ndarray) -> np.ndarray:
    return np.vstack([affine, [0.0, 0.0, 1.0]])


def apply_affine(affine: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Map points [..., 2] through ``affine``; returns float64 points of the same shape."""
    a = _as_affine(affine)
    pts = np.asarray(points, dtype=np.float64)
    if pts.shape[-1:] != (2,):
        raise ValueError(f"points must have a trailing dimension of 2, got shape {pts.shape}")
    return pts @ a[:, :2].T + a[:, 2]


def identity_affine() -> np.ndarray:
    return np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


def invert_affine(affine: np.ndarray) -> np.ndarray:
    """The inverse transform: ``apply_affine(invert_affine(A), apply_affine(A, p)) == p``."""
    a = _as_affine(affine)
    linear = a[:, :2]
    det = float(np.linalg.det(linear))
    # scale-aware singularity test: compare the determinant with the squared size of the linear part
    if not abs(det) > 1e-12 * max(float(np.abs(linear).max()), 1e-300) ** 2:
        raise ValueError(f"affine is not invertible (determinant {det:.3g})")
    inv_linear = np.linalg.inv(linear)
    return np.hstack([inv_linear, -(inv_linear @ a[:, 2])[:, None]])


def compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """``outer`` after ``inner`` (matrix-product order): ``apply(compose(A, B), p) == apply(A, apply(B, p))``."""
    return (_homogeneous(_as_affine(outer, "outer")) @ _homogeneous(_as_affine(inner, "inner")))[:2]


def to_latent(affine: np.ndarray, stride: int = 8) -> np.ndarray:
    """The same transform expressed in latent-pixel coordinates.

    A latent pixel covers ``stride`` x ``stride`` image pixels, so latent pixel (i, j) covers image
    [stride*j, stride*(j+1)) x [stride*i, stride*(i+1)) and the continuous coordinates relate by u = x / stride
    (both origins at the top-left corner of the canvas; no half-pixel shift, because the two grids share their
    corner, not their first pixel centre). With y = L x + t in image coordinates and x = stride * u:
    y / stride = L (stride * u) / stride + t / stride = L u + t / stride, i.e. the linear part is unchanged and
    the translation is divided by the stride.
    """
    if stride <= 0:
        raise ValueError(f"stride must be positive, got {stride}")
    out = _as_affine(affine).copy()
    out[:, 2] /= float(stride)
    return out


def fit_affine(src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """The 6-DoF affine ``A`` minimising sum_i w_i |dst_i - A [src_i; 1]|^2 (PoseCrafter Eq. 19).

    Solved with ``np.linalg.lstsq`` on the design matrix (an SVD, never the explicitly formed normal equations,
    whose condition number is the square of the design's). The source points are first centred and scaled to
    unit RMS radius (Hartley normalisation) so the design's columns are of comparable size whatever the
    coordinate units, and the transform is then expressed back in the original coordinates.

    Points with weight 0 are ignored. Raises :class:`AffineFitError` for fewer than 3 usable points or when the
    usable source points are collinear (the design is rank-deficient: the affine is then not unique).
    """
    s, d = _as_points(src, "src"), _as_points(dst, "dst")
    if s.shape != d.shape:
        raise ValueError(f"src and dst must have the same shape, got {s.shape} and {d.shape}")
    if weights is None:
        w = np.ones(len(s))
    else:
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (len(s),):
            raise ValueError(f"weights must have shape ({len(s)},), got {w.shape}")
        if not np.isfinite(w).all() or (w < 0).any():
            raise ValueError("weights must be finite and non-negative")
    used = w > 0
    count = int(used.sum())
    if count < 3:
        raise AffineFitError(f"an affine needs at least 3 point correspondences with positive weight, got {count}")
    s, d, w = s[used], d[used], w[used]

    centre = np.average(s, axis=0, weights=w)
    radius = float(np.sqrt(np.average(((s - centre) ** 2).sum(axis=1), weights=w)))
    if not radius > 0.0:
        raise AffineFitError(f"all {count} source points coincide; an affine needs 3 non-collinear points")
    u = (s - centre) / radius
    root_w = np.sqrt(w)[:, None]
    design = np.hstack([u, np.ones((count, 1))]) * root_w
    solution, _, rank, singular = np.linalg.lstsq(design, d * root_w, rcond=None)
    if rank < 3 or singular[-1] < _RANK_TOLERANCE * singular[0]:
        raise AffineFitError(f"the {count} source points are (nearly) collinear: the design matrix is "
                             f"rank-deficient (singular values {np.array2string(singular, precision=3)}), so the "
                             "affine is not determined")
    # d ~ M u + t' with u = (s - centre) / radius  =>  d ~ (M / radius) s + (t' - (M / radius) centre)
    linear = solution[:2].T / radius
    translation = solution[2] - linear @ centre
    return np.hstack([linear, translation[:, None]])


def residuals(affine: np.ndarray, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Per-point residual lengths |dst_i - A(src_i)|."""
    return np.linalg.norm(_as_points(dst, "dst") - apply_affine(affine, _as_points(src, "src")), axis=1)


def fit_affine_robust(src: np.ndarray, dst: np.ndarray, iterations: int = 10,
                      threshold: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A least-squares affine that a minority of gross outliers cannot drag: returns ``(A, inlier_mask)``.

    Iteratively reweighted least squares on the residual lengths r_i, starting from the plain fit:

    * the first half of the iterations use Huber weights (1 inside k*sigma, k*sigma/r outside). Huber's objective
      is convex, so from the (outlier-biased) plain fit it moves reliably towards the inliers' solution;
    * the remaining iterations use Tukey's biweight ((1 - (r/(c*sigma))^2)^2 inside c*sigma, 0 outside). It is
      redescending: gross outliers get weight exactly 0 and stop influencing the fit at all, which Huber alone
      never achieves (its outliers keep a bounded but non-zero pull). Started cold from the plain fit Tukey can
      lock onto a wrong basin, hence the Huber warm-up.

    sigma is re-estimated every iteration from the median residual length (the 2-D analogue of the MAD, see
    ``_RAYLEIGH_MEDIAN``), floored at a tiny fraction of the point spread so exact correspondences (sigma -> 0) do
    not divide by zero. With ``threshold`` (in dst units) the scale is fixed instead: Tukey's cut-off is
    ``threshold`` and sigma = threshold / 4.685.

    ``inlier_mask`` marks points whose final residual is below the Tukey cut-off (i.e. with non-zero final
    weight). Stops early once the transform stops changing. Needs at least 3 non-collinear points (else
    :class:`AffineFitError`); if a reweighting would leave a degenerate set, the last good fit is kept.
    """
    if iterations < 0:
        raise ValueError(f"iterations must be >= 0, got {iterations}")
    if threshold is not None and not (np.isfinite(threshold) and threshold > 0):
        raise ValueError(f"threshold must be positive, got {threshold}")
    s, d = _as_points(src, "src"), _as_points(dst, "dst")
    affine = fit_affine(s, d)
    spread = float(np.sqrt(((d - d.mean(axis=0)) ** 2).sum(axis=1).mean()))
    sigma_floor = 1e-9 * (1.0 + spread)

    def scale(r: np.ndarray) -> float:
        if threshold is not None:
            return float(threshold) / _TUKEY_C
        return max(float(np.median(r)) / _RAYLEIGH_MEDIAN, sigma_floor)

    huber_steps = iterations // 2
    for step in range(iterations):
        r = residuals(affine, s, d)
        sigma = scale(r)
        if step < huber_steps:
            cut = _HUBER_K * sigma
            w = np.where(r <= cut, 1.0, cut / np.maximum(r, 1e-300))
        else:
            z = r / (_TUKEY_C * sigma)
            w = np.where(z < 1.0, (1.0 - z**2) ** 2, 0.0)
        try:
            updated = fit_affine(s, d, w)
        except AffineFitError:
            break  # the weights would leave too few / collinear points: keep the last good fit
        change = float(np.abs(updated - affine).max())
        affine = updated
        if step >= huber_steps and change <= 1e-12 * (1.0 + float(np.abs(affine).max())):
            break
    r = residuals(affine, s, d)
    inliers = r < _TUKEY_C * scale(r)
    return affine, inliers
