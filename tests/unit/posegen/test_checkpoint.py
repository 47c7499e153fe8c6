import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from posegen_core.errors import PoseGenInputError
from posegen_core.golden import GoldenFolder
from posegen_core.posegen.checkpoint import load_checkpoint, resolve_variant, variant_from_name
from posegen_core.posegen.checkpoint_writer import write_converted_file, write_posegen_folder


@pytest.fixture(scope="module")
def golden(golden_dir):
    return GoldenFolder(golden_dir)


@pytest.fixture()
def folder(tmp_path, golden) -> Path:
    return golden.write_checkpoint_folder(tmp_path)


@pytest.mark.parametrize("fmt", ["bin", "safetensors"])
def test_shard_folder_loads_and_merges_like_posegen(tmp_path, golden, fmt):
    folder = tmp_path / "720p-81f-cond"
    write_posegen_folder(folder, golden.ondisk_checkpoint(), golden.model_config, num_shards=3, fmt=fmt)
    ckpt = load_checkpoint(folder)
    want = golden.merged_weights()
    assert ckpt.variant == "cond"
    assert ckpt.state_dict.keys() == want.keys()
    assert all(torch.equal(ckpt.state_dict[k], v) for k, v in want.items())
    assert len(ckpt.lora_targets) == 30


def test_bin_shards_are_read_with_weights_only(folder, monkeypatch):
    seen = {}
    real_load = torch.load

    def spy(*args, **kwargs):
        seen["weights_only"] = kwargs.get("weights_only")
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    load_checkpoint(folder)
    assert seen["weights_only"] is True


def test_progress_reports_each_shard(folder):
    calls = []
    load_checkpoint(folder, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 2), (2, 2)]


def test_missing_shard_is_named_through_the_missing_tensors(folder):
    sorted(folder.glob("*.bin"))[1].unlink()
    from posegen_core.posegen.comfy_model import build_model_patcher

    with pytest.raises(PoseGenInputError, match="shard may be missing"):
        build_model_patcher(load_checkpoint(folder), "base")


def test_missing_shard_listed_in_an_index(folder):
    shards = sorted(p.name for p in folder.glob("*.bin"))
    (folder / "pytorch_model.bin.index.json").write_text(json.dumps({"weight_map": {"a": shards[0], "b": "gone.bin"}}))
    with pytest.raises(PoseGenInputError, match=r"\['gone.bin'\].*missing"):
        load_checkpoint(folder)


def test_corrupt_shard_is_named(folder):
    shard = sorted(folder.glob("*.bin"))[0]
    shard.write_bytes(shard.read_bytes()[:1000])
    with pytest.raises(PoseGenInputError) as err:
        load_checkpoint(folder)
    assert shard.name in str(err.value) and str(err.value).startswith("checkpoint:")


def test_folder_without_config_or_shards(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(PoseGenInputError, match="model_config.json"):
        load_checkpoint(tmp_path / "empty")
    (tmp_path / "empty" / "model_config.json").write_text(json.dumps(
        dict(dim=64, in_dim=36, ffn_dim=128, out_dim=16, text_dim=32, freq_dim=32, num_heads=2, num_layers=3)))
    with pytest.raises(PoseGenInputError, match="no weight shards"):
        load_checkpoint(tmp_path / "empty")


def test_t2v_checkpoint_is_rejected_before_reading_weights(tmp_path, golden):
    config = dict(golden.model_config, in_dim=16, has_image_input=False)
    write_posegen_folder(tmp_path / "wan-t2v", {"pipe.dit.x": torch.ones(1)}, config, num_shards=1)
    with pytest.raises(PoseGenInputError, match="text-to-video"):
        load_checkpoint(tmp_path / "wan-t2v")


def test_converted_file_round_trip(tmp_path, folder):
    ckpt = load_checkpoint(folder)
    merged = {k: v.clone() for k, v in ckpt.state_dict.items()}
    out = write_converted_file(tmp_path / "converted.safetensors", ckpt, "base", torch.bfloat16)
    again = load_checkpoint(out)
    assert again.variant == "base" and again.config == ckpt.config and again.lora_targets == []
    assert all(again.state_dict[k].dtype == torch.bfloat16 for k in merged)
    assert all(torch.equal(again.state_dict[k], v.to(torch.bfloat16)) for k, v in merged.items())
    assert not list(tmp_path.glob("*.partial"))


def test_plain_safetensors_without_posegen_metadata_is_rejected(tmp_path):
    save_file({"head.modulation": torch.ones(1, 2, 8)}, str(tmp_path / "wan.safetensors"))
    with pytest.raises(PoseGenInputError, match="no PoseGen model config"):
        load_checkpoint(tmp_path / "wan.safetensors")


def test_folder_writer_is_atomic(tmp_path, golden, monkeypatch):
    """A write that dies after the first shard (disk full, interrupt) leaves nothing behind."""
    real_save, calls = torch.save, []

    def failing_save(obj, path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 2:
            raise OSError("No space left on device")
        return real_save(obj, path, *args, **kwargs)

    monkeypatch.setattr(torch, "save", failing_save)
    with pytest.raises(OSError, match="No space"):
        write_posegen_folder(tmp_path / "x-base", golden.ondisk_checkpoint(), golden.model_config, num_shards=3)
    assert len(calls) == 2
    assert list(tmp_path.iterdir()) == []


def test_variants():
    assert variant_from_name("720p-81f-base") == "base"
    assert variant_from_name("720p-81f-cond") == "cond"
    assert variant_from_name("my_model") is None
    assert resolve_variant("auto", None) == "base"
    assert resolve_variant("auto", "cond") == "cond"
    assert resolve_variant("base", None) == "base"
    with pytest.raises(PoseGenInputError, match="variant: 'base' was requested but the checkpoint is the 'cond'"):
        resolve_variant("base", "cond")


def test_plain_wan_t2v_file_is_named_as_such(tmp_path):
    from devtools.tiny_models import tiny_wan_t2v_state_dict

    save_file(tiny_wan_t2v_state_dict(), str(tmp_path / "wan_t2v.safetensors"))
    with pytest.raises(PoseGenInputError, match=r"text-to-video \(T2V\) model \(16-channel"):
        load_checkpoint(tmp_path / "wan_t2v.safetensors")
