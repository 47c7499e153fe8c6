"""Tiny random models of the real architectures, for tests and the demo (no weights can be downloaded here).

- a PoseGen DiT: ComfyUI's Wan2.1-I2V ``WanModel`` plus PoseGen's reference and hand embeddings, written in
  PoseGen's checkpoint layout (``model_config.json`` + ``pipe.dit.`` shards with PEFT-wrapped LoRA tensors),
  in a base and a cond variant that share base weights and differ in their LoRA;
- a Wan 2.1 VAE (ComfyUI's ``WanVAE`` with a small ``dim``), detected by ComfyUI's own VAE loader.

Random weights generate noise, not people. Real weights go to models/posegen (PoseGen checkpoint folders),
models/vae (wan_2.1_vae), models/text_encoders (umt5_xxl) and models/clip_vision (clip_vision_h).

``python -m devtools.tiny_models MODELS_DIR`` writes them into a ComfyUI ``models`` folder.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import save_file

from posegen_core.comfy_env import ensure_comfy_importable
from posegen_core.posegen.config import PoseGenConfig
from posegen_core.posegen.lora_merge import ondisk_state_dict

LORA_TARGETS = ("self_attn.q", "self_attn.k", "self_attn.v", "self_attn.o",
                "cross_attn.q", "cross_attn.k", "cross_attn.v", "cross_attn.o", "ffn.0", "ffn.2")
TINY_VAE_DIM = 8
TINY_TEXT_DIM = 64  # the stand-in text encoder must use the same width


def tiny_config(**overrides) -> PoseGenConfig:
    values = dict(dim=128, in_dim=36, ffn_dim=256, out_dim=16, text_dim=TINY_TEXT_DIM, freq_dim=64, num_heads=2,
                  num_layers=2, eps=1e-6, patch_size=(1, 2, 2), has_image_input=True, has_image_pos_emb=False,
                  shift_ref_pos=False, use_hand=True, use_hand_proj=False)
    values.update(overrides)
    return PoseGenConfig(**values)


def _is_norm_gain(key: str) -> bool:
    return any(part in key for part in ("norm_q.", "norm_k.", "norm_k_img.", "norm3.", "img_emb.proj.0.",
                                        "img_emb.proj.4.", ".gamma"))


def random_like_trained(shapes: dict[str, torch.Size], generator: torch.Generator, dim: int) -> dict[str, torch.Tensor]:
    """Values with a trained model's scale: fan-in scaled weights, norm gains near 1, small biases."""
    out = {}
    for key, shape in shapes.items():
        noise = torch.randn(shape, generator=generator)
        if key.endswith("modulation"):
            out[key] = noise / math.sqrt(dim)
        elif _is_norm_gain(key):
            out[key] = (0.1 * noise) if key.endswith("bias") else (1 + 0.1 * noise)
        elif key.endswith("bias") or len(shape) < 2:
            out[key] = 0.02 * noise
        else:
            out[key] = noise / math.sqrt(math.prod(shape[1:]))
    return out


def posegen_state_shapes(config: PoseGenConfig) -> dict[str, torch.Size]:
    """Parameter shapes of the model LoadPoseGenModel builds for ``config`` (ComfyUI's own classes)."""
    ensure_comfy_importable()
    from posegen_core.posegen.comfy_model import PoseGenWan21Config

    model_config = PoseGenWan21Config(config)
    model_config.set_inference_dtype(torch.float32, None)
    model = model_config.get_model({})
    return {k: v.shape for k, v in model.diffusion_model.state_dict().items()}


def random_lora(base: dict[str, torch.Tensor], rank: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
    lora = {}
    for key, weight in base.items():
        module = key[: -len(".weight")]
        if not key.endswith(".weight") or module.split(".", 2)[-1] not in LORA_TARGETS:
            continue
        out_f, in_f = weight.shape
        lora[f"{module}.lora_A.default.weight"] = torch.randn(rank, in_f, generator=generator) / math.sqrt(in_f)
        lora[f"{module}.lora_B.default.weight"] = torch.randn(out_f, rank, generator=generator) * 0.2 / math.sqrt(rank)
    return lora


@dataclass
class TinyPoseGen:
    config: PoseGenConfig
    base: dict[str, torch.Tensor]
    loras: dict[str, dict[str, torch.Tensor]]  # variant -> LoRA tensors (bare PEFT names)


def make_tiny_posegen(config: PoseGenConfig | None = None, seed: int = 0, rank: int = 4) -> TinyPoseGen:
    config = config or tiny_config()
    generator = torch.Generator().manual_seed(seed)
    base = random_like_trained(posegen_state_shapes(config), generator, config.dim)
    loras = {variant: random_lora(base, rank, generator) for variant in ("base", "cond")}
    return TinyPoseGen(config, base, loras)


def write_tiny_posegen(models_dir: Path, tiny: TinyPoseGen, name: str = "posegen-tiny", fmt: str = "bin") -> list[Path]:
    """``models/posegen/<name>-base`` and ``-cond`` in PoseGen's on-disk layout; existing folders are kept."""
    from posegen_core.posegen.checkpoint_writer import write_posegen_folder
    from posegen_core.posegen.lora_merge import lora_modules

    folders = []
    for variant, lora in tiny.loras.items():
        folder = Path(models_dir) / "posegen" / f"{name}-{variant}"
        if not folder.exists():
            ondisk = ondisk_state_dict(tiny.base, lora_modules(lora), lora)
            write_posegen_folder(folder, ondisk, tiny.config.to_json_dict(), num_shards=2, fmt=fmt)
        folders.append(folder)
    return folders


def tiny_vae_state_dict(dim: int = TINY_VAE_DIM, seed: int = 0) -> dict[str, torch.Tensor]:
    """A Wan 2.1 VAE (ComfyUI's class and key names) with random weights."""
    ensure_comfy_importable()
    import comfy.ldm.wan.vae

    vae = comfy.ldm.wan.vae.WanVAE(dim=dim, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=2, attn_scales=[],
                                   temperal_downsample=[False, True, True], dropout=0.0)
    shapes = {k: v.shape for k, v in vae.state_dict().items()}
    return random_like_trained(shapes, torch.Generator().manual_seed(seed), dim)


def write_tiny_vae(models_dir: Path, name: str = "wan2.1_vae_tiny.safetensors") -> Path:
    path = Path(models_dir) / "vae" / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        save_file(tiny_vae_state_dict(), str(path))
    return path


def tiny_wan_t2v_state_dict(seed: int = 0) -> dict[str, torch.Tensor]:
    """A plain Wan2.1 text-to-video DiT (ComfyUI's class), the model users sometimes pick by mistake."""
    ensure_comfy_importable()
    import comfy.ldm.wan.model
    import comfy.ops

    cfg = tiny_config()
    wan = comfy.ldm.wan.model.WanModel(model_type="t2v", in_dim=16, dim=cfg.dim, ffn_dim=cfg.ffn_dim,
                                       freq_dim=cfg.freq_dim, text_dim=cfg.text_dim, out_dim=16,
                                       num_heads=cfg.num_heads, num_layers=cfg.num_layers,
                                       operations=comfy.ops.disable_weight_init)
    shapes = {k: v.shape for k, v in wan.state_dict().items()}
    return random_like_trained(shapes, torch.Generator().manual_seed(seed), cfg.dim)


def write_broken_checkpoints(models_dir: Path, good_folder: Path) -> dict[str, Path]:
    """Checkpoints users really end up with: a lost shard, a truncated download, a T2V model, a T2V-based
    PoseGen-layout folder. Tests use them to check the errors."""
    import json
    import shutil

    posegen = Path(models_dir) / "posegen"
    out = {}
    for name in ("broken-missing-shard-base", "broken-corrupt-shard-base", "broken-t2v-base"):
        folder = posegen / name
        if not folder.exists():
            shutil.copytree(good_folder, folder)
        out[name] = folder
    last_shard = sorted(out["broken-missing-shard-base"].glob("*.bin"))[-1]
    last_shard.unlink(missing_ok=True)
    corrupt = sorted(out["broken-corrupt-shard-base"].glob("*.bin"))[-1]
    corrupt.write_bytes(corrupt.read_bytes()[: corrupt.stat().st_size // 2])
    config_file = out["broken-t2v-base"] / "model_config.json"
    config_file.write_text(json.dumps(dict(json.loads(config_file.read_text()), in_dim=16, has_image_input=False)))
    t2v_file = posegen / "wan2.1_t2v_tiny.safetensors"
    if not t2v_file.exists():
        save_file(tiny_wan_t2v_state_dict(), str(t2v_file))
    out["wan2.1_t2v_tiny.safetensors"] = t2v_file
    return out


def tiny_poseanything_config(ptc_enabled: bool = True):
    """PoseAnything's layout (96-channel input, 48-channel latent, PTCM) at test size, two 64-wide heads."""
    from posegen_core.poseanything.config import PoseAnythingConfig

    return PoseAnythingConfig(dim=128, in_dim=96, ffn_dim=256, out_dim=48, text_dim=TINY_TEXT_DIM, freq_dim=64,
                              num_heads=2, num_layers=2, ptc_enabled=ptc_enabled)


def tiny_poseanything_state_dict(ptc_enabled: bool = True, seed: int = 0) -> dict[str, torch.Tensor]:
    """ComfyUI's Wan 2.2 ``WanModel`` at tiny size plus PoseAnything's PTCM modules, random weights."""
    ensure_comfy_importable()
    import comfy.ldm.wan.model
    import comfy.ops

    from posegen_core.poseanything.comfy_model import attach_ptcm_modules

    config = tiny_poseanything_config(ptc_enabled)
    wan = comfy.ldm.wan.model.WanModel(**config.comfy_unet_config(), operations=comfy.ops.disable_weight_init)
    if ptc_enabled:
        attach_ptcm_modules(wan, config, None)
    shapes = {k: v.shape for k, v in wan.state_dict().items()}
    return random_like_trained(shapes, torch.Generator().manual_seed(seed), config.dim)


def write_tiny_poseanything(models_dir: Path, name: str = "poseanything-tiny") -> dict[str, Path]:
    """``models/poseanything/<name>/``: the PTCM model as released (two ``diffusion_pytorch_model-*`` shards, plus
    the ``model_config.json`` a 64-wide-head model needs), and ``<name>-plain.safetensors``: the PTCM-free variant as
    one file whose config is in its metadata (what ConvertPoseAnythingCheckpoint writes)."""
    import json

    from posegen_core.poseanything.checkpoint import META_CONFIG, META_FORMAT
    from posegen_core.wan.converted import write_safetensors_atomically

    root = Path(models_dir) / "poseanything"
    folder = root / name
    if not folder.exists():
        folder.mkdir(parents=True)
        weights = tiny_poseanything_state_dict(True)
        keys = sorted(weights)
        half = len(keys) // 2
        for i, part in enumerate((keys[:half], keys[half:])):
            shard = folder / f"diffusion_pytorch_model-{i + 1:05d}-of-00002.safetensors"
            save_file({k: weights[k] for k in part}, str(shard))
        (folder / "model_config.json").write_text(json.dumps(tiny_poseanything_config(True).to_json_dict()))
    plain = root / f"{name}-plain.safetensors"
    if not plain.exists():
        metadata = {META_FORMAT: "1", META_CONFIG: json.dumps(tiny_poseanything_config(False).to_json_dict())}
        write_safetensors_atomically(plain, tiny_poseanything_state_dict(False, seed=1), metadata)
    return {"poseanything": folder, "poseanything_plain": plain}


def wan22_vae_state_dict(seed: int = 0) -> dict[str, torch.Tensor]:
    """ComfyUI's Wan 2.2 VAE with random weights. ComfyUI builds this VAE with fixed sizes (dim 160, ~705M
    parameters) whatever the state dict holds, so no smaller Wan 2.2 VAE loads: this is the smallest one."""
    ensure_comfy_importable()
    import comfy.ldm.wan.vae2_2

    with torch.device("meta"):  # only the key names and shapes are needed, not 2.8 GB of initialised weights
        vae = comfy.ldm.wan.vae2_2.WanVAE(dim=160, z_dim=48, dim_mult=[1, 2, 4, 4], num_res_blocks=2,
                                          attn_scales=[], temperal_downsample=[False, True, True], dropout=0.0)
    shapes = {k: v.shape for k, v in vae.state_dict().items()}
    generator = torch.Generator().manual_seed(seed)
    return {k: random_like_trained({k: shape}, generator, 160)[k].to(torch.bfloat16) for k, shape in shapes.items()}


def write_wan22_vae(models_dir: Path, name: str = "wan2.2_vae_random.safetensors") -> Path:
    path = Path(models_dir) / "vae" / name
    if not path.exists():
        from posegen_core.wan.converted import write_safetensors_atomically

        path.parent.mkdir(parents=True, exist_ok=True)
        write_safetensors_atomically(path, wan22_vae_state_dict(), None)
    return path


def write_all(models_dir: Path) -> dict[str, Path]:
    base_folder, cond_folder = write_tiny_posegen(models_dir, make_tiny_posegen())
    return {"posegen_base": base_folder, "posegen_cond": cond_folder, "vae": write_tiny_vae(models_dir)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write tiny random PoseGen + Wan 2.1 VAE models.")
    parser.add_argument("models_dir", type=Path, help="a ComfyUI models folder")
    args = parser.parse_args(argv)
    for kind, path in write_all(args.models_dir).items():
        print(f"{kind}: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
