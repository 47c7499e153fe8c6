import json

import pytest

from posegen_core.errors import PoseGenInputError
from posegen_core.posegen.config import I2V_IN_DIM, parse_config, read_config_file


def test_golden_model_config_parses_with_its_own_sizes(golden_dir):
    cfg = read_config_file(golden_dir / "model_config.json")
    raw = json.loads((golden_dir / "model_config.json").read_text())
    assert (cfg.dim, cfg.num_heads, cfg.num_layers, cfg.freq_dim, cfg.text_dim) == (
        raw["dim"], raw["num_heads"], raw["num_layers"], raw["freq_dim"], raw["text_dim"])
    assert cfg.head_dim == raw["dim"] // raw["num_heads"]
    unet = cfg.comfy_unet_config()
    assert unet["model_type"] == "i2v" and unet["in_dim"] == I2V_IN_DIM and unet["freq_dim"] == raw["freq_dim"]


def _valid(**changes):
    raw = dict(dim=64, in_dim=36, ffn_dim=128, out_dim=16, text_dim=32, freq_dim=32, num_heads=2, num_layers=3)
    raw.update(changes)
    return raw


@pytest.mark.parametrize("changes, fragment", [
    ({"in_dim": 16, "has_image_input": False}, "text-to-video"),
    ({"has_image_input": False}, "text-to-video"),
    ({"in_dim": 48}, "text-to-video"),
    ({"num_heads": 3}, "not divisible"),
    ({"dim": -1}, "positive integer"),
    ({"has_image_pos_emb": True}, "FLF2V"),
    ({"mystery": 1}, "does not take"),
    ({"out_dim": 48}, "out_dim"),
])
def test_bad_configs_name_the_input_and_the_problem(changes, fragment):
    with pytest.raises(PoseGenInputError) as err:
        parse_config(_valid(**changes))
    assert str(err.value).startswith("checkpoint:")
    assert fragment in str(err.value)


def test_missing_and_malformed_config_file(tmp_path):
    with pytest.raises(PoseGenInputError, match="missing"):
        read_config_file(tmp_path / "model_config.json")
    (tmp_path / "model_config.json").write_text("{not json")
    with pytest.raises(PoseGenInputError, match="not valid JSON"):
        read_config_file(tmp_path / "model_config.json")


def test_kvshare_kwargs_injected_by_posegen_is_tolerated():
    cfg = parse_config(_valid(kvshare_kwargs={"steps": [0, 1], "blocks": [1, 2]}, shift_ref_pos=True))
    assert cfg.shift_ref_pos is True
