"""What the experimental camera term of decoupled guidance changes, on the tiny PoseAnything model.

In process: the tiny PTCM-free PoseAnything DiT, a random full-size Wan 2.2 VAE (ComfyUI fixes its size), the drawn
animal's mask video turned into skeletons, PoseAnything Conditioning, then the PoseAnything Guider with the static
first-frame negative and each camera motion/amount, Euler, fixed seed. For every run it reports, per latent frame,
the mean |Δ| against the run without camera motion — of the negative branch's pose latent (what the camera term
feeds the model) and of the final latent (what reaches the video) — plus the same for cfg 1 (the negative branch is
never evaluated, so the camera term must change nothing). Random weights make noise, so this measures how much and
where the term acts, not whether the camera visibly moves.

    python -m bench.camera_term [--frames 17 --steps 6 --cfg 3 --amounts 0.1 0.25 0.5]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from bench import comfy_for_benchmarks

MOTIONS = ("pan_left", "zoom_in", "rotate_cw")


def per_frame_mean_abs(a: torch.Tensor, b: torch.Tensor) -> list[float]:
    return [round(float(v), 5) for v in (a - b).detach().abs().mean(dim=(0, 1, 3, 4))]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=17)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--cfg", type=float, default=3.0)
    parser.add_argument("--amounts", type=float, nargs="+", default=[0.1, 0.25, 0.5])
    parser.add_argument("--size", type=int, nargs=2, default=[96, 64], metavar=("W", "H"))
    args = parser.parse_args(argv)

    comfy_for_benchmarks()
    import comfy.samplers
    import comfy.sd
    import comfy.utils
    import numpy as np

    from devtools.animal_inputs import animal_mask, first_frame
    from devtools.tiny_models import write_tiny_poseanything, write_wan22_vae
    from posegen_core.poseanything.comfy_model import load_model
    from posegen_core.poseanything.conditioning import build_inputs
    from posegen_core.poseanything.guidance import make_guider
    from posegen_core.poseanything.negative import decoupled_negative
    from posegen_core.poseanything.skeleton_from_mask import skeleton_frames_from_masks
    from posegen_core.wan.schedule import flow_match_sigmas

    width, height = args.size
    with tempfile.TemporaryDirectory(prefix="camera-term-") as tmp:
        models = Path(tmp)
        model = load_model(write_tiny_poseanything(models)["poseanything_plain"])
        vae = comfy.sd.VAE(sd=comfy.utils.load_torch_file(str(write_wan22_vae(models))))
    masks = np.stack([animal_mask(2 * np.pi * i / args.frames, width, height) / 255.0 for i in range(args.frames)])
    skeletons = torch.from_numpy(skeleton_frames_from_masks(masks.astype(np.float32)).frames)
    first = torch.from_numpy(np.asarray(first_frame(width, height), dtype=np.float32) / 255.0)[None]
    context = torch.randn(1, 16, model.model.diffusion_model.text_embedding[0].weight.shape[1],
                          generator=torch.Generator().manual_seed(1))
    built = build_inputs(vae, first, skeletons, "auto", args.frames, max(width, height))
    positive = [[context, dict(built.positive_values)]]
    negative = [[context * 0.5, dict(built.positive_values)]]
    sigmas = flow_match_sigmas(args.steps)
    latent = built.latent["samples"]
    noise = torch.randn(latent.shape, generator=torch.Generator().manual_seed(123))

    def run(neg: list, cfg: float) -> torch.Tensor:
        guider = make_guider(model, positive, neg, cfg)
        return guider.sample(noise, latent, comfy.samplers.ksampler("euler"), sigmas,
                             denoise_mask=built.latent["noise_mask"], disable_pbar=True, seed=0)

    started = time.perf_counter()
    static_neg = decoupled_negative(negative, "static first frame")
    base = {cfg: run(static_neg, cfg) for cfg in (1.0, args.cfg)}
    static_pose = static_neg[0][1]["concat_latent_image"]
    rows = []
    for motion in MOTIONS:
        for amount in args.amounts:
            neg = decoupled_negative(negative, "static first frame", motion, amount)
            pose = neg[0][1]["concat_latent_image"]
            rows.append({
                "motion": motion, "amount": amount,
                "negative_pose_latent_delta": per_frame_mean_abs(pose, static_pose),
                "final_delta_cfg": per_frame_mean_abs(run(neg, args.cfg), base[args.cfg]),
                "final_delta_cfg1": per_frame_mean_abs(run(neg, 1.0), base[1.0]),
            })
    reference = {"static_vs_same_negative_final_delta_cfg": per_frame_mean_abs(
        base[args.cfg], run(negative, args.cfg)), "final_mean_abs": round(float(base[args.cfg].abs().mean()), 5)}
    print(f"{'motion':<10} {'amount':>6}  negative pose latent |Δ| per latent frame  ->  final |Δ| (cfg {args.cfg})"
          f"  | cfg 1")
    for row in rows:
        print(f"{row['motion']:<10} {row['amount']:>6}  {row['negative_pose_latent_delta']}  ->  "
              f"{row['final_delta_cfg']}  | max {max(row['final_delta_cfg1']):.1e}")
    result = {"settings": vars(args), "reference": reference, "rows": rows,
              "seconds": round(time.perf_counter() - started, 1)}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
