"""PoseCrafter's reference-frame inversion (paper §4.2) for ComfyUI samplers, flow-matching models included.

PoseCrafter DDIM-inverts the reference frame and starts generation from the result, so that sampling from it
(with no fresh noise) reproduces the reference and the pose-driven frames inherit its identity and background.
Here the inversion is written for ComfyUI's own ODE form, so it works for any ComfyUI MODEL (PoseGen/Wan flow
models with ``CONST`` model sampling, ``EPS``/``V_PREDICTION`` models alike) with the same conditioning, CFG and
schedule that the sampler will use.

The sampler being inverted
--------------------------
ComfyUI's samplers integrate ``dx/dσ = d(x, σ) = (x − D(x, σ)) / σ``, where ``D`` is the CFG-combined denoised
(x0) prediction that ``model(x, sigma * s_in, **extra_args)`` returns. For a flow model (``CONST``:
``x_σ = (1 − σ)·x0 + σ·ε``), ``d`` is exactly the velocity ``ε − x0``. ComfyUI's ``euler`` sampler walks the
descending schedule ``s_0 = σ_start > s_1 > … > s_n = 0``::

    x_{k+1} = x_k + d(x_k, s_k) · h_k,        h_k = s_{k+1} − s_k  (< 0)

The inversion
-------------
Going backwards, ``k = n−1 … 0``, we need the ``x_k`` that this step maps onto the known ``x_{k+1}``::

    x_k = x_{k+1} − d(x_k, s_k) · h_k          (implicit: x_k appears on both sides)

* explicit guess ``x_k⁰ = x_{k+1} − d(x_{k+1}, s_k) · h_k``: ``d`` evaluated at the known point but at the
  *higher* sigma ``s_k > 0``. Naive DDIM inversion evaluates the model at ``(x_{k+1}, s_{k+1})`` instead, which
  at the first step means ``σ = 0`` — a point where ``d = (x − D)/σ`` is 0/0 and flow models were never trained.
  Here ``σ = 0`` is never evaluated.
* ``refine`` fixed-point iterations ``x_k^{j+1} = x_{k+1} − d(x_k^j, s_k) · h_k``. The map's derivative is
  ``−h_k · ∂d/∂x``, so it contracts when ``|h_k|·Lip(d) < 1`` (small steps, smooth velocity field) and the error
  of the guess shrinks by that factor per iteration. At the fixed point, the Euler step from ``x_k`` lands
  *exactly* on ``x_{k+1}``: with enough refinement the inversion is the exact inverse of ComfyUI's ``euler``
  sampler, and reconstruction is limited only by convergence and float rounding — not by the step count (the
  step count only decides how close the inverted state is to the true ODE's noise).

Cost: ``steps · (1 + refine)`` model evaluations (each one cond + uncond pass when CFG ≠ 1).

``method="heun"``: explicit backward Heun, the time reverse of ComfyUI's ``heun`` step: ``d_lo = d(x_{k+1},
s_{k+1})``, predictor ``x̃ = x_{k+1} − d_lo·h_k``, ``x_k = x_{k+1} − (d_lo + d(x̃, s_k))/2 · h_k`` (2 evaluations).
At ``s_{k+1} = 0`` ``d_lo`` cannot be evaluated; there ComfyUI's ``heun`` itself takes a plain Euler step, so
that step is inverted like ``euler`` (``d`` taken at the Euler guess at ``s_k``, refined ``refine`` times).
Only ``euler`` + refinement is an *exact* inverse (of ComfyUI's ``euler``); ``heun`` pairs with ComfyUI's
``heun`` sampler only approximately (local error O(h³) per step, i.e. the two second-order methods agree up to
their truncation error), so its round trip does not become exact with refinement.

Through ComfyUI's sampling (the round-trip algebra)
---------------------------------------------------
``KSAMPLER.sample`` wraps every sampler function: ``x = noise_scaling(sigmas[0], noise, latent, max_denoise)``
before it, ``samples = inverse_noise_scaling(sigmas[-1], x)`` after it; ``CFGGuider.inner_sample`` moves a
non-zero latent into the model's space with ``process_latent_in`` and the result back with
``process_latent_out`` (both affine and exact inverses of each other up to rounding). ``invert_latent`` runs
``comfy.sample.sample_custom`` with zero noise and the schedule REVERSED (ascending ``0 → σ_start``):

* start: ``noise_scaling(0, 0, L)`` is ``0·0 + (1 − 0)·L = L`` for ``CONST`` and ``0·0 + L = L`` for ``EPS`` (at
  ``σ = 0`` ``max_denoise`` is false): the sampler function receives the clean latent ``L`` (in model space).
* the inversion sampler flips the schedule back to descending and runs ``invert`` → the ODE state ``x`` at
  ``σ_start``.
* end: ``inverse_noise_scaling(σ_start, x)`` is ``x / (1 − σ_start)`` for ``CONST`` and ``x`` for ``EPS``; after
  ``process_latent_out`` that is the returned LATENT ``R``.

Sampling ``R`` with ComfyUI from ``σ_start`` with zero noise (``DisableNoise`` / SamplerCustom ``add_noise``
off) and the descending schedule: ``process_latent_in(R)`` gives the model-space value back, and

* ``CONST``: ``noise_scaling(σ_start, 0, x/(1 − σ_start)) = σ_start·0 + (1 − σ_start)·x/(1 − σ_start) = x``;
* ``EPS``/``V_PREDICTION``: ``noise_scaling(σ_start, 0, x) = 0·σ_start + x = x`` (with ``max_denoise`` at
  ``σ_start = sigma_max`` the zero noise is scaled by ``√(1 + σ²)`` instead: still ``x``);

so the sampler starts from exactly the inverted state, and its final ``inverse_noise_scaling(0, ·)`` is the
identity for both. Euler then retraces the inversion step by step.

The one singular case: ``CONST`` at ``σ_start = 1`` (``denoise = 1.0``). There ``noise_scaling(1, n, L) = n``
drops the latent entirely, so *no* LATENT reaches the state (and ``x / (1 − 1)`` is infinite). Physically the
inverted state at ``σ = 1`` *is* the noise, so ``invert_to_noise`` returns it in that form: the NOISE ``N`` with
``noise_scaling(σ_start, N, 0) = x`` (``N = x/σ_start`` for ``CONST``, ``x/σ_start`` or ``x/√(1 + σ²)`` at
``max_denoise`` for ``EPS``) for sampling from an all-zero latent — valid for every ``σ_start``, and exactly how
PoseGen's own sampling runs (random noise over a zero latent). ``invert_latent`` refuses the singular case.

Notes: inversion passes ComfyUI the ascending schedule, so model wrappers that locate the current step in
``transformer_options["sample_sigmas"]`` see it reversed. ComfyUI's ``FlipSigmas`` node replaces the leading 0
with 1e-4; using the sampler that way inverts from ``σ = 1e-4`` and the round trip is off by about that much
(``invert_latent`` passes an exact 0). An all-zero latent is not moved by ``process_latent_in`` (ComfyUI treats
it as "empty"), so inverting an exactly-zero latent is not meaningful.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from ..errors import PoseGenInputError
from ..wan.schedule import flow_match_sigmas

Denoiser = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
StepCallback = Callable[[dict[str, Any]], None]
Progress = Callable[[int, int], None]

METHODS = ("euler", "heun")


def _check_options(method: str, refine: int) -> None:
    if method not in METHODS:
        raise PoseGenInputError("method", f"'{method}'.", f"one of {', '.join(METHODS)}")
    if refine < 0:
        raise PoseGenInputError("refine", f"{refine}.", "0 or more fixed-point iterations")


def _check_descending(sigmas: torch.Tensor, name: str = "sigmas") -> None:
    if sigmas.dim() != 1 or sigmas.shape[0] < 2:
        raise PoseGenInputError(name, f"shape {tuple(sigmas.shape)}.", "a 1-D schedule of at least 2 sigmas")
    if not bool(torch.all(sigmas[1:] < sigmas[:-1])) or float(sigmas[-1]) < 0:
        raise PoseGenInputError(name, f"{sigmas.tolist()}.", "a strictly descending schedule σ_start … 0")


def _to_d(x: torch.Tensor, sigma: torch.Tensor, denoised: torch.Tensor) -> torch.Tensor:
    """``k_diffusion.sampling.to_d`` for a scalar sigma: the sampler's own float ops, so that a converged inversion
    step is undone by the sampler's step up to rounding."""
    return (x - denoised) / sigma


@torch.no_grad()  # inversion is a fixed computation on the model, never differentiated
def invert(denoise: Denoiser, x_clean: torch.Tensor, sigmas: torch.Tensor, method: str = "euler",
           refine: int = 2, callback: StepCallback | None = None) -> torch.Tensor:
    """The state at ``sigmas[0]`` that ComfyUI's Euler sampler (``method="heun"``: Heun, approximately) turns into
    ``x_clean`` over the descending schedule ``sigmas`` (ending at 0; a positive end means ``x_clean`` is the
    state at that sigma).

    ``denoise(x, sigma)`` maps a state and a sigma tensor of shape ``[B]`` to the denoised prediction.
    ``callback`` gets k-diffusion's step dict (``i``, ``x``, ``sigma``, ``sigma_hat``, ``denoised``) after each
    inversion step, ``i`` counting inversion steps from 0 (clean end first).
    """
    _check_options(method, refine)
    _check_descending(sigmas)
    s_in = x_clean.new_ones([x_clean.shape[0]])
    x = x_clean
    steps = sigmas.shape[0] - 1
    for done, k in enumerate(range(steps - 1, -1, -1)):
        s_hi, s_lo = sigmas[k], sigmas[k + 1]
        h = s_lo - s_hi  # the sampler's dt for this step (negative)
        known = x
        if method == "heun" and float(s_lo) > 0:
            d_lo = _to_d(known, s_lo, denoise(known, s_lo * s_in))
            predictor = known - d_lo * h
            denoised = denoise(predictor, s_hi * s_in)
            x = known - (d_lo + _to_d(predictor, s_hi, denoised)) / 2 * h
        else:
            # explicit guess: d at the known point but at s_hi > 0 (σ = 0 is never evaluated) ...
            denoised = denoise(known, s_hi * s_in)
            x = known - _to_d(known, s_hi, denoised) * h
            # ... then fixed-point iterations towards the x whose forward Euler step lands on `known`
            for _ in range(refine):
                denoised = denoise(x, s_hi * s_in)
                x = known - _to_d(x, s_hi, denoised) * h
        if callback is not None:
            callback({"i": done, "x": x, "sigma": s_hi, "sigma_hat": s_hi, "denoised": denoised})
    return x


def _inversion_function(method: str, refine: int, record: list[torch.Tensor] | None = None):
    def sample_inversion(model, x: torch.Tensor, sigmas: torch.Tensor, extra_args: dict | None = None,
                         callback: StepCallback | None = None, disable: bool | None = None) -> torch.Tensor:
        # `disable` (progress bar) is accepted for the KSAMPLER signature; progress goes through `callback`
        extra_args = {} if extra_args is None else extra_args
        if sigmas.shape[0] < 2:
            return x
        if not bool(torch.all(sigmas[1:] > sigmas[:-1])):
            raise PoseGenInputError("sigmas", f"{sigmas.tolist()}: the inversion sampler runs the schedule "
                                    "backwards.", "an ascending schedule (0 … σ_start): the sampling schedule "
                                    "flipped")

        def denoise(state: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
            return model(state, sigma, **extra_args)

        state = invert(denoise, x, sigmas.flip(0), method, refine, callback)
        if record is not None:
            record.append(state)
        return state

    return sample_inversion


def inversion_sampler(method: str = "euler", refine: int = 2):
    """A ``comfy.samplers.KSAMPLER`` that inverts instead of sampling; give it the schedule ascending
    (``0 … σ_start``). Noise does not matter: ComfyUI scales it by ``sigmas[0] = 0``. See the module docstring
    for what ComfyUI does around it and how to sample the result back."""
    import comfy.samplers

    _check_options(method, refine)
    return comfy.samplers.KSAMPLER(_inversion_function(method, refine))


def _model_sampling(model) -> Any:
    return model.get_model_object("model_sampling")  # honours object patches (ModelSamplingSD3, shift nodes)


def _max_denoise(model_sampling: Any, sigma: float) -> bool:
    """``comfy.samplers.Sampler.max_denoise`` for the sampling run that will start at ``sigma``."""
    sigma_max = float(model_sampling.sigma_max)
    return math.isclose(sigma_max, sigma, rel_tol=1e-05) or sigma > sigma_max


def _latent_weight(model_sampling: Any, sigma: float) -> float:
    """How much of the LATENT ``noise_scaling`` keeps at ``sigma`` (1 − σ for CONST, 1 for EPS)."""
    one = torch.ones(1, dtype=torch.float64)
    return float(model_sampling.noise_scaling(torch.tensor(sigma, dtype=torch.float64), one * 0, one,
                                              _max_denoise(model_sampling, sigma)))


def _noise_gain(model_sampling: Any, sigma: float) -> float:
    """How ``noise_scaling`` scales the NOISE at ``sigma`` over a zero latent (σ; √(1 + σ²) for EPS at max)."""
    one = torch.ones(1, dtype=torch.float64)
    return float(model_sampling.noise_scaling(torch.tensor(sigma, dtype=torch.float64), one, one * 0,
                                              _max_denoise(model_sampling, sigma)))


def _run_inversion(model, positive: list, negative: list, latent: torch.Tensor, sigmas: torch.Tensor, cfg: float,
                   method: str, refine: int, seed: int, progress: Progress | None,
                   record: list[torch.Tensor] | None) -> torch.Tensor:
    import comfy.sample
    import comfy.samplers

    _check_options(method, refine)
    _check_descending(sigmas)
    callback = None
    if progress is not None:
        def callback(step: int, x0: torch.Tensor, x: torch.Tensor, total: int) -> None:
            progress(step + 1, total)
    sampler = comfy.samplers.KSAMPLER(_inversion_function(method, refine, record))
    noise = torch.zeros_like(latent)  # the clean latent itself is the state at σ = 0
    return comfy.sample.sample_custom(model, noise, float(cfg), sampler, sigmas.flip(0), positive, negative, latent,
                                      callback=callback, disable_pbar=True, seed=seed)


def invert_latent(model, positive: list, negative: list, latent: torch.Tensor, sigmas: torch.Tensor, cfg: float,
                  method: str = "euler", refine: int = 2, seed: int = 0,
                  progress: Progress | None = None) -> torch.Tensor:
    """Invert a raw VAE latent (``LATENT["samples"]``) with ``model``'s CFG denoiser over the descending sampling
    schedule ``sigmas`` (``σ_start … 0``). Returns the LATENT samples from which ComfyUI's ``euler`` sampling over
    ``sigmas`` with zero noise (DisableNoise) and the same model, conditioning and ``cfg`` reconstructs
    ``latent``. ``progress(done, total)`` after each inversion step.

    For flow models at ``σ_start = 1`` (denoise 1.0) no LATENT can carry the state (ComfyUI drops the latent
    there); use ``invert_to_noise``.
    """
    model_sampling = _model_sampling(model)
    start = float(sigmas[0])
    if _latent_weight(model_sampling, start) == 0.0:
        raise PoseGenInputError("sigmas", f"start σ = {start:g}, where this model's noise scaling drops the latent "
                                "(flow models at denoise 1.0): no LATENT can hold the inverted state.",
                                "invert_to_noise, sampling its NOISE over an empty latent, or a start below σ = 1")
    return _run_inversion(model, positive, negative, latent, sigmas, cfg, method, refine, seed, progress, None)


def invert_to_noise(model, positive: list, negative: list, latent: torch.Tensor, sigmas: torch.Tensor,
                    cfg: float, method: str = "euler", refine: int = 2, seed: int = 0,
                    progress: Progress | None = None) -> torch.Tensor:
    """``invert_latent``'s inversion handed over as NOISE: ComfyUI sampling over ``sigmas`` from an all-zero
    latent with this noise (and the same model, conditioning and ``cfg``) reconstructs ``latent``. Works for any
    ``σ_start`` including 1 (where the inverted state is pure noise) — the form PoseGen's sampling already uses.
    """
    record: list[torch.Tensor] = []
    # the returned LATENT is discarded: at σ_start = 1 its x/(1 − σ) is infinite, the recorded state is not
    _run_inversion(model, positive, negative, latent, sigmas, cfg, method, refine, seed, progress, record)
    gain = _noise_gain(_model_sampling(model), float(sigmas[0]))
    # the noise bypasses process_latent_in/out, so the model-space state is handed over as is
    return (record[-1] / gain).float().cpu()


def replicate_frames(latent: torch.Tensor, frames: int) -> torch.Tensor:
    """PoseCrafter's pseudo reference video: a one-latent-frame latent ``[B, C, 1, h, w]`` copied over ``frames``
    latent frames (one inversion serves every frame, paper §4.3); a latent that already has ``frames`` frames is
    returned unchanged."""
    if latent.dim() != 5:
        raise PoseGenInputError("latent", f"shape {tuple(latent.shape)}.", "a video latent [B, C, T, h, w]")
    if frames < 1:
        raise PoseGenInputError("frames", f"{frames}.", "at least 1 latent frame")
    t = latent.shape[2]
    if t == frames:
        return latent
    if t != 1:
        raise PoseGenInputError("latent", f"{t} latent frames.", f"1 (a single reference frame) or {frames}")
    return latent.repeat(1, 1, frames, 1, 1)


def sampling_sigmas(steps: int, shift: float, start_sigma_fraction: float) -> torch.Tensor:
    """The descending schedule shared by inversion and sampling: ``flow_match_sigmas(steps, shift, denoise)``
    with ``denoise = start_sigma_fraction`` (the unshifted start; σ_start = shift·f / (1 + (shift − 1)·f))."""
    return flow_match_sigmas(steps, shift, start_sigma_fraction)
