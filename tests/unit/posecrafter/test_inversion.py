"""PoseCrafter's inversion: exact on toy denoisers whose ODE is known, and a round trip through ComfyUI's own
sampling on the tiny PoseGen model (flow / CONST) and on the same network with EPS model sampling."""

from __future__ import annotations

import comfy.clip_vision
import comfy.k_diffusion.sampling as kd
import comfy.model_sampling
import comfy.sample
import comfy.samplers
import pytest
import torch

from devtools.tiny_models import make_tiny_posegen, tiny_config, write_tiny_posegen
from posegen_core.posecrafter.inversion import (
    inversion_sampler,
    invert,
    invert_latent,
    invert_to_noise,
    replicate_frames,
    sampling_sigmas,
)
from posegen_core.posegen.comfy_model import load_model
from posegen_core.posegen.conditioning import posegen_conditioning_values
from posegen_core.wan.schedule import flow_match_sigmas

F64 = torch.float64


def _euler(denoise, x, sigmas):
    """ComfyUI's own Euler sampler on a plain denoiser callable."""
    return kd.sample_euler(denoise, x, sigmas, disable=True)


# --- toy denoisers whose ODE is known -------------------------------------------------------------------------


def test_single_data_point_inverts_and_reconstructs_exactly_without_evaluating_sigma_zero():
    # Flow data that is one point x*: D ≡ x*, trajectories x* + σ·c, and x* itself is the c = 0 one.
    x_star = torch.randn(2, 5, generator=torch.Generator().manual_seed(0), dtype=F64)
    seen: list[torch.Tensor] = []

    def denoise(x, sigma):
        seen.append(sigma.clone())
        return x_star.expand_as(x)

    sigmas = sampling_sigmas(10, 5.0, 1.0).to(F64)
    noisy = invert(denoise, x_star, sigmas, refine=2)
    # naive DDIM inversion would start with d(x*, 0) = 0/0; here every call is at a positive sigma
    assert len(seen) == 10 * (1 + 2) and min(float(s.min()) for s in seen) > 0
    assert torch.equal(noisy, x_star)
    assert torch.equal(_euler(denoise, noisy, sigmas), x_star)


def test_gaussian_data_follows_the_exact_probability_flow():
    # Flow data N(μ, s²): D(x, σ) = μ + (1-σ)s²/v·(x - (1-σ)μ), v = (1-σ)²s² + σ², and the ODE keeps the
    # standardised coordinate z: x(σ) = (1-σ)μ + √v·z. Inversion approaches it at first order in the step.
    mu, s = 0.7, 0.4
    z = torch.randn(3, 4, generator=torch.Generator().manual_seed(1), dtype=F64)

    def denoise(x, sigma):
        sig = sigma[:, None]
        v = (1 - sig) ** 2 * s**2 + sig**2
        return mu + (1 - sig) * s**2 / v * (x - (1 - sig) * mu)

    errors = []
    for steps in (50, 200):
        sigmas = flow_match_sigmas(steps, 3.0, 0.8).to(F64)
        sigma = float(sigmas[0])
        exact = (1 - sigma) * mu + ((1 - sigma) ** 2 * s**2 + sigma**2) ** 0.5 * z
        errors.append(float((invert(denoise, mu + s * z, sigmas, refine=5) - exact).abs().max()))
    # measured 8.1e-2 and 2.0e-2: the error of Euler's own discretisation, shrinking 4x for 4x the steps
    assert errors[1] < 3e-2 and 3.5 < errors[0] / errors[1] < 4.5


def _linear_field(seed: int = 2, n: int = 4):
    g = torch.Generator().manual_seed(seed)
    a = 0.5 * torch.randn(n, n, generator=g, dtype=F64) / n**0.5
    b = torch.randn(n, generator=g, dtype=F64)

    def denoise(x, sigma):  # CONST with the σ-independent velocity d = A x + b
        return x - sigma[:, None] * (x @ a.T + b)

    return denoise, a, b


def test_linear_velocity_field_refined_inversion_is_the_exact_inverse_of_euler():
    denoise, a, b = _linear_field()
    x_clean = torch.randn(3, 4, generator=torch.Generator().manual_seed(3), dtype=F64)
    sigmas = sampling_sigmas(10, 5.0, 1.0).to(F64)
    errors = {}
    for refine in (0, 1, 5, 12):
        noisy = invert(denoise, x_clean, sigmas, refine=refine)
        errors[refine] = float((_euler(denoise, noisy, sigmas) - x_clean).abs().max())
    assert errors[5] <= 1e-5 and errors[12] <= 1e-12  # exact, up to convergence and rounding
    assert errors[0] > errors[1] > errors[5] > errors[12]  # what each refinement buys
    assert errors[0] > 1e-2
    # and it is the closed-form inverse of each Euler step, x_k = (I + hA)^-1 (x_{k+1} - h b)
    x = x_clean
    for k in range(len(sigmas) - 2, -1, -1):
        h = float(sigmas[k + 1] - sigmas[k])
        x = torch.linalg.solve(torch.eye(4, dtype=F64) + h * a, (x - h * b).T).T
    assert torch.allclose(invert(denoise, x_clean, sigmas, refine=12), x, atol=1e-12)


def test_heun_pairs_with_comfyuis_heun_only_approximately():
    denoise, _, _ = _linear_field()
    x_clean = torch.randn(3, 4, generator=torch.Generator().manual_seed(4), dtype=F64)
    errors = []
    for steps in (10, 40):
        sigmas = sampling_sigmas(steps, 5.0, 1.0).to(F64)
        noisy = invert(denoise, x_clean, sigmas, method="heun", refine=12)
        errors.append(float((kd.sample_heun(denoise, noisy, sigmas, disable=True) - x_clean).abs().max()))
    assert errors[0] < 5e-3 and errors[1] < errors[0] / 8  # second-order methods agreeing to their truncation
    assert errors[1] > 1e-9  # but no exact inverse, unlike euler + refinement


def test_callback_reports_every_inversion_step():
    denoise, _, _ = _linear_field()
    steps = []
    invert(denoise, torch.zeros(1, 4, dtype=F64), sampling_sigmas(4, 5.0, 1.0).to(F64), refine=1,
           callback=lambda info: steps.append((info["i"], float(info["sigma"]))))
    sigmas = sampling_sigmas(4, 5.0, 1.0)
    assert [i for i, _ in steps] == [0, 1, 2, 3]
    assert [s for _, s in steps] == pytest.approx(sigmas[:-1].flip(0).tolist())  # clean end first


@pytest.mark.parametrize("kwargs, message", [
    (dict(method="dpm"), "method"), (dict(refine=-1), "refine"),
    (dict(sigmas=torch.tensor([0.0, 0.5, 1.0])), "descending"), (dict(sigmas=torch.tensor([1.0])), "at least 2"),
])
def test_invert_refuses_bad_options(kwargs, message):
    args = dict(sigmas=torch.tensor([1.0, 0.5, 0.0]))
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        invert(lambda x, s: x, torch.zeros(1, 2), **args)


def test_inversion_sampler_needs_the_schedule_ascending():
    sampler = inversion_sampler()
    assert isinstance(sampler, comfy.samplers.KSAMPLER)
    with pytest.raises(ValueError, match="ascending"):
        sampler.sampler_function(lambda x, s, **k: x, torch.zeros(1, 2), torch.tensor([1.0, 0.5, 0.0]))


# --- through ComfyUI on the tiny PoseGen model ----------------------------------------------------------------

SHAPE = (1, 16, 1, 6, 4)  # one latent frame, 48x32 px


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    base, _ = write_tiny_posegen(tmp_path_factory.mktemp("models"), make_tiny_posegen(tiny_config(num_layers=2)))
    model = load_model(base, "auto", torch.float32)
    latent_format = model.model.latent_format
    g = torch.Generator().manual_seed(0)

    def raw_latent():  # unit scale in the model's space, handed over raw as VAE.encode would
        return latent_format.process_out(torch.randn(SHAPE, generator=g))

    clip = comfy.clip_vision.Output()
    clip["penultimate_hidden_states"] = torch.randn(1, 257, 1280, generator=g)
    values = posegen_conditioning_values(raw_latent(), torch.zeros(4, 1), raw_latent(), raw_latent(), clip)
    positive = [[torch.randn(1, 8, 64, generator=g), dict(values)]]
    negative = [[torch.randn(1, 8, 64, generator=g), dict(values)]]
    return model, positive, negative, raw_latent()


def _sample(model, positive, negative, noise, latent, sigmas, cfg, sampler="euler"):
    return comfy.sample.sample_custom(model, noise, cfg, comfy.samplers.ksampler(sampler), sigmas, positive,
                                      negative, latent, disable_pbar=True, seed=0)


def _relative_error(model, out, clean) -> float:
    """max |error| / max |clean|, in the model's (normalised) latent space."""
    fmt = model.model.latent_format
    clean = fmt.process_in(clean)
    return float((fmt.process_in(out.float().cpu()) - clean).abs().max() / clean.abs().max())


def _round_trip(case, sigmas, cfg, refine, route="latent", method="euler", model=None) -> float:
    """Invert, then sample back the way a workflow would: zero noise over the LATENT, or the NOISE over an empty
    latent."""
    base, positive, negative, clean = case
    model = model or base
    if route == "latent":
        latent = invert_latent(model, positive, negative, clean, sigmas, cfg, method=method, refine=refine)
        out = _sample(model, positive, negative, torch.zeros_like(latent), latent, sigmas, cfg, method)
    else:
        noise = invert_to_noise(model, positive, negative, clean, sigmas, cfg, method=method, refine=refine)
        out = _sample(model, positive, negative, noise, torch.zeros_like(clean), sigmas, cfg, method)
    return _relative_error(model, out, clean)


# Measured relative errors at 10 steps, refine 0 / 1 / 3 / 6 (the bound is for refine 3):
#   denoise 0.5 (σ_start 0.833): cfg 1  6.4e-2 / 3.6e-3 / 2.9e-5 / 2.8e-7,  cfg 5  1.8e-1 / 1.9e-2 / 4.6e-4 / 1.8e-6
#   denoise 1.0 (σ_start 1):     cfg 1  1.2e-1 / 1.3e-2 / 5.0e-4 / 3.2e-6,  cfg 5  3.0e-1 / 7.9e-2 / 5.9e-3 / 8.6e-5
@pytest.mark.parametrize("denoise, cfg, bound", [(0.5, 1.0, 3e-4), (0.5, 5.0, 5e-3), (1.0, 1.0, 5e-3),
                                                 (1.0, 5.0, 2e-2)])
def test_inverted_latent_samples_back_to_the_clean_latent(case, denoise, cfg, bound):
    sigmas = sampling_sigmas(10, 5.0, denoise)
    route = "noise" if denoise == 1.0 else "latent"  # at σ = 1 a flow model's LATENT cannot carry the state
    errors = [_round_trip(case, sigmas, cfg, refine, route) for refine in (0, 1, 3)]
    assert errors[2] < bound
    assert errors[0] > errors[1] > errors[2]


def test_noise_route_matches_the_latent_route_below_sigma_one(case):
    sigmas = sampling_sigmas(6, 5.0, 0.5)
    assert _round_trip(case, sigmas, 1.0, 6, "noise") < 1e-5  # measured 1.0e-6
    assert _round_trip(case, sigmas, 1.0, 6, "latent") < 1e-5  # measured 9.0e-7


def test_latent_route_refuses_sigma_one_on_a_flow_model(case):
    model, positive, negative, clean = case
    with pytest.raises(ValueError, match="invert_to_noise"):
        invert_latent(model, positive, negative, clean, sampling_sigmas(4, 5.0, 1.0), 1.0)


def test_heun_round_trip_is_approximate(case):
    assert _round_trip(case, sampling_sigmas(10, 5.0, 0.5), 1.0, 3, method="heun") < 1e-2  # measured 1.8e-3


class _EpsSampling(comfy.model_sampling.ModelSamplingDiscrete, comfy.model_sampling.EPS):
    """What ComfyUI's ModelSamplingDiscrete node patches in for an eps model."""


class _VSampling(comfy.model_sampling.ModelSamplingDiscrete, comfy.model_sampling.V_PREDICTION):
    """... and for a v-prediction model."""


@pytest.mark.parametrize("sampling", [_EpsSampling, _VSampling], ids=["eps", "v"])
@pytest.mark.parametrize("part", ["full", "half"])
@pytest.mark.parametrize("route", ["latent", "noise"])
def test_eps_and_v_model_sampling_round_trip_too(case, sampling, part, route):
    # EPS / V: noise_scaling(σ, 0, L) = L and inverse_noise_scaling is the identity; "full" starts at sigma_max,
    # where ComfyUI scales the noise by √(1 + σ²) (max_denoise) instead of σ
    patched = case[0].clone()
    patched.add_object_patch("model_sampling", sampling())
    sigmas = comfy.samplers.calculate_sigmas(patched.get_model_object("model_sampling"), "karras", 20).float()
    sigmas = sigmas if part == "full" else sigmas[10:]
    assert _round_trip(case, sigmas, 1.0, 6, route, model=patched) < 1e-4  # measured 2.5e-7 .. 3.4e-6 (eps)


def test_inversion_sampler_in_sample_custom_is_invert_latent(case):
    model, positive, negative, clean = case
    sigmas = sampling_sigmas(3, 5.0, 0.5)
    calls = []
    direct = invert_latent(model, positive, negative, clean, sigmas, 2.0, refine=1,
                           progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 3), (2, 3), (3, 3)]
    through = comfy.sample.sample_custom(model, torch.zeros_like(clean), 2.0, inversion_sampler(refine=1),
                                         sigmas.flip(0), positive, negative, clean, disable_pbar=True, seed=0)
    assert torch.equal(direct, through)


# --- helpers --------------------------------------------------------------------------------------------------


def test_replicate_frames_copies_one_frame():
    one = torch.randn(1, 16, 1, 6, 4)
    video = replicate_frames(one, 5)
    assert video.shape == (1, 16, 5, 6, 4)
    assert all(torch.equal(video[:, :, t], one[:, :, 0]) for t in range(5))
    already = torch.randn(1, 16, 5, 6, 4)
    assert replicate_frames(already, 5) is already


@pytest.mark.parametrize("shape, frames, message", [
    ((1, 16, 3, 6, 4), 5, "3 latent frames"), ((1, 16, 6, 4), 5, r"\[B, C, T, h, w\]"), ((1, 16, 1, 6, 4), 0, "frames"),
])
def test_replicate_frames_refuses(shape, frames, message):
    with pytest.raises(ValueError, match=message):
        replicate_frames(torch.zeros(shape), frames)


def test_sampling_sigmas_is_the_posegen_schedule_from_the_start_fraction():
    sigmas = sampling_sigmas(8, 5.0, 0.5)
    assert torch.equal(sigmas, flow_match_sigmas(8, 5.0, 0.5))
    assert float(sigmas[0]) == pytest.approx(5 * 0.5 / (1 + 4 * 0.5)) and float(sigmas[-1]) == 0.0


def test_error_benchmark_runs():
    from bench import inversion_error

    rows = inversion_error.main(["--steps", "2", "--refine", "0", "2", "--cfg", "1", "--sigma-starts", "1.0",
                                 "0.5"])
    assert [(round(r["sigma_start"], 3), r["refine"]) for r in rows] == [(1.0, 0), (1.0, 2), (0.5, 0), (0.5, 2)]
    assert rows[1]["relative"] < rows[0]["relative"] and rows[3]["relative"] < rows[2]["relative"]
