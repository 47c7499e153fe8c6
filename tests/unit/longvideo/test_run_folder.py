"""Run keys change with anything that changes the result; run folders keep entries whole and list themselves."""

from dataclasses import dataclass

import numpy as np
import pytest
import torch

from posegen_core.errors import PoseGenInputError
from posegen_core.longvideo.run_folder import RunFolder, list_run_folders, remove_run_folders
from posegen_core.longvideo.run_key import RunKey, model_identity


@dataclass(frozen=True)
class _Settings:
    steps: int = 25
    cfg: float = 5.0
    blocks: frozenset = frozenset({34, 35})


def _key(**changes) -> str:
    parts = {"settings": _Settings(), "reference": torch.ones(1, 4, 4, 3), "poses": np.zeros((3, 2), np.float32),
             "names": ["a", "b"], **changes}
    key = RunKey()
    for name, value in parts.items():
        key.add(name, value)
    return key.hexdigest()


def test_the_key_is_stable_and_follows_every_part():
    assert _key() == _key()
    assert len(_key()) == 20
    different = [_key(settings=_Settings(steps=24)), _key(settings=_Settings(blocks=frozenset({35}))),
                 _key(reference=torch.ones(1, 4, 4, 3) * 0.999), _key(reference=torch.ones(1, 4, 4, 3).double()),
                 _key(poses=np.zeros((2, 3), np.float32)), _key(names=["b", "a"])]
    assert len({_key(), *different}) == 1 + len(different)


def test_model_identity_follows_patches(tmp_path):
    from devtools.tiny_models import make_tiny_posegen, tiny_config, write_tiny_posegen
    from posegen_core.posegen.comfy_model import load_model

    folder = write_tiny_posegen(tmp_path, make_tiny_posegen(tiny_config(num_layers=1)))[0]
    model = load_model(folder, "auto", torch.float32)

    def key(m) -> str:
        return RunKey().add("model", model_identity(m)).hexdigest()

    base = key(model)
    assert key(model.clone()) == base
    name = "diffusion_model.blocks.0.self_attn.q.weight"
    weight = model.model.diffusion_model.state_dict()[name.removeprefix("diffusion_model.")]
    patched = model.clone()
    patched.add_patches({name: (torch.zeros_like(weight),)}, 0.5)
    stronger = model.clone()
    stronger.add_patches({name: (torch.zeros_like(weight),)}, 0.7)
    other = model.clone()
    other.add_patches({name: (torch.ones_like(weight),)}, 0.5)
    assert len({base, key(patched), key(stronger), key(other)}) == 4


def test_entries_round_trip_and_list(tmp_path):
    folder = RunFolder(tmp_path / "runs", "abc", "3 base chunks").open()
    assert not folder.has("base_0")
    folder.save("base_0", {"latent": torch.arange(6.0).reshape(2, 3)})
    assert folder.has("base_0") and torch.equal(folder.load("base_0")["latent"], torch.arange(6.0).reshape(2, 3))
    assert folder.load("missing") is None
    RunFolder(tmp_path / "runs", "abc").open()  # opening again keeps what is there
    assert folder.has("base_0")
    other = RunFolder(tmp_path / "runs", "def", "other inputs").open()
    listed = list_run_folders(tmp_path / "runs")
    assert [i.key for i in listed] == ["abc", "def"] and listed[0].description == "3 base chunks"
    assert listed[0].bytes == folder.bytes > 0
    removed = remove_run_folders(tmp_path / "runs", keep="def")
    assert [i.key for i in removed] == ["abc"] and not folder.path.exists() and other.path.exists()


def test_a_failed_write_leaves_the_old_entry(tmp_path, monkeypatch):
    import posegen_core.longvideo.run_folder as run_folder

    folder = RunFolder(tmp_path, "k").open()
    folder.save("state", {"x": torch.zeros(3)})

    def full_disk(tensors, path):
        open(path, "wb").write(b"half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(run_folder, "save_file", full_disk)
    with pytest.raises(PoseGenInputError, match="^run_folder: cannot write to the run folder .*No space left"):
        folder.save("state", {"x": torch.ones(3)})
    assert torch.equal(folder.load("state")["x"], torch.zeros(3))
    assert sorted(p.name for p in folder.path.iterdir()) == ["run.json", "state.safetensors"]


def test_an_unusable_root_is_an_input_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(PoseGenInputError, match="^run_folder: cannot create the run folder"):
        RunFolder(blocker, "k").open()
