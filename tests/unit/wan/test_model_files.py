import pytest

from posegen_core.errors import PoseGenInputError
from posegen_core.wan.model_files import list_checkpoints, output_file, resolve_checkpoint


@pytest.fixture()
def roots(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    (a / "720p-81f-base").mkdir(parents=True)
    (a / "720p-81f-base" / "model_config.json").write_text("{}")
    (a / "720p-81f-base" / "shard.safetensors").write_bytes(b"")
    (a / "group" / "720p-81f-cond").mkdir(parents=True)
    (a / "group" / "720p-81f-cond" / "model_config.json").write_text("{}")
    b.mkdir()
    (b / "converted.safetensors").write_bytes(b"")
    (tmp_path / "secret.safetensors").write_bytes(b"")
    return [a, b]


def test_lists_folders_and_converted_files_but_not_shards(roots):
    assert list_checkpoints(roots) == ["720p-81f-base", "converted.safetensors", "group/720p-81f-cond"]


def test_resolves_inside_roots_only(roots):
    assert resolve_checkpoint(roots, "converted.safetensors") == roots[1] / "converted.safetensors"
    for bad in ["../secret.safetensors", "/etc/passwd", "", "nope"]:
        with pytest.raises(PoseGenInputError):
            resolve_checkpoint(roots, bad)


def test_output_file_names(tmp_path):
    assert output_file(tmp_path, "x_bf16").name == "x_bf16.safetensors"
    assert output_file(tmp_path, "x.safetensors").name == "x.safetensors"
    for bad in ["../x", "a/b", "", ".hidden", "x y"]:
        with pytest.raises(PoseGenInputError, match="output_name"):
            output_file(tmp_path, bad)


def test_checkpoints_linked_in_from_another_disk_are_listed_and_found(roots, tmp_path):
    elsewhere = tmp_path / "other_disk"
    (elsewhere / "720p-81f-base-big").mkdir(parents=True)
    (elsewhere / "720p-81f-base-big" / "model_config.json").write_text("{}")
    (elsewhere / "big.safetensors").write_bytes(b"")
    (roots[0] / "720p-81f-base-big").symlink_to(elsewhere / "720p-81f-base-big", target_is_directory=True)
    (roots[1] / "big.safetensors").symlink_to(elsewhere / "big.safetensors")
    (roots[1] / "linked").symlink_to(elsewhere, target_is_directory=True)  # a whole linked folder of models
    listed = list_checkpoints(roots)
    assert {"720p-81f-base-big", "big.safetensors", "linked/big.safetensors", "linked/720p-81f-base-big"} <= set(
        listed)
    folder = resolve_checkpoint(roots, "720p-81f-base-big")
    assert folder.name == "720p-81f-base-big" and (folder / "model_config.json").is_file()  # the name it was given
    assert resolve_checkpoint(roots, "linked/big.safetensors").is_file()
    for bad in ["linked/../../secret.safetensors", "../other_disk/big.safetensors"]:
        with pytest.raises(PoseGenInputError, match="checkpoint"):
            resolve_checkpoint(roots, bad)
