"""How exactly PoseCrafter's inversion round-trips through ComfyUI: error vs steps and refinement.

On the tiny PoseGen model (random weights, in process, 1 latent frame, PoseGen conditioning), a random clean
latent is inverted to σ_start and sampled back with ComfyUI's ``euler`` over the same schedule, zero noise and
the same CFG. σ_start = 1 goes through ``invert_to_noise`` (a flow model's latent cannot carry the state there),
lower starts through ``invert_latent``. Errors are measured in the model's (normalised) latent space: max abs,
and relative = max abs / max |clean|. Prints a table and JSON.

    python -m bench.inversion_error [--steps 5 10 25 50 --refine 0 1 3 --sigma-starts 1.0 0.5 --cfg 5.0]
    python -m bench.inversion_error --source workflow --steps 10 25 50 --refine 0 2 4 6 --sigma-starts 1.0
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from bench import comfy_for_benchmarks
from posegen_core.wan.schedule import POSEGEN_CFG, POSEGEN_SHIFT


@dataclass
class TinyCase:
    patcher: Any
    positive: list
    negative: list
    clean: torch.Tensor  # raw LATENT samples [1, 16, 1, h, w]


def tiny_case(layers: int = 2, height: int = 6, width: int = 4, seed: int = 0) -> TinyCase:
    """The tiny PoseGen MODEL built in memory, PoseGen conditioning for one latent frame, a clean latent."""
    comfy_for_benchmarks()
    import comfy.clip_vision

    from devtools.tiny_models import random_like_trained, tiny_config
    from posegen_core.posegen.checkpoint import PoseGenCheckpoint
    from posegen_core.posegen.comfy_model import PoseGenWan21Config, build_model_patcher
    from posegen_core.posegen.conditioning import posegen_conditioning_values

    config = tiny_config(num_layers=layers)
    model_config = PoseGenWan21Config(config)
    model_config.set_inference_dtype(torch.float32, None)
    shapes = {k: v.shape for k, v in model_config.get_model({}).diffusion_model.state_dict().items()}
    weights = random_like_trained(shapes, torch.Generator().manual_seed(seed), config.dim)
    patcher = build_model_patcher(PoseGenCheckpoint(config, weights, "base", source=Path("bench")), "base",
                                  torch.float32)
    latent_format = patcher.model.latent_format
    g = torch.Generator().manual_seed(seed + 1)
    shape = (1, 16, 1, height, width)

    def raw_latent() -> torch.Tensor:  # unit-scale in model space, as VAE.encode would hand it over
        return latent_format.process_out(torch.randn(shape, generator=g))

    clip = comfy.clip_vision.Output()
    clip["penultimate_hidden_states"] = torch.randn(1, 257, 1280, generator=g)
    values = posegen_conditioning_values(raw_latent(), torch.zeros(4, 1), raw_latent(), raw_latent(), clip)
    positive = [[torch.randn(1, 8, config.text_dim, generator=g), dict(values)]]
    negative = [[torch.randn(1, 8, config.text_dim, generator=g), dict(values)]]
    return TinyCase(patcher, positive, negative, raw_latent())


def workflow_case(size: int = 64) -> TinyCase:
    """What the example workflow inverts: the tiny PoseGen checkpoint and tiny Wan VAE the tests write, the
    astronaut photo as the reference, a rendered skeleton as its pose, random stand-in text and CLIP features.
    VAE-encoded conditioning makes the tiny model's velocity field rougher than ``tiny_case``'s random latents."""
    import tempfile

    comfy_for_benchmarks()
    import comfy.clip_vision
    import comfy.sd
    import comfy.utils
    import numpy as np
    from skimage import data

    from devtools.demo_inputs import render_skeleton, skeleton
    from devtools.tiny_models import make_tiny_posegen, write_tiny_posegen, write_tiny_vae
    from posegen_core.posegen.comfy_model import load_model
    from posegen_core.posegen.conditioning import build_segment_conditioning

    with tempfile.TemporaryDirectory(prefix="posegen_bench_") as tmp:
        tiny = make_tiny_posegen()
        base, _ = write_tiny_posegen(Path(tmp), tiny)
        patcher = load_model(base, "auto", torch.float32)
        vae = comfy.sd.VAE(sd=comfy.utils.load_torch_file(str(write_tiny_vae(Path(tmp)))))
    reference = torch.from_numpy(data.astronaut()).float().div(255)[None]
    pose = torch.from_numpy(np.array(render_skeleton(skeleton(0.0, 512, 512), 512, 512))).float().div(255)[None]
    g = torch.Generator().manual_seed(0)
    clip = comfy.clip_vision.Output()
    clip["penultimate_hidden_states"] = torch.randn(1, 257, 1280, generator=g)
    values, _ = build_segment_conditioning(vae, reference, pose, None, clip, size, size, 1)
    text_dim = tiny.config.text_dim
    positive = [[torch.randn(1, 32, text_dim, generator=g), dict(values)]]
    negative = [[torch.randn(1, 32, text_dim, generator=g), dict(values)]]
    return TinyCase(patcher, positive, negative, values["reference_latents"][0])


def start_fraction(sigma_start: float, shift: float = POSEGEN_SHIFT) -> float:
    """The ``denoise`` fraction whose shifted schedule starts at ``sigma_start`` (inverse of σ = s·f/(1+(s−1)f))."""
    return sigma_start / (shift - (shift - 1) * sigma_start)


def round_trip(case: TinyCase, sigma_start: float, steps: int, refine: int, cfg: float,
               shift: float = POSEGEN_SHIFT, method: str = "euler") -> dict[str, float]:
    """Invert ``case.clean`` to ``sigma_start`` over ``steps`` steps of PoseGen's schedule and sample back."""
    import comfy.sample
    import comfy.samplers

    from posegen_core.posecrafter.inversion import invert_latent, invert_to_noise, sampling_sigmas

    sigmas = sampling_sigmas(steps, shift, start_fraction(sigma_start, shift))
    args = (case.patcher, case.positive, case.negative, case.clean, sigmas, cfg)
    started = time.perf_counter()
    if float(sigmas[0]) >= 1.0:
        noise, latent = invert_to_noise(*args, method=method, refine=refine), torch.zeros_like(case.clean)
    else:
        latent = invert_latent(*args, method=method, refine=refine)
        noise = torch.zeros_like(latent)
    inverted_s = time.perf_counter() - started
    # euler: a guess + refinements per step; heun: 2 per step, its last (Euler) step like euler
    evaluations = steps * (1 + refine) if method == "euler" else 2 * (steps - 1) + 1 + refine
    out = comfy.sample.sample_custom(case.patcher, noise, cfg, comfy.samplers.ksampler(method), sigmas,
                                     case.positive, case.negative, latent, disable_pbar=True, seed=0)
    latent_format = case.patcher.model.latent_format
    clean = latent_format.process_in(case.clean)
    error = (latent_format.process_in(out.float().cpu()) - clean).abs().max().item()
    return {"sigma_start": float(sigmas[0]), "denoise": start_fraction(sigma_start, shift), "steps": steps,
            "refine": refine, "model_evaluations": evaluations, "max_abs": error,
            "relative": error / clean.abs().max().item(), "inversion_seconds": inverted_s}


def main(argv: list[str] | None = None) -> list[dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[5, 10, 25, 50])
    parser.add_argument("--refine", type=int, nargs="+", default=[0, 1, 3])
    parser.add_argument("--sigma-starts", type=float, nargs="+", default=[1.0, 0.5],
                        help="σ_start values (the denoise fraction is derived through the shift)")
    parser.add_argument("--cfg", type=float, nargs="+", default=[1.0, POSEGEN_CFG])
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--source", choices=("random", "workflow"), default="random",
                        help="random: random unit latents as conditioning; workflow: the tiny models, VAE-encoded "
                        "reference photo and pose the example workflow's test inverts")
    parser.add_argument("--json", action="store_true", help="also print the rows as JSON")
    args = parser.parse_args(argv)

    case = tiny_case(layers=args.layers) if args.source == "random" else workflow_case()
    rows = []
    print(f"shift {POSEGEN_SHIFT:g}, tiny PoseGen ({args.source} conditioning), 1 latent frame "
          f"{tuple(case.clean.shape)}; "
          "error of invert -> ComfyUI euler in the model's latent space; evals = model calls of the inversion "
          "(x2 passes when cfg != 1)")
    print(f"{'cfg':>4} {'σ_start':>8} {'denoise':>7} {'steps':>5} {'refine':>6} {'evals':>5} {'max abs':>10} "
          f"{'relative':>10} {'invert s':>8}")
    for cfg in args.cfg:
        for start in args.sigma_starts:
            for steps in args.steps:
                for refine in args.refine:
                    row = {"cfg": cfg, **round_trip(case, start, steps, refine, cfg)}
                    rows.append(row)
                    print(f"{cfg:4g} {row['sigma_start']:8.3f} {row['denoise']:7.3f} {steps:5d} {refine:6d} "
                          f"{row['model_evaluations']:5d} {row['max_abs']:10.2e} {row['relative']:10.2e} "
                          f"{row['inversion_seconds']:8.2f}", flush=True)
    if args.json:
        print(json.dumps(rows, indent=2))
    return rows


if __name__ == "__main__":
    main()
