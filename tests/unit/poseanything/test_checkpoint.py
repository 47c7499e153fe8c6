"""PoseAnything's config, checkpoint reader and MODEL loader on tiny random models of the released layout
(Wan2.2-TI2V-5B with a 96-channel input and PTCM modules)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from devtools.tiny_models import tiny_poseanything_config, tiny_poseanything_state_dict, write_tiny_poseanything
from posegen_core.errors import PoseGenInputError
from posegen_core.poseanything.checkpoint import (
    META_CONFIG,
    PoseAnythingCheckpoint,
    converted_metadata,
    load_checkpoint,
)
from posegen_core.poseanything.config import PoseAnythingConfig, infer_config, parse_config, read_config_file
from posegen_core.wan.converted import cast_tensors, write_safetensors_atomically

from ..conftest import golden_root

SHARD_NAMES = ("diffusion_pytorch_model-00001-of-00002.safetensors",
               "diffusion_pytorch_model-00002-of-00002.safetensors")


def _golden_config_file() -> Path:
    return golden_root() / "poseanything_tiny_v1" / "model_config.json"


def _golden_raw() -> dict:
    return json.loads(_golden_config_file().read_text())


def _wide_config(ptc_enabled: bool = True) -> PoseAnythingConfig:
    """The released 128-wide heads at test size: two heads of 128."""
    return PoseAnythingConfig(dim=256, in_dim=96, ffn_dim=512, out_dim=48, text_dim=64, freq_dim=64, num_heads=2,
                              num_layers=2, ptc_enabled=ptc_enabled)


def _wan_state_dict(config: PoseAnythingConfig, seed: int = 0) -> dict[str, torch.Tensor]:
    """ComfyUI's WanModel for ``config`` (plus PTCM when enabled) with seeded random weights."""
    from posegen_core.comfy_env import ensure_comfy_importable

    ensure_comfy_importable()
    import comfy.ldm.wan.model
    import comfy.ops

    from posegen_core.poseanything.comfy_model import attach_ptcm_modules

    wan = comfy.ldm.wan.model.WanModel(**config.comfy_unet_config(), operations=comfy.ops.disable_weight_init)
    if config.ptc_enabled:
        attach_ptcm_modules(wan, config, None)
    g = torch.Generator().manual_seed(seed)
    return {k: torch.randn(v.shape, generator=g) for k, v in wan.state_dict().items()}


@pytest.fixture(scope="module")
def wide_sd() -> dict[str, torch.Tensor]:
    return _wan_state_dict(_wide_config(True))


def _write_shards(folder: Path, state_dict: dict[str, torch.Tensor], config: PoseAnythingConfig | None = None,
                  prefix: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    keys = sorted(state_dict)
    half = len(keys) // 2
    for name, part in zip(SHARD_NAMES, (keys[:half], keys[half:]), strict=True):
        save_file({prefix + k: state_dict[k].contiguous() for k in part}, str(folder / name))
    if config is not None:
        (folder / "model_config.json").write_text(json.dumps(config.to_json_dict()))
    return folder


def _same_tensors(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# ---------------------------------------------------------------------------------------------------------------
# parse_config


def test_golden_config_parses():
    raw = _golden_raw()
    config = parse_config(raw)
    assert (config.dim, config.in_dim, config.out_dim, config.num_heads, config.num_layers) == (64, 96, 48, 2, 30)
    assert config.ffn_dim == 128 and config.text_dim == 32 and config.freq_dim == 32
    assert config.patch_size == (1, 2, 2) and config.eps == 1e-6
    assert config.ptc_enabled and config.variant == "ptcm"
    assert config.head_dim == 32 and config.skeleton_channels == 48 and config.latent_channels == 48
    assert read_config_file(_golden_config_file()) == config
    # to_json_dict is what parse_config reads back (the converted file's metadata relies on it)
    assert parse_config(json.loads(json.dumps(config.to_json_dict()))) == config


def test_ptc_enabled_defaults_to_off():
    raw = {k: v for k, v in _golden_raw().items() if k != "ptc_enabled"}
    assert parse_config(raw).variant == "plain"


def test_comfy_unet_config_is_the_wan22_5b_layout():
    unet = parse_config(_golden_raw()).comfy_unet_config()
    assert unet["in_dim"] == 96 and unet["out_dim"] == 48 and unet["model_type"] == "t2v"
    assert unet["num_heads"] == 2 and unet["num_layers"] == 30 and unet["patch_size"] == (1, 2, 2)


def test_unknown_keys_are_named():
    with pytest.raises(PoseGenInputError, match=r"^checkpoint: .*\['use_hand'\]"):
        parse_config(dict(_golden_raw(), use_hand=True))


@pytest.mark.parametrize("key", ["dim", "num_heads", "in_dim", "num_layers"])
def test_missing_keys_are_named(key):
    raw = _golden_raw()
    del raw[key]
    with pytest.raises(PoseGenInputError, match=rf"^ckpt: model_config.json lacks \['{key}'\]"):
        parse_config(raw, "ckpt")


@pytest.mark.parametrize(("key", "value"), [("dim", 0), ("num_heads", -2), ("num_layers", True), ("ffn_dim", 1.5),
                                            ("text_dim", "32")])
def test_non_positive_or_non_int_values_are_refused(key, value):
    with pytest.raises(PoseGenInputError, match=rf"^checkpoint: model_config.json '{key}' is .*positive integer"):
        parse_config(dict(_golden_raw(), **{key: value}))


@pytest.mark.parametrize("override", [{"has_image_input": True}, {"fuse_vae_embedding_in_latents": False}])
def test_image_input_config_is_refused(override):
    with pytest.raises(PoseGenInputError, match="^checkpoint: .*image-embedding Wan model"):
        parse_config(dict(_golden_raw(), **override))


def test_non_skeleton_in_dim_is_refused():
    with pytest.raises(PoseGenInputError, match=r"^checkpoint: in_dim 48 with out_dim 48.*in_dim = 2 x out_dim"):
        parse_config(dict(_golden_raw(), in_dim=48))


def test_dim_not_divisible_by_heads_is_refused():
    with pytest.raises(PoseGenInputError, match="^model: dim 64 is not divisible by num_heads 3"):
        parse_config(dict(_golden_raw(), num_heads=3), "model")


def test_bad_patch_size_and_odd_head_dim_are_refused():
    with pytest.raises(PoseGenInputError, match="^checkpoint: .*'patch_size'"):
        parse_config(dict(_golden_raw(), patch_size=[1, 2]))
    with pytest.raises(PoseGenInputError, match="^checkpoint: head dim 5 cannot carry 3-axis RoPE"):
        parse_config(dict(_golden_raw(), dim=10, num_heads=2))


def test_non_object_and_bad_json_are_refused(tmp_path):
    with pytest.raises(PoseGenInputError, match="^checkpoint: model_config.json is not a JSON object"):
        parse_config([1, 2])
    bad = tmp_path / "model_config.json"
    bad.write_text("{not json")
    with pytest.raises(PoseGenInputError, match="^checkpoint: 'model_config.json' is not valid JSON"):
        read_config_file(bad)


# ---------------------------------------------------------------------------------------------------------------
# infer_config


def test_infer_config_from_128_wide_heads(wide_sd):
    assert infer_config(wide_sd) == _wide_config(True)


def test_infer_config_detects_ptcm_by_its_keys(wide_sd):
    assert any(".cross_attn_instance." in k for k in wide_sd) and any(".norm4." in k for k in wide_sd)
    plain = {k: v for k, v in wide_sd.items() if ".cross_attn_instance." not in k and ".norm4." not in k}
    assert infer_config(wide_sd).ptc_enabled is True
    assert infer_config(plain) == _wide_config(False)


def test_infer_config_of_the_plain_wan_model_built_without_ptcm():
    sd = _wan_state_dict(_wide_config(False), seed=3)
    assert not any("cross_attn_instance" in k or "norm4" in k for k in sd)
    assert infer_config(sd).variant == "plain"


@pytest.mark.parametrize("dim", [64, 192])
def test_64_wide_heads_cannot_be_inferred(dim):
    config = PoseAnythingConfig(dim=dim, in_dim=96, ffn_dim=128, out_dim=48, text_dim=32, freq_dim=32,
                                num_heads=dim // 64, num_layers=1)
    with pytest.raises(PoseGenInputError, match=f"^checkpoint: dim {dim} is not a multiple of 128.*model_config.json"):
        infer_config(_wan_state_dict(config))


def test_infer_config_names_a_missing_tensor(wide_sd):
    sd = {k: v for k, v in wide_sd.items() if k != "head.head.weight"}
    with pytest.raises(PoseGenInputError, match="^checkpoint: the weights lack 'head.head.weight'"):
        infer_config(sd)


# ---------------------------------------------------------------------------------------------------------------
# load_checkpoint


def test_released_shard_layout_merges_every_tensor(tmp_path, wide_sd):
    folder = _write_shards(tmp_path / "Pony", wide_sd, _wide_config(True))
    calls = []
    ckpt = load_checkpoint(folder, progress=lambda done, total: calls.append((done, total)))
    assert isinstance(ckpt, PoseAnythingCheckpoint)
    assert ckpt.config == _wide_config(True) and ckpt.source == folder
    assert _same_tensors(ckpt.state_dict, wide_sd)
    assert calls == [(1, 2), (2, 2)]


def test_shard_folder_without_config_is_inferred(tmp_path, wide_sd):
    folder = _write_shards(tmp_path / "Pony", wide_sd)
    assert load_checkpoint(folder).config == _wide_config(True)


def test_config_file_wins_over_the_shapes(tmp_path):
    """The tiny model has 64-wide heads: only its model_config.json says so."""
    sd = tiny_poseanything_state_dict(True)
    assert load_checkpoint(_write_shards(tmp_path / "a", sd, tiny_poseanything_config(True))).config.num_heads == 2
    assert load_checkpoint(_write_shards(tmp_path / "b", sd)).config.num_heads == 1


def test_tiktok_subfolder_is_not_read(tmp_path, wide_sd):
    folder = _write_shards(tmp_path / "Pony", wide_sd, _wide_config(True))
    (folder / "tiktok").mkdir()
    save_file({"tiktok.only": torch.ones(3)}, str(folder / "tiktok" / SHARD_NAMES[0]))
    save_file({"tiktok.only": torch.ones(3)}, str(folder / "tiktok" / "diffusion_pytorch_model.safetensors"))
    ckpt = load_checkpoint(folder)
    assert "tiktok.only" not in ckpt.state_dict
    assert _same_tensors(ckpt.state_dict, wide_sd)


def test_overlapping_shards_are_refused(tmp_path, wide_sd):
    folder = _write_shards(tmp_path / "Pony", wide_sd, _wide_config(True))
    first = load_file(str(folder / SHARD_NAMES[0]))
    second = load_file(str(folder / SHARD_NAMES[1]))
    repeated = sorted(first)[0]
    save_file({**second, repeated: first[repeated]}, str(folder / SHARD_NAMES[1]))
    with pytest.raises(PoseGenInputError, match=rf"^checkpoint: shard '{SHARD_NAMES[1]}' repeats 1 tensors.*"
                                                 rf"'{repeated}'"):
        load_checkpoint(folder)


def test_folder_without_shards_is_refused(tmp_path, wide_sd):
    folder = tmp_path / "Pony"
    folder.mkdir()
    (folder / "model_config.json").write_text(json.dumps(_wide_config().to_json_dict()))
    # weights under other names (or pickled) are not shards
    torch.save({"x": torch.ones(1)}, folder / "diffusion_pytorch_model-00001-of-00001.bin")
    save_file({"x": torch.ones(1)}, str(folder / "model.safetensors"))
    with pytest.raises(PoseGenInputError, match=r"^checkpoint: folder 'Pony' holds no diffusion_pytorch_model-\*"):
        load_checkpoint(folder)


def test_missing_path_is_refused(tmp_path):
    with pytest.raises(PoseGenInputError, match="^checkpoint: .* does not exist"):
        load_checkpoint(tmp_path / "nowhere.safetensors")


@pytest.mark.parametrize("name", ["poseanything.bin", "poseanything.pt", "poseanything.ckpt"])
def test_pickled_files_are_never_unpickled(tmp_path, monkeypatch, name):
    path = tmp_path / name
    torch.save({"patch_embedding.weight": torch.ones(1)}, path)
    opened = []
    monkeypatch.setattr(torch, "load", lambda *a, **k: opened.append(a) or {})
    readers = []
    with pytest.raises(PoseGenInputError, match=f"^checkpoint: '{name}' is not a .safetensors file.*pickled"):
        load_checkpoint(path, reader=lambda p: readers.append(p) or ({}, None))
    assert opened == [] and readers == []


def test_single_file_with_converted_metadata_round_trips_the_config(tmp_path, wide_sd):
    ckpt = PoseAnythingCheckpoint(config=_wide_config(True), state_dict=wide_sd, source=tmp_path / "Pony")
    metadata = converted_metadata(ckpt)
    assert metadata["poseanything_source"] == "Pony" and metadata["poseanything_format"] == "1"
    path = write_safetensors_atomically(tmp_path / "pa.safetensors", wide_sd, metadata)
    again = load_checkpoint(path)
    assert again.config == ckpt.config and again.source == path
    assert _same_tensors(again.state_dict, wide_sd)


def test_metadata_config_beats_the_shapes(tmp_path):
    """A 64-wide-head model in one file: its metadata carries the head count."""
    sd = tiny_poseanything_state_dict(False)
    config = tiny_poseanything_config(False)
    ckpt = PoseAnythingCheckpoint(config=config, state_dict=sd, source=tmp_path / "x")
    path = write_safetensors_atomically(tmp_path / "pa.safetensors", sd, converted_metadata(ckpt))
    assert load_checkpoint(path).config == config
    save_file(sd, str(tmp_path / "bare.safetensors"))
    assert load_checkpoint(tmp_path / "bare.safetensors").config.num_heads == 1


def test_damaged_metadata_config_is_refused(tmp_path, wide_sd):
    save_file(wide_sd, str(tmp_path / "pa.safetensors"), metadata={META_CONFIG: "{oops"})
    with pytest.raises(PoseGenInputError, match="^checkpoint: 'pa.safetensors' has a damaged model config"):
        load_checkpoint(tmp_path / "pa.safetensors")


@pytest.mark.parametrize("prefix", ["model.diffusion_model.", "diffusion_model."])
def test_comfy_prefixes_are_stripped(tmp_path, wide_sd, prefix):
    save_file({prefix + k: v for k, v in wide_sd.items()}, str(tmp_path / "pa.safetensors"))
    ckpt = load_checkpoint(tmp_path / "pa.safetensors")
    assert _same_tensors(ckpt.state_dict, wide_sd)
    assert ckpt.config == _wide_config(True)
    folder = _write_shards(tmp_path / "Pony", wide_sd, prefix=prefix)
    assert _same_tensors(load_checkpoint(folder).state_dict, wide_sd)


def test_damaged_shard_is_named(tmp_path, wide_sd):
    folder = _write_shards(tmp_path / "Pony", wide_sd, _wide_config(True))
    shard = folder / SHARD_NAMES[1]
    shard.write_bytes(shard.read_bytes()[:500])
    with pytest.raises(PoseGenInputError, match=f"^checkpoint: weight file '{SHARD_NAMES[1]}' could not be read"):
        load_checkpoint(folder)


# ---------------------------------------------------------------------------------------------------------------
# The MODEL (ComfyUI's WAN22 with PTCM modules)


@pytest.fixture(scope="module")
def tiny_paths(tmp_path_factory) -> dict[str, Path]:
    return write_tiny_poseanything(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def ptcm_patcher(tiny_paths):
    from posegen_core.poseanything.comfy_model import load_model

    return load_model(tiny_paths["poseanything"], torch.float32)


@pytest.fixture(scope="module")
def plain_patcher(tiny_paths):
    from posegen_core.poseanything.comfy_model import load_model

    return load_model(tiny_paths["poseanything_plain"], torch.float32)


def _saved(folder: Path) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    for shard in sorted(folder.glob("diffusion_pytorch_model-*.safetensors")):
        out.update(load_file(str(shard)))
    return out


def test_ptcm_model_carries_the_files_part_attention_weights(ptcm_patcher, tiny_paths):
    saved = _saved(tiny_paths["poseanything"])
    model = ptcm_patcher.model.diffusion_model
    assert len(model.blocks) == 2
    for i, block in enumerate(model.blocks):
        assert hasattr(block, "cross_attn_instance") and hasattr(block, "norm4")
        for name in ("q", "k", "v", "o"):
            assert torch.equal(getattr(block.cross_attn_instance, name).weight, saved[f"blocks.{i}.cross_attn_instance."
                                                                                      f"{name}.weight"])
            assert torch.equal(getattr(block.cross_attn_instance, name).bias,
                               saved[f"blocks.{i}.cross_attn_instance.{name}.bias"])
        assert torch.equal(block.cross_attn_instance.norm_q.weight, saved[f"blocks.{i}.cross_attn_instance.norm_q."
                                                                          "weight"])
        assert torch.equal(block.norm4.weight, saved[f"blocks.{i}.norm4.weight"])
        assert torch.equal(block.norm4.bias, saved[f"blocks.{i}.norm4.bias"])
    loaded = model.state_dict()
    assert loaded.keys() == saved.keys()
    assert all(torch.equal(loaded[k], v) for k, v in saved.items())


def test_model_is_comfyuis_wan22_with_poseanything_settings(ptcm_patcher):
    import comfy.model_base

    from posegen_core.poseanything.comfy_model import PoseAnythingWan22, poseanything_info

    model = ptcm_patcher.model
    assert isinstance(model, PoseAnythingWan22) and isinstance(model, comfy.model_base.WAN22)
    assert model.image_to_video is True
    assert model.diffusion_model.patch_embedding.weight.shape[:2] == (128, 96)
    assert model.diffusion_model.head.head.weight.shape[0] == 48 * 4
    info = poseanything_info(ptcm_patcher)
    assert info.has_ptcm is True and info.config == tiny_poseanything_config(True)
    assert info.source == "poseanything-tiny"
    assert "diffusion_model._forward" in ptcm_patcher.object_patches


def test_flow_shift_is_5(ptcm_patcher, plain_patcher):
    for patcher in (ptcm_patcher, plain_patcher):
        sampling = patcher.model.model_sampling
        assert sampling.shift == 5.0
        t = 0.5  # timestep 500 of 1000
        want = 5.0 * t / (1 + (5.0 - 1) * t)
        assert float(sampling.sigma(torch.tensor(500.0))) == pytest.approx(want, abs=1e-6)
        assert want == pytest.approx(2.5 / 3)  # not ComfyUI's Wan 2.2 default of 8 (0.888...)


def test_plain_variant_has_no_part_attention(plain_patcher, tiny_paths):
    from posegen_core.poseanything.comfy_model import PoseAnythingWan22, poseanything_info

    model = plain_patcher.model
    assert isinstance(model, PoseAnythingWan22)
    assert all(not hasattr(b, "cross_attn_instance") and not hasattr(b, "norm4") for b in model.diffusion_model.blocks)
    assert model.diffusion_model.patch_embedding.weight.shape[1] == 96
    assert poseanything_info(plain_patcher).has_ptcm is False
    saved = load_file(str(tiny_paths["poseanything_plain"]))
    loaded = model.diffusion_model.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in saved.items()) and loaded.keys() == saved.keys()


def test_poseanything_info_of_another_model_is_none():
    from types import SimpleNamespace

    from posegen_core.poseanything.comfy_model import poseanything_info

    assert poseanything_info(SimpleNamespace(attachments={})) is None
    assert poseanything_info(object()) is None


def test_missing_shard_is_reported(tmp_path, tiny_paths):
    from posegen_core.poseanything.comfy_model import load_model

    folder = tmp_path / "Pony"
    shutil.copytree(tiny_paths["poseanything"], folder)
    (folder / SHARD_NAMES[1]).unlink()
    with pytest.raises(PoseGenInputError, match="^checkpoint: .*missing"):
        load_model(folder, torch.float32)


def test_wrong_shape_is_reported(tmp_path):
    from posegen_core.poseanything.comfy_model import load_model

    sd = tiny_poseanything_state_dict(True)
    sd["blocks.1.norm4.weight"] = torch.ones(64)
    ckpt = PoseAnythingCheckpoint(config=tiny_poseanything_config(True), state_dict=sd, source=tmp_path / "x")
    path = write_safetensors_atomically(tmp_path / "bad.safetensors", sd, converted_metadata(ckpt))
    with pytest.raises(PoseGenInputError, match=r"^checkpoint: 1 tensors have the wrong shape.*blocks.1.norm4.weight"):
        load_model(path, torch.float32)


def test_non_wan22_latent_is_refused(tmp_path):
    from posegen_core.poseanything.comfy_model import build_model_patcher

    config = PoseAnythingConfig(dim=128, in_dim=32, ffn_dim=256, out_dim=16, text_dim=64, freq_dim=64, num_heads=2,
                                num_layers=1)
    ckpt = PoseAnythingCheckpoint(config=config, state_dict={}, source=tmp_path)
    with pytest.raises(PoseGenInputError, match="^checkpoint: the DiT predicts 16 latent channels.*48"):
        build_model_patcher(ckpt)


def test_conversion_round_trip_in_bf16(tmp_path, tiny_paths):
    """ConvertPoseAnythingCheckpoint's path: the shard folder → one bf16 file with the config in its metadata."""
    from posegen_core.poseanything.comfy_model import load_model, poseanything_info

    ckpt = load_checkpoint(tiny_paths["poseanything"])
    originals = {k: v.clone() for k, v in ckpt.state_dict.items()}
    out = write_safetensors_atomically(tmp_path / "pa_bf16.safetensors", cast_tensors(ckpt.state_dict, torch.bfloat16),
                                       converted_metadata(ckpt))
    assert not list(tmp_path.glob("*.partial"))
    again = load_checkpoint(out)
    assert again.config == ckpt.config == tiny_poseanything_config(True)
    assert again.state_dict.keys() == originals.keys()
    assert all(v.dtype == torch.bfloat16 for v in again.state_dict.values())
    assert all(torch.equal(again.state_dict[k], v.to(torch.bfloat16)) for k, v in originals.items())
    patcher = load_model(out, torch.float32)
    assert poseanything_info(patcher).has_ptcm and poseanything_info(patcher).source == "pa_bf16.safetensors"


def test_fp8_converted_file_equals_fp8_on_load(tmp_path):
    from devtools.tiny_models import write_tiny_poseanything
    from posegen_core.poseanything.comfy_model import load_model, write_converted_file

    source = write_tiny_poseanything(tmp_path / "models")["poseanything"]
    path = write_converted_file(tmp_path / "pa_fp8.safetensors", load_checkpoint(source), torch.float8_e5m2)
    from_file = load_model(path, torch.float8_e5m2).model.diffusion_model.state_dict()
    on_load = load_model(source, torch.float8_e5m2).model.diffusion_model.state_dict()
    assert {v.dtype for v in on_load.values()} == {torch.float8_e5m2, torch.float32}
    assert all(torch.equal(from_file[k].view(torch.uint8), on_load[k].view(torch.uint8)) for k in on_load)
