"""The PoseAnything golden format (``poseanything_tiny_v1``): every case its README lists, through our code paths.

The model is rebuilt by LoadPoseAnythingModel's loader from the folder's weights written as the released shard
layout; forwards and the capture go through ComfyUI's diffusion model with our installed forward; the sampling runs
go through ComfyUI's sampling with :class:`~posegen_core.poseanything.guidance.PoseAnythingGuider` (Euler, the
first-frame latent held by a noise mask as Wan22ImageToVideoLatent sets it); the union masks come from our part
matching; the segmentation from our part segmentation on the folder's PNGs.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from .folder import CaseResult, GoldenFolder, compare

Add = Callable[[CaseResult], None]
NUMBER = r"([0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?)"
TOLERANCE_PATTERNS = {
    "forward": rf"single forwards[^:\n]*:\s*atol\s*{NUMBER}",
    "capture": rf"attention probabilities[^:\n]*:\s*atol\s*{NUMBER}",
    "sampling": rf"per-step predictions[^:\n]*:\s*atol\s*{NUMBER}",
}
FORWARDS = {"out_plain": None, "out_ptcm_prepass_masks": ("prepass/first_masks", "prepass/union_mask"),
            "out_ptcm_random_masks": ("forward_random_first_masks", "forward_random_union_mask")}
SHARDS = 2


def is_poseanything_folder(golden: GoldenFolder) -> bool:
    return "ptc_enabled" in golden.model_config or "poseanything_repo" in golden.config


def tolerances(golden: GoldenFolder) -> dict[str, float]:
    text = (golden.folder / "README.md").read_text(encoding="utf-8")
    out = {"exact": 0.0}
    for kind, pattern in TOLERANCE_PATTERNS.items():
        match = re.search(pattern, text, flags=re.IGNORECASE)
        if match is None:
            raise ValueError(f"{golden.folder / 'README.md'} states no '{kind}' tolerance")
        out[kind] = float(match.group(1))
    return out


def write_shard_folder(golden: GoldenFolder, parent: Path) -> Path:
    """The folder's weights in the released layout: ``diffusion_pytorch_model-*.safetensors`` + model_config.json."""
    folder = parent / f"{golden.config.get('name', 'poseanything')}-shards"
    folder.mkdir(parents=True)
    weights = load_file(str(golden.folder / "model.safetensors"))
    keys = sorted(weights)
    size = -(-len(keys) // SHARDS)
    for i in range(SHARDS):
        part = {k: weights[k] for k in keys[i * size:(i + 1) * size]}
        save_file(part, str(folder / f"diffusion_pytorch_model-{i + 1:05d}-of-{SHARDS:05d}.safetensors"))
    shutil.copy(golden.folder / "model_config.json", folder / "model_config.json")
    return folder


class Recorder:
    """DIFFUSION_MODEL wrapper keeping every model output with its step index and branch (0 = positive)."""

    def __init__(self) -> None:
        self.calls: list[tuple[int | None, int, torch.Tensor]] = []

    def __call__(self, executor, x, timestep, context, clip_fea, time_dim_concat, transformer_options, **kwargs):
        from ..wan.steps import step_index

        out = executor(x, timestep, context, clip_fea, time_dim_concat, transformer_options, **kwargs)
        order = transformer_options.get("cond_or_uncond") or [0]
        step = step_index(transformer_options)
        for i, branch in enumerate(order):
            self.calls.append((step, branch, out[i:i + 1].detach().float().cpu().clone()))
        return out

    def predictions(self, branch: int) -> list[torch.Tensor]:
        return [out for _, b, out in self.calls if b == branch]


def _forward(patcher, inputs: dict[str, torch.Tensor], latents: torch.Tensor, timestep: torch.Tensor,
             options: dict) -> torch.Tensor:
    """One DiT call as a sampler makes it: ``[latent | skeleton latent]``, per-frame timestep with 0 on frame 0."""
    import comfy.model_management

    from .model_calls import sampler_transformer_options

    comfy.model_management.load_models_gpu([patcher])
    x = torch.cat([latents, inputs["skeleton_latents"]], dim=1)
    t = timestep.float().reshape(1, 1).repeat(1, x.shape[2])
    t[:, 0] = 0.0
    transformer_options = sampler_transformer_options(patcher)
    transformer_options.update(options)
    with torch.no_grad():
        return patcher.model.diffusion_model(x, t, context=inputs["context_positive"],
                                             transformer_options=transformer_options).float().cpu()


def forward_cases(patcher, golden: GoldenFolder, tol: dict[str, float], add: Add) -> None:
    from ..poseanything.ptcm import CAPTURE_KEY, PTCM_KEY, AttentionCapture, CaptureComplete, PTCMContext

    inputs = golden.tensors("inputs.safetensors")
    outputs = golden.tensors("forward_outputs.safetensors")
    prepass = golden.tensors("prepass_ptcm.safetensors")
    tensors = {**inputs, **prepass}
    for name, masks in FORWARDS.items():
        options = {}
        if masks is not None:
            options[PTCM_KEY] = PTCMContext(tensors[masks[0]].bool(), tensors[masks[1]].bool())
        got = _forward(patcher, inputs, inputs["forward_latents"], inputs["forward_timestep"], options)
        add(compare(f"forward {name}", "forward", tol["forward"], got, outputs[name]))
    capture = AttentionCapture(block=int(golden.config.get("ptcm_run", {}).get("capture_block", 27)))
    try:
        _forward(patcher, inputs, prepass["prepass/capture_latents_in"], prepass["prepass/capture_timestep"],
                 {CAPTURE_KEY: capture})
    except CaptureComplete:
        pass
    add(compare("capture attn_probs", "capture", tol["capture"], capture.probs.float().cpu(),
                prepass["prepass/attn_probs"]))


def _posed_parts(golden: GoldenFolder):
    """The folder's DiT-case part masks (token grid) as a VideoParts, row n for condition_index[n]."""
    import numpy as np

    from ..poseanything.guidance import VideoParts

    inputs = golden.tensors("inputs.safetensors")
    frames = [int(f) for f in inputs["condition_index"]]
    stacks = [inputs["binary_masks"][n, :int(c)].numpy().astype(bool)
              for n, c in enumerate(inputs["binary_masks_count"])]
    return VideoParts(posed_frames=frames, masks=[np.asarray(s) for s in stacks])


def union_cases(golden: GoldenFolder, add: Add) -> None:
    from ..poseanything.correspondence import match_parts

    prepass = golden.tensors("prepass_ptcm.safetensors")
    parts = _posed_parts(golden)
    rows, cols = prepass["prepass/union_mask"].shape[-2:]
    first, frame_masks = parts.token_masks(rows, cols)
    frames = prepass["prepass/union_mask"].shape[0] + 1
    add(compare("first_masks", "exact", 0.0, first.float(), prepass["prepass/first_masks"].float()))
    for mode, prefix in (("released", "prepass"), ("fixed", "harness_fixed")):
        result = match_parts(prepass["prepass/attn_head_sum"][0], first, frame_masks, frames, mode=mode)
        add(compare(f"union_mask {mode}", "exact", 0.0, result.union_mask.float(),
                    prepass[f"{prefix}/union_mask"].float()))
        rows_got = torch.tensor([d.row() for d in result.decisions], dtype=torch.float64)
        add(compare(f"match_rows {mode}", "exact", 0.0, rows_got, prepass[f"{prefix}/match_rows"].double()))


def _conditioning(inputs: dict[str, torch.Tensor], latent_format, negative_skeleton: str):
    def raw(key: str) -> torch.Tensor:  # what VAE.encode returns; the model normalises it again
        return latent_format.process_out(inputs[key])

    positive = [[inputs["context_positive"], {"concat_latent_image": raw("skeleton_latents")}]]
    negative = [[inputs["context_negative"], {"concat_latent_image": raw(negative_skeleton)}]]
    return positive, negative


def ptcm_settings(run: dict):
    """The folder's PTCM schedule (capture step and block, active steps) as our settings."""
    from ..poseanything.guidance import PTCMSettings

    active = sorted(int(s) for s in run["ptcm_active_main_steps"])
    if active != list(range(len(active))):
        raise ValueError(f"PTCM active steps {active} are not a prefix of the schedule")
    return PTCMSettings(match_mode="released", active_steps=len(active), capture_step=int(run["capture_step"]),
                        capture_block=int(run["capture_block"]))


def sample(patcher, golden: GoldenFolder, run: str, cfg: float, negative_skeleton: str, parts=None,
           recorder: Recorder | None = None, ptcm=None):
    """One golden run through ComfyUI's sampling; returns (guider, final latent in the model's space)."""
    import comfy.samplers

    from ..poseanything.guidance import make_guider

    inputs = golden.tensors("inputs.safetensors")
    file = "prepass_ptcm.safetensors" if run == "ptcm_run" else "sampling.safetensors"
    sigmas = torch.cat([golden.tensors(file)[f"{run}/sigmas"].float(), torch.zeros(1)])
    latent_format = patcher.model.latent_format
    model = patcher.clone()
    if recorder is not None:
        import comfy.patcher_extension

        model.add_wrapper_with_key(comfy.patcher_extension.WrappersMP.DIFFUSION_MODEL, "golden-recorder", recorder)
    positive, negative = _conditioning(inputs, latent_format, negative_skeleton)
    guider = make_guider(model, positive, negative, cfg, parts=parts, settings=ptcm)
    noise = inputs["noise"]
    latent = torch.zeros_like(noise)
    latent[:, :, :1] = latent_format.process_out(inputs["first_frame_latents"])
    mask = torch.ones(1, 1, *noise.shape[2:])
    mask[:, :, 0] = 0.0
    samples = guider.sample(noise, latent, comfy.samplers.ksampler("euler"), sigmas, denoise_mask=mask,
                            disable_pbar=True, seed=0)
    return guider, latent_format.process_in(samples.float().cpu())


def sampling_cases(patcher, golden: GoldenFolder, tol: dict[str, float], add: Add) -> None:
    runs = golden.config["plain_sampling"]["runs"]
    stored = golden.tensors("sampling.safetensors")
    for run, settings in runs.items():
        negative = "skeleton_latents_static" if settings["pose_cfg"] else "skeleton_latents"
        recorder = Recorder()
        _, final = sample(patcher, golden, run, float(settings["cfg_scale"]), negative, recorder=recorder)
        for branch, name in ((0, "positive"), (1, "negative")):
            for s, pred in enumerate(recorder.predictions(branch)):
                key = f"{run}/step{s}_pred_{name}"
                if key in stored:
                    add(compare(f"sampling {key}", "sampling", tol["sampling"], pred, stored[key]))
        add(compare(f"sampling {run}/final_latents", "sampling", tol["sampling"], final,
                    stored[f"{run}/final_latents"]))


def ptcm_run_cases(patcher, golden: GoldenFolder, tol: dict[str, float], add: Add) -> None:
    stored = golden.tensors("prepass_ptcm.safetensors")
    recorder = Recorder()
    settings = golden.config["ptcm_run"]
    negative = "skeleton_latents_static" if settings["pose_cfg"] else "skeleton_latents"
    guider, final = sample(patcher, golden, "ptcm_run", float(settings["cfg_scale"]), negative,
                           parts=_posed_parts(golden), recorder=recorder, ptcm=ptcm_settings(settings))
    report = guider.last_prepass
    predictions = recorder.predictions(0)
    prepass_steps = report.capture_step
    for s in range(prepass_steps):
        add(compare(f"ptcm prepass/step{s}_pred_positive", "sampling", tol["sampling"], predictions[s],
                    stored[f"prepass/step{s}_pred_positive"]))
    add(compare("ptcm prepass attn_head_sum (captured in the run)", "capture", tol["capture"],
                report.attn_head_sum.float().cpu()[None], stored["prepass/attn_head_sum"]))
    add(compare("ptcm prepass union_mask (from the run's capture)", "exact", 0.0, report.match.union_mask.float(),
                stored["prepass/union_mask"].float()))
    for s, pred in enumerate(predictions[prepass_steps:]):
        add(compare(f"ptcm ptcm_run/step{s}_pred_positive", "sampling", tol["sampling"], pred,
                    stored[f"ptcm_run/step{s}_pred_positive"]))
    add(compare("ptcm ptcm_run/final_latents", "sampling", tol["sampling"], final, stored["ptcm_run/final_latents"]))


def _png(path: Path):
    import numpy as np
    from PIL import Image

    return np.asarray(Image.open(path).convert("RGB"))


def segmentation_cases(golden: GoldenFolder, add: Add) -> None:
    """The released data preparation on the folder's drawings: α, thinning, part canvases, token masks (exact)."""
    import numpy as np

    from ..poseanything import parts

    folder = golden.folder / "segmentation"
    stored = golden.tensors("segmentation.safetensors")
    for fig, spec in golden.config["segmentation"].items():
        first = parts.binarize_skeleton(_png(folder / f"{fig}_skeleton_000.png"))
        subject = parts.subject_mask_from_image(_png(folder / f"{fig}_subject_id.png"), first.shape)
        alpha = parts.dilation_count(first, subject)
        add(compare(f"segmentation {fig} alpha", "exact", 0.0, torch.tensor([float(alpha)]),
                    stored[f"{fig}/alpha"].float()))
        for frame in spec["results"]["frames"]:
            binary = first if frame == "000" else parts.binarize_skeleton(_png(folder / f"{fig}_skeleton_{frame}.png"))
            seg = parts.segment_parts(binary, alpha, subject if frame == "000" else None)
            label = f"segmentation {fig} frame {frame}"
            add(compare(f"{label} thinned pixels", "exact", 0.0, torch.from_numpy(seg.thinned_xy).double(),
                        stored[f"{fig}/frame{frame}/thinned_xy"].double()))
            canvases = np.stack(seg.canvases).astype(np.float64)
            pngs = np.stack([_png(folder / f"{fig}_f{frame}_part{j}.png")[..., 0] for j in range(seg.n_parts)])
            add(compare(f"{label} part canvases", "exact", 0.0, torch.from_numpy(canvases),
                        torch.from_numpy(pngs.astype(np.float64))))
            add(compare(f"{label} token masks", "exact", 0.0, torch.from_numpy(seg.token_masks().astype(np.float64)),
                        stored[f"{fig}/frame{frame}/token_masks"].double()))


def skeleton_video_cases(golden: GoldenFolder, add: Add) -> None:
    """The 81-frame skeleton videos assembled from the posed PNGs, through the folder's stand-in VAE (its formula
    is in the README): the positive and the pose-CFG static video."""
    from ..poseanything.stub_vae import stub_vae_encode
    from ..poseanything.video import assemble_skeleton_video, static_skeleton_video

    inputs = golden.tensors("inputs.safetensors")
    video_cfg = golden.config["video"]
    frames = int(video_cfg.get("num_frames", 81))
    indices = [int(i) for i in inputs["condition_index"]]
    images = torch.stack([torch.from_numpy(_png(golden.folder / "video_inputs" / f"skeleton_{i:03d}.png").copy())
                          for i in indices]).float() / 255.0
    size = (images.shape[2], images.shape[1])
    video = assemble_skeleton_video((images, indices), frames, size)
    a, b = inputs["stub_vae_A"], inputs["stub_vae_b"]
    for name, clip in (("skeleton_latents", video), ("skeleton_latents_static", static_skeleton_video(video, indices))):
        add(compare(f"skeleton video {name} (stand-in VAE)", "forward", 1e-6, stub_vae_encode(clip, a, b),
                    inputs[name]))


def run_poseanything_golden(golden: GoldenFolder, add: Add, workdir: Path, numerics: str = "native") -> None:
    from ..poseanything.comfy_model import load_model
    from ..wan.numerics import set_numerics

    tol = tolerances(golden)
    segmentation_cases(golden, add)
    skeleton_video_cases(golden, add)
    patcher = load_model(write_shard_folder(golden, workdir), weight_dtype=torch.float32)
    set_numerics(patcher, numerics)
    forward_cases(patcher, golden, tol, add)
    union_cases(golden, add)
    sampling_cases(patcher, golden, tol, add)
    ptcm_run_cases(patcher, golden, tol, add)
