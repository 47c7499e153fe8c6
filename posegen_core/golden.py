"""Fidelity check against a golden folder made by PoseGen's public code on tiny random weights.

``python -m posegen_core.golden FOLDER`` rebuilds the model through LoadPoseGenModel's code path from the
folder's PoseGen-layout files (base weights + LoRA written as a ``pipe.dit.`` shard folder), runs every case
the folder holds that this version implements, and prints per-case max-abs and relative errors with PASS/FAIL.
Sizes, seeds, steps, CFG and tolerances all come from the folder (``config.json``, ``model_config.json``,
``README.md``); nothing about the tiny model is assumed.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file

from .comfy_env import ensure_comfy_importable

DEFAULT_TOLERANCES = {"forward": 1e-5, "sampling": 1e-4, "exact": 0.0}


@dataclass
class CaseResult:
    name: str
    kind: str  # "forward" | "sampling" | "exact"
    tolerance: float
    max_abs: float | None = None
    relative: float | None = None
    not_run_reason: str | None = None

    @property
    def ran(self) -> bool:
        return self.not_run_reason is None

    @property
    def passed(self) -> bool:
        return self.ran and self.max_abs is not None and self.max_abs <= self.tolerance

    def line(self) -> str:
        if not self.ran:
            return f"NOT RUN  {self.name:<42} ({self.not_run_reason})"
        verdict = "PASS" if self.passed else "FAIL"
        return (f"{verdict:<8} {self.name:<42} max_abs={self.max_abs:.3e} rel={self.relative:.3e} "
                f"tol={self.tolerance:.0e}")


def compare(name: str, kind: str, tolerance: float, got: torch.Tensor, want: torch.Tensor) -> CaseResult:
    if got.shape != want.shape:
        raise AssertionError(f"{name}: shape {tuple(got.shape)} != reference {tuple(want.shape)}")
    diff = (got.double() - want.double()).abs().max().item()
    scale = want.double().abs().max().item()
    return CaseResult(name, kind, tolerance, max_abs=diff, relative=diff / scale if scale else diff)


def tolerances_from_readme(readme: Path) -> dict[str, float]:
    """The "Suggested tolerances" bullets (``Single forwards: atol 1e-5``...), defaults where absent."""
    tolerances = dict(DEFAULT_TOLERANCES)
    if not readme.is_file():
        return tolerances
    text = readme.read_text(encoding="utf-8")
    for kind, pattern in (("forward", r"single forwards?:\s*atol\s*([0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?)"),
                          ("sampling", r"full sampling:\s*atol\s*([0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?)")):
        match = re.search(pattern, text, flags=re.IGNORECASE)
        if match:
            tolerances[kind] = float(match.group(1))
    return tolerances


class GoldenFolder:
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.config = json.loads((self.folder / "config.json").read_text(encoding="utf-8"))
        self.model_config = json.loads((self.folder / "model_config.json").read_text(encoding="utf-8"))
        self.tolerances = tolerances_from_readme(self.folder / "README.md")
        self._files: dict[str, dict[str, torch.Tensor]] = {}

    def tensors(self, file: str) -> dict[str, torch.Tensor]:
        if file not in self._files:
            path = self.folder / file
            self._files[file] = load_file(str(path)) if path.is_file() else {}
        return self._files[file]

    def ondisk_checkpoint(self) -> dict[str, torch.Tensor]:
        """PoseGen's on-disk dictionary, rebuilt from the folder's own key map."""
        out = {}
        for ondisk_key, where in self.config["posegen_ondisk_checkpoint_keys"].items():
            file, _, key = where.partition(":")
            out[ondisk_key] = self.tensors(file)[key]
        return out

    def write_checkpoint_folder(self, parent: Path) -> Path:
        from .checkpoint_writer import write_posegen_folder

        folder = parent / f"{self.config.get('name', 'golden')}-base"
        write_posegen_folder(folder, self.ondisk_checkpoint(), self.model_config, num_shards=2, fmt="bin")
        return folder


# Single forwards of PoseGen's plain path: output key -> (noisy latent, y, hand latent or None)
PLAIN_FORWARDS = {
    "out_plain": ("x_anchor", "cond_latents_anchor", "hand_latents_anchor"),
    "out_plain_condmode": ("x_anchor", "cond_latents_condmode", "hand_latents_anchor"),
    "out_plain_nohand": ("x_anchor", "cond_latents_anchor", None),
    "out_base_plain": ("x_base", "cond_latents_base", "hand_latents_base"),
}
KV_SHARE_FORWARDS = ("out_anchor", "out_base_kvshare_masked", "out_base_kvshare_nomask")
# Sampling runs without KV sharing; the anchor run only records K/V, which leaves its outputs unchanged.
PLAIN_SAMPLINGS = {
    "anch": ("pose_latent_anchor", "hand_latents_anchor"),
    "base_nokv": ("pose_latent_base", "hand_latents_base"),
}
KV_SHARE_SAMPLINGS = ("base",)


def sampler_transformer_options(patcher) -> dict:
    """``transformer_options`` as a ComfyUI sampler hands them to the model (patcher wrappers merged in)."""
    import comfy.model_patcher
    import comfy.sampler_helpers

    options = comfy.model_patcher.create_model_options_clone(patcher.model_options)
    comfy.sampler_helpers.prepare_model_patcher(patcher, {}, options)
    return options["transformer_options"]


def run_forward(patcher, inputs: dict[str, torch.Tensor], x_key: str, y_key: str, hand_key: str | None,
                context_key: str = "context_pos") -> torch.Tensor:
    """One DiT call through ComfyUI's diffusion model (the installed PoseGen forward), like a sampler step."""
    import comfy.model_management

    comfy.model_management.load_models_gpu([patcher])
    model = patcher.model
    device = patcher.load_device
    dtype = model.get_dtype()

    def prep(t: torch.Tensor) -> torch.Tensor:
        return t.to(device=device, dtype=dtype)

    xc = torch.cat([prep(inputs[x_key]), prep(inputs[y_key])], dim=1)
    kwargs = {"reference_latent": prep(inputs["ref_latents"])}
    if hand_key is not None:
        kwargs["posegen_hand_latent"] = prep(inputs[hand_key])
    with torch.no_grad():
        out = model.diffusion_model(
            xc, inputs["timestep"].to(device=device, dtype=torch.float32), context=prep(inputs[context_key]),
            clip_fea=prep(inputs["clip_feature"]), transformer_options=sampler_transformer_options(patcher),
            **kwargs)
    return out.float().cpu()


def run_sampling(patcher, golden: GoldenFolder, pose_key: str, hand_key: str) -> tuple[torch.Tensor, torch.Tensor]:
    """PoseGen's sampler settings through ComfyUI's own sampling (CFG guider + Euler), from raw latents as the
    conditioning node would hand them over. Returns (noise, final latent in the model's normalised space)."""
    import comfy.clip_vision
    import comfy.sample
    import comfy.samplers

    from .conditioning import posegen_conditioning_values

    inputs = golden.tensors("inputs.safetensors")
    sampling = golden.tensors("sampling.safetensors")
    settings = golden.config["sampling"]
    latent_format = patcher.model.latent_format

    def raw(key: str) -> torch.Tensor:  # what VAE.encode returns; the model normalises it again
        return latent_format.process_out(inputs[key])

    clip_output = comfy.clip_vision.Output()
    clip_output["penultimate_hidden_states"] = inputs["clip_feature"]  # the stored CLIP features
    values = posegen_conditioning_values(
        pose_latent=raw(pose_key), given_mask=torch.zeros(4, inputs[pose_key].shape[2]),
        reference_latent=raw("ref_latents"), hand_latent=raw(hand_key), clip_vision_output=clip_output)
    positive = [[inputs["context_pos"], dict(values)]]
    negative = [[inputs["context_neg"], dict(values)]]
    empty = torch.zeros_like(inputs[pose_key])
    noise = comfy.sample.prepare_noise(empty, int(settings["seed"]))
    sigmas = torch.cat([sampling["sigmas"].float(), torch.zeros(1)])
    sampler = comfy.samplers.ksampler("euler")
    samples = comfy.sample.sample_custom(patcher, noise, float(settings["cfg_scale"]), sampler, sigmas, positive,
                                         negative, empty, disable_pbar=True, seed=int(settings["seed"]))
    return noise, latent_format.process_in(samples.float().cpu())


def run_golden(folder: Path, log: Callable[[str], None] = print) -> list[CaseResult]:
    ensure_comfy_importable()
    from .checkpoint import load_checkpoint
    from .comfy_model import build_model_patcher
    from .schedule import flow_match_sigmas

    golden = GoldenFolder(folder)
    tol = golden.tolerances
    results: list[CaseResult] = []
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory(prefix="posegen-golden-") as tmp:
        ckpt_folder = golden.write_checkpoint_folder(Path(tmp))
        checkpoint = load_checkpoint(ckpt_folder)
        patcher = build_model_patcher(checkpoint, "base", weight_dtype=torch.float32)

    def add(result: CaseResult) -> None:
        results.append(result)
        log(result.line())

    merged_ref = golden.tensors("model_with_lora.safetensors")
    model_sd = patcher.model.diffusion_model.state_dict()
    worst = max((model_sd[k].double() - v.double()).abs().max().item() for k, v in merged_ref.items())
    add(CaseResult("lora_merge (model weights)", "exact", tol["exact"], worst,
                              worst / max(v.abs().max().item() for v in merged_ref.values())))

    inputs = golden.tensors("inputs.safetensors")
    outputs = golden.tensors("forward_outputs.safetensors")
    for name, (x_key, y_key, hand_key) in PLAIN_FORWARDS.items():
        if name in outputs:
            got = run_forward(patcher, inputs, x_key, y_key, hand_key)
            add(compare(f"forward {name}", "forward", tol["forward"], got, outputs[name]))
    for name in KV_SHARE_FORWARDS:
        if name in outputs:
            add(CaseResult(f"forward {name}", "forward", tol["forward"],
                                      not_run_reason="KV sharing is not implemented in this version"))

    sampling = golden.tensors("sampling.safetensors")
    if sampling:
        settings = golden.config["sampling"]
        ours = flow_match_sigmas(int(settings["num_inference_steps"]), float(settings["sigma_shift"]))[:-1]
        add(compare("schedule sigmas (PoseGenScheduler)", "exact", tol["exact"], ours,
                               sampling["sigmas"].float()))
        noise_checked = False
        for run, (pose_key, hand_key) in PLAIN_SAMPLINGS.items():
            if f"{run}/final_latents" not in sampling:
                continue
            noise, final = run_sampling(patcher, golden, pose_key, hand_key)
            if not noise_checked:
                add(compare(f"sampling noise (seed {settings['seed']})", "exact", tol["exact"], noise,
                                       sampling["noise"]))
                noise_checked = True
            add(compare(f"sampling {run}/final_latents", "sampling", tol["sampling"], final,
                                   sampling[f"{run}/final_latents"]))
        for run in KV_SHARE_SAMPLINGS:
            if f"{run}/final_latents" in sampling:
                add(CaseResult(f"sampling {run}/final_latents", "sampling", tol["sampling"],
                                          not_run_reason="KV sharing is not implemented in this version"))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a golden folder (config.json, model_config.json, *.safetensors)")
    parser.add_argument("--strict", action="store_true", help="also fail when a case is not run")
    args = parser.parse_args(argv)
    results = run_golden(args.folder)
    ran = [r for r in results if r.ran]
    failed = [r for r in ran if not r.passed]
    skipped = [r for r in results if not r.ran]
    print(f"{len(ran) - len(failed)}/{len(ran)} run cases passed; {len(skipped)} not run")
    return 1 if failed or not ran or (args.strict and skipped) else 0


if __name__ == "__main__":
    sys.exit(main())
