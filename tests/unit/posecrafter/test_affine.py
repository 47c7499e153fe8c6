"""Least-squares and robust landmark affines (PoseCrafter §4.3), their algebra and the latent-coordinate form."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from posegen_core.posecrafter.affine import (
    AffineFitError,
    apply_affine,
    compose,
    fit_affine,
    fit_affine_robust,
    identity_affine,
    invert_affine,
    to_latent,
)


def random_affine(rng: np.random.Generator, max_condition: float = 10.0) -> np.ndarray:
    """A random affine with a reasonably conditioned linear part (rotation x anisotropic scale x shear)."""
    while True:
        linear = rng.normal(0.0, 0.4, (2, 2)) + np.eye(2) * rng.uniform(0.5, 2.0) * rng.choice([-1, 1])
        if np.linalg.cond(linear) <= max_condition:
            return np.hstack([linear, rng.uniform(-300, 300, (2, 1))])


def spread_points(rng: np.random.Generator, n: int, size: float = 200.0) -> np.ndarray:
    return rng.uniform(0, size, (n, 2)) + rng.uniform(-500, 500, 2)


def well_spread(points: np.ndarray) -> bool:
    centred = points - points.mean(axis=0)
    sv = np.linalg.svd(centred, compute_uv=False)
    return sv[-1] > 0.05 * sv[0]


def transfer_error(a: np.ndarray, b: np.ndarray, points: np.ndarray) -> float:
    """Largest distance between the two transforms' images of ``points`` (unit-independent comparison)."""
    return float(np.linalg.norm(apply_affine(a, points) - apply_affine(b, points), axis=1).max())


# --- exact recovery -------------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(3, 80))
def test_fit_recovers_a_known_affine_exactly(seed, n):
    rng = np.random.default_rng(seed)
    truth = random_affine(rng)
    src = spread_points(rng, n)
    assume(well_spread(src))
    fitted = fit_affine(src, apply_affine(truth, src))
    # float64 round-off relative to each entry's size (translations are hundreds of pixels)
    assert (np.abs(fitted - truth) <= 1e-9 * (1 + np.abs(truth))).all()


def test_fit_returns_float64_2x3_and_accepts_float32_input():
    rng = np.random.default_rng(1)
    truth = random_affine(rng)
    src = spread_points(rng, 10).astype(np.float32)
    fitted = fit_affine(src, apply_affine(truth, src.astype(np.float64)).astype(np.float32))
    assert fitted.shape == (2, 3) and fitted.dtype == np.float64
    assert transfer_error(fitted, truth, src.astype(np.float64)) < 1e-3  # float32 inputs: float32 precision


def test_weights_select_the_points_that_count():
    rng = np.random.default_rng(2)
    truth, other = random_affine(rng), random_affine(rng)
    src = spread_points(rng, 12)
    dst = apply_affine(truth, src)
    dst[8:] = apply_affine(other, src[8:])  # the last 4 follow a different transform ...
    weights = np.r_[np.ones(8), np.zeros(4)]  # ... and are given weight 0
    assert np.abs(fit_affine(src, dst, weights) - truth).max() <= 1e-9


# --- noise ----------------------------------------------------------------------------------------------------


def test_error_grows_smoothly_with_noise():
    """Error ~ proportional to the noise: below a fixed multiple of it at every level, and monotone on average."""
    rng = np.random.default_rng(3)
    levels = [0.0, 0.01, 0.1, 0.5, 1.0, 2.0, 5.0]
    mean_errors = []
    for sigma in levels:
        errors = []
        for _ in range(50):
            truth = random_affine(rng)
            src = spread_points(rng, 40)
            dst = apply_affine(truth, src) + rng.normal(0.0, sigma, src.shape)
            error = transfer_error(fit_affine(src, dst), truth, src)
            # 40 points: the fitted transform is far more accurate than one point's noise; 3 sigma is generous
            assert error <= 3.0 * sigma + 1e-9
            errors.append(error)
        mean_errors.append(np.mean(errors))
    assert mean_errors[0] < 1e-9
    assert all(a < b for a, b in zip(mean_errors[1:], mean_errors[2:], strict=False))
    ratios = np.array(mean_errors[1:]) / np.array(levels[1:])
    assert ratios.max() / ratios.min() < 1.5  # linear in the noise, no threshold effects


# --- outliers -------------------------------------------------------------------------------------------------


def corrupted(seed: int, n: int = 70, outlier_fraction: float = 0.2, noise: float = 0.5, same_direction: bool = False):
    """A face-sized landmark set with Gaussian noise and a fraction of gross outliers (20-80 px off)."""
    rng = np.random.default_rng(seed)
    truth = random_affine(rng)
    src = spread_points(rng, n, size=150.0)
    dst = apply_affine(truth, src) + rng.normal(0.0, noise, src.shape)
    bad = rng.permutation(n)[: int(round(outlier_fraction * n))]
    offset = rng.uniform(20, 80, (len(bad), 2))
    dst[bad] += offset if same_direction else offset * rng.choice([-1, 1], (len(bad), 2))
    return truth, src, dst, bad


@pytest.mark.parametrize("same_direction", [False, True])
@pytest.mark.parametrize("seed", range(10))
def test_robust_fit_ignores_twenty_percent_gross_outliers_and_plain_fit_does_not(seed, same_direction):
    truth, src, dst, bad = corrupted(seed, same_direction=same_direction)
    plain = fit_affine(src, dst)
    robust, inliers = fit_affine_robust(src, dst)
    plain_error, robust_error = transfer_error(plain, truth, src), transfer_error(robust, truth, src)
    assert robust_error < 1.0  # within ~2 sigma of noise, over a 150 px face
    assert plain_error > 3.0  # dragged by the outliers
    assert plain_error > 5 * robust_error
    assert not inliers[bad].any()  # every gross outlier is rejected ...
    assert inliers.sum() >= 0.95 * (len(src) - len(bad))  # ... and (almost) no inlier is


def test_robust_fit_without_outliers_matches_the_plain_fit():
    rng = np.random.default_rng(5)
    truth = random_affine(rng)
    src = spread_points(rng, 50)
    exact = fit_affine_robust(src, apply_affine(truth, src))
    assert np.abs(exact[0] - truth).max() <= 1e-9 and exact[1].all()
    noisy_dst = apply_affine(truth, src) + rng.normal(0.0, 1.0, src.shape)
    robust, inliers = fit_affine_robust(src, noisy_dst)
    assert transfer_error(robust, fit_affine(src, noisy_dst), src) < 0.5
    assert inliers.mean() > 0.95


def test_robust_fit_with_a_fixed_threshold():
    truth, src, dst, bad = corrupted(11)
    robust, inliers = fit_affine_robust(src, dst, threshold=5.0)
    assert transfer_error(robust, truth, src) < 1.0
    assert set(np.flatnonzero(~inliers)) == set(bad)


def test_robust_fit_exact_inliers_with_outliers_is_exact():
    truth, src, dst, bad = corrupted(12, noise=0.0)
    robust, inliers = fit_affine_robust(src, dst)
    assert np.abs(robust - truth).max() <= 1e-9
    assert set(np.flatnonzero(~inliers)) == set(bad)


# --- degenerate input -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("src", [
    np.array([[0.0, 0.0], [1.0, 2.0]]),  # two points
    np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [5.0, 5.0]]),  # collinear
    np.array([[10.0, 3.0], [20.0, 3.0], [35.5, 3.0]]),  # collinear, horizontal
    np.array([[3.0, 3.0]] * 5),  # coincident
    np.zeros((0, 2)),
])
def test_degenerate_input_raises(src):
    dst = src * 2 + 1
    with pytest.raises(AffineFitError):
        fit_affine(src, dst)
    with pytest.raises(AffineFitError):
        fit_affine_robust(src, dst)


def test_nearly_collinear_in_huge_coordinates_raises():
    t = np.linspace(0.0, 1.0, 10)
    src = np.stack([1e6 + 1000 * t, 2e6 + 3000 * t], axis=1)
    src[3, 1] += 1e-9  # numerically on the line
    with pytest.raises(AffineFitError, match="collinear"):
        fit_affine(src, src)


def test_zero_weights_leaving_two_points_raise():
    src = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    with pytest.raises(AffineFitError, match="at least 3"):
        fit_affine(src, src, weights=np.array([1.0, 1.0, 0.0, 0.0]))


def test_bad_shapes_and_values_raise_value_error():
    with pytest.raises(ValueError):
        fit_affine(np.zeros((4, 3)), np.zeros((4, 3)))
    with pytest.raises(ValueError):
        fit_affine(np.zeros((4, 2)), np.zeros((5, 2)))
    with pytest.raises(ValueError):
        fit_affine(np.eye(3)[:, :2], np.eye(3)[:, :2], weights=np.array([1.0, -1.0, 1.0]))
    with pytest.raises(ValueError):
        fit_affine(np.array([[0.0, np.nan], [1.0, 0.0], [0.0, 1.0]]), np.zeros((3, 2)))


# --- algebra --------------------------------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_invert_and_compose(seed):
    rng = np.random.default_rng(seed)
    a, b = random_affine(rng), random_affine(rng)
    points = spread_points(rng, 20)
    assert np.allclose(apply_affine(compose(a, b), points), apply_affine(a, apply_affine(b, points)), atol=1e-8)
    assert np.allclose(compose(a, invert_affine(a)), identity_affine(), atol=1e-10)
    assert np.allclose(compose(invert_affine(a), a), identity_affine(), atol=1e-10)
    assert np.allclose(apply_affine(invert_affine(a), apply_affine(a, points)), points, atol=1e-8)


def test_invert_singular_raises():
    with pytest.raises(ValueError, match="not invertible"):
        invert_affine(np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 1.0]]))


def test_apply_keeps_leading_dimensions():
    a = np.array([[2.0, 0.0, 1.0], [0.0, 3.0, -1.0]])
    points = np.ones((4, 5, 2))
    out = apply_affine(a, points)
    assert out.shape == (4, 5, 2) and np.allclose(out, [3.0, 2.0])


# --- latent coordinates ---------------------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), stride=st.sampled_from([1, 2, 8, 16]))
def test_to_latent_commutes_with_the_stride_division(seed, stride):
    rng = np.random.default_rng(seed)
    a = random_affine(rng)
    points = spread_points(rng, 30)
    latent = to_latent(a, stride)
    assert np.allclose(apply_affine(a, points) / stride, apply_affine(latent, points / stride), atol=1e-9)
    assert np.array_equal(latent[:, :2], a[:, :2])  # linear part unchanged
    assert np.allclose(latent[:, 2], a[:, 2] / stride)


def test_to_latent_maps_pixel_blocks_to_latent_pixels():
    # a shift by 16 image pixels is a shift by exactly 2 latent pixels: image block [16, 24) -> latent pixel 2
    shift = np.array([[1.0, 0.0, 16.0], [0.0, 1.0, -8.0]])
    assert np.array_equal(to_latent(shift), [[1.0, 0.0, 2.0], [0.0, 1.0, -1.0]])
    with pytest.raises(ValueError):
        to_latent(shift, stride=0)
