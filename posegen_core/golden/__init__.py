"""Fidelity check against a golden folder made by PoseGen's public code on tiny random weights.

``python -m posegen_core.golden [FOLDER ...]`` reads PoseGen folders (below) and PoseAnything folders
(``poseanything_cases``); with no folder it checks the sets kept in the repository (``tests/data/golden``).
For PoseGen it rebuilds the model through LoadPoseGenModel's code path from the folder's PoseGen-layout files
(base weights + LoRA written as a ``pipe.dit.`` shard folder), checks the LoRA merge against PoseGen's merge rule,
runs every case the folder holds — plain forwards, anchor K/V recording, KV-shared forwards with and without
masks, the masks themselves, and sampling with and without KV sharing — and prints per-case max-abs and relative
errors with PASS/FAIL, in ``native`` numerics (float32 RoPE tables, the pack's default) or, with
``--numerics reference``, PoseGen's float64 RoPE. Sizes, seeds, steps, CFG, KV-share steps/blocks and tolerances
all come from the folder (``config.json``, ``model_config.json``, ``README.md``); nothing about the tiny model is
assumed.

ComfyUI: may import. Imports every other core package (it checks them all).
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch

from ..comfy_env import ensure_comfy_importable
from .folder import CaseResult, GoldenFolder, compare, tolerances_from_readme
from .model_calls import run_forward, run_sampling, sampler_transformer_options
from .poseanything_cases import is_poseanything_folder, run_poseanything_golden

__all__ = ["CaseResult", "GoldenFolder", "compare", "main", "run_forward", "run_golden", "run_sampling",
           "sampler_transformer_options", "tolerances_from_readme"]

# Single forwards of PoseGen's plain path: output key -> (noisy latent, y, hand latent or None)
PLAIN_FORWARDS = {
    "out_plain": ("x_anchor", "cond_latents_anchor", "hand_latents_anchor"),
    "out_plain_condmode": ("x_anchor", "cond_latents_condmode", "hand_latents_anchor"),
    "out_plain_nohand": ("x_anchor", "cond_latents_anchor", None),
    "out_base_plain": ("x_base", "cond_latents_base", "hand_latents_base"),
}
ANCHOR_INPUTS = ("x_anchor", "cond_latents_anchor", "hand_latents_anchor")
BASE_INPUTS = ("x_base", "cond_latents_base", "hand_latents_base")
KV_FORWARDS = {"out_base_kvshare_masked": "attention", "out_base_kvshare_nomask": "none"}
# Sampling runs: name -> (pose latent, hand latent)
SAMPLINGS = {"anch": ("pose_latent_anchor", "hand_latents_anchor"), "base": ("pose_latent_base", "hand_latents_base"),
             "base_nokv": ("pose_latent_base", "hand_latents_base")}

# The golden sets kept in the repository, checked when no folder is given
REPO_SETS = Path(__file__).resolve().parents[2] / "tests" / "data" / "golden"
DEFAULT_SETS = ("posegen_tiny_v1", "poseanything_tiny_v1")

Add = Callable[[CaseResult], None]


def _exact_masks(add: Add, label: str, inspect: dict[str, torch.Tensor], want: dict[str, torch.Tensor]) -> None:
    """Our token masks against PoseGen's, bit for bit (``want``: our inspect key -> golden tensor)."""
    for key, reference in want.items():
        got = inspect[key].to(torch.uint8).flatten()
        add(compare(f"mask {label} {key}", "exact", 0.0, got.float(), reference.flatten().float()))


def _forward_cases(patcher, golden: GoldenFolder, add: Add) -> None:
    from ..longvideo.kvshare import AnchorRecord, KVShareContext

    tol = golden.tolerances
    inputs = golden.tensors("inputs.safetensors")
    outputs = golden.tensors("forward_outputs.safetensors")
    for name, (x_key, y_key, hand_key) in PLAIN_FORWARDS.items():
        if name in outputs:
            add(compare(f"forward {name}", "forward", tol["forward"],
                        run_forward(patcher, inputs, x_key, y_key, hand_key), outputs[name]))
    if "out_anchor" not in outputs:
        return
    step = int(golden.config["single_forward"]["step_idx"])
    record = AnchorRecord()
    anchor = KVShareContext(golden.kvshare_settings("single_forward"), "record", record)
    add(compare("forward out_anchor (records K/V)", "forward", tol["forward"],
                run_forward(patcher, inputs, *ANCHOR_INPUTS, kvshare=anchor, step=step), outputs["out_anchor"]))
    anchor_kv = golden.tensors("anchor_kv.safetensors")
    for (s, b, p), (k, v) in sorted(record.kv.items()):
        if p == 0:  # the golden holds the positive pass
            add(compare(f"anchor K step{s} block{b} (recorded)", "forward", tol["forward"], k,
                        anchor_kv[f"sa_positive/step{s}_block{b}_k"]))
            add(compare(f"anchor V step{s} block{b} (recorded)", "forward", tol["forward"], v,
                        anchor_kv[f"sa_positive/step{s}_block{b}_v"]))
    masks = golden.tensors("kvshare_masks.safetensors")
    for (s, b), normalised in sorted(record.maps.items()):
        add(compare(f"anchor keyword map step{s} block{b}", "forward", tol["forward"], normalised,
                    masks[f"prev_map_anchor/step{s}_block{b}"][0]))
    for name, mode in KV_FORWARDS.items():
        if name not in outputs:
            continue
        inspect: dict[str, torch.Tensor] = {}
        share = KVShareContext(golden.kvshare_settings("single_forward", mode), "share", record, inspect=inspect)
        add(compare(f"forward {name}", "forward", tol["forward"],
                    run_forward(patcher, inputs, *BASE_INPUTS, kvshare=share, step=step), outputs[name]))
        if mode == "attention":
            blocks = sorted(golden.config["kvshare_kwargs"]["blocks"])
            _exact_masks(add, "forward", inspect, {
                **{f"prev/step{step}_block{b}": masks[f"prev/step{step}_block{b}_anchor_fg_mask_tokens"]
                   for b in blocks},
                **{f"union/step{step}_block{b}": masks[f"union/step{step}_block{b}_fg_mask_tokens"] for b in blocks}})


def _sampling_cases(patcher, golden: GoldenFolder, add: Add) -> None:
    from ..longvideo.kvshare import AnchorRecord, KVShareContext
    from ..wan.schedule import flow_match_sigmas

    tol = golden.tolerances
    sampling = golden.tensors("sampling.safetensors")
    if not sampling:
        return
    settings = golden.config["sampling"]
    ours = flow_match_sigmas(int(settings["num_inference_steps"]), float(settings["sigma_shift"]))[:-1]
    add(compare("schedule sigmas (PoseGenScheduler)", "exact", tol["exact"], ours, sampling["sigmas"].float()))

    noise, final = run_sampling(patcher, golden, *SAMPLINGS["base_nokv"])
    add(compare(f"sampling noise (seed {settings['seed']})", "exact", tol["exact"], noise, sampling["noise"]))
    add(compare("sampling base_nokv/final_latents", "sampling", tol["sampling"], final,
                sampling["base_nokv/final_latents"]))

    record = AnchorRecord()
    kv_settings = golden.kvshare_settings("sampling")
    _, final = run_sampling(patcher, golden, *SAMPLINGS["anch"], KVShareContext(kv_settings, "record", record))
    add(compare("sampling anch/final_latents (records K/V)", "sampling", tol["sampling"], final,
                sampling["anch/final_latents"]))
    for (s, b, p), (k, v) in sorted(record.kv.items()):
        prefix = f"anch_qkv/sa_{'positive' if p == 0 else 'negative'}/step{s}_block{b}"
        add(compare(f"anchor K/V {prefix.split('/', 1)[1]}", "sampling", tol["sampling"], torch.cat([k, v], 1),
                    torch.cat([sampling[f"{prefix}_k"], sampling[f"{prefix}_v"]], 1)))
    inspect: dict[str, torch.Tensor] = {}
    _, final = run_sampling(patcher, golden, *SAMPLINGS["base"],
                            KVShareContext(kv_settings, "share", record, inspect=inspect))
    add(compare("sampling base/final_latents (KV shared)", "sampling", tol["sampling"], final,
                sampling["base/final_latents"]))
    want = {}
    for s in sorted(kv_settings.steps):
        for b in sorted(kv_settings.blocks):
            for ours_name, theirs in (("curr", "curr"), ("prev", "prev_anchor")):
                key = f"base_otsu/step{s}_block{b}_positive_{theirs}_mask"
                if key in sampling:
                    want[f"{ours_name}/step{s}_block{b}"] = sampling[key]
    _exact_masks(add, "sampling", inspect, want)


def run_golden(folder: Path, log: Callable[[str], None] = print, numerics: str = "native") -> list[CaseResult]:
    ensure_comfy_importable()
    from ..posegen.checkpoint import load_checkpoint
    from ..posegen.comfy_model import build_model_patcher
    from ..wan.numerics import set_numerics

    golden = GoldenFolder(folder)
    results: list[CaseResult] = []
    torch.manual_seed(0)
    if is_poseanything_folder(golden):
        def record(result: CaseResult) -> None:
            results.append(result)
            log(result.line())

        with tempfile.TemporaryDirectory(prefix="poseanything-golden-") as tmp:
            run_poseanything_golden(golden, record, Path(tmp), numerics)
        return results
    with tempfile.TemporaryDirectory(prefix="posegen-golden-") as tmp:
        checkpoint = load_checkpoint(golden.write_checkpoint_folder(Path(tmp)))
        patcher = build_model_patcher(checkpoint, "base", weight_dtype=torch.float32)
    set_numerics(patcher, numerics)

    def add(result: CaseResult) -> None:
        results.append(result)
        log(result.line())

    merged_ref = golden.merged_weights()
    model_sd = patcher.model.diffusion_model.state_dict()
    worst = max((model_sd[k].double() - v.double()).abs().max().item() for k, v in merged_ref.items())
    add(CaseResult("lora_merge (model weights)", "exact", golden.tolerances["exact"], worst,
                   worst / max(v.abs().max().item() for v in merged_ref.values())))
    _forward_cases(patcher, golden, add)
    _sampling_cases(patcher, golden, add)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path, metavar="FOLDER",
                        help="a golden folder (config.json, model_config.json, *.safetensors); "
                             f"default: {', '.join(DEFAULT_SETS)} in the repository's tests/data/golden")
    parser.add_argument("--numerics", choices=("native", "reference"), default="native",
                        help="RoPE in float32 like ComfyUI's Wan (native, the default) or float64 like the public code")
    args = parser.parse_args(argv)
    folders = args.folders or [REPO_SETS / name for name in DEFAULT_SETS]
    missing = [str(f) for f in folders if not (f / "config.json").is_file()]
    if missing:
        parser.error(f"not a golden folder (no config.json): {', '.join(missing)}")
    status = 0
    for folder in folders:
        if len(folders) > 1:
            print(f"== {folder.name}")
        results = run_golden(folder, numerics=args.numerics)
        failed = [r for r in results if not r.passed]
        suffix = f" ({folder.name})" if len(folders) > 1 else ""
        print(f"{len(results) - len(failed)}/{len(results)} cases passed{suffix}")
        if failed or not results:
            status = 1
    return status
