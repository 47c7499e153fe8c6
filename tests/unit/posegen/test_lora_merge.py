import pytest
import torch

from posegen_core.golden import GoldenFolder
from posegen_core.posegen.lora_merge import (
    LoraMergeError,
    lora_modules,
    lora_target_key,
    merge_lora,
    ondisk_state_dict,
    split_base_and_lora,
    strip_ondisk_key,
)


def test_key_rules():
    assert strip_ondisk_key("pipe.dit.blocks.0.self_attn.q.base_layer.weight") == "blocks.0.self_attn.q.weight"
    assert strip_ondisk_key("blocks.0.norm3.bias") == "blocks.0.norm3.bias"
    assert lora_target_key("blocks.7.cross_attn.k.lora_B.default.weight") == "blocks.7.cross_attn.k.weight"
    assert lora_target_key("blocks.7.cross_attn.k.lora_B.weight") == "blocks.7.cross_attn.k.weight"
    assert lora_target_key("diffusion_model.blocks.1.ffn.0.lora_B.x.weight") == "blocks.1.ffn.0.weight"


def test_merge_reproduces_posegen_exactly(golden_dir, golden_tensors):
    """The golden's merged weights (PoseGen's rule, bit for bit what its loader made from the on-disk dictionary)."""
    base = dict(golden_tensors("model.safetensors"))
    lora = {strip_ondisk_key(k): v for k, v in golden_tensors("lora.safetensors").items()}
    merged = merge_lora(base, lora)
    want = GoldenFolder(golden_dir).merged_weights()
    assert len(merged) == len(lora) // 2
    assert base.keys() == want.keys()
    for key, value in want.items():
        assert torch.equal(base[key], value), key


def test_ondisk_layout_matches_posegens_key_map(golden_tensors, golden_dir):
    import json

    key_map = json.loads((golden_dir / "config.json").read_text())["posegen_ondisk_checkpoint_keys"]
    lora = golden_tensors("lora.safetensors")
    ondisk = ondisk_state_dict(golden_tensors("model.safetensors"), lora_modules(lora), lora)
    assert set(ondisk) == set(key_map)
    base, split_lora = split_base_and_lora(ondisk)
    assert set(base) == set(golden_tensors("model.safetensors"))
    assert len(split_lora) == len(lora)


def _pair(out_f=4, in_f=3, rank=2):
    return {"m.lora_A.default.weight": torch.ones(rank, in_f), "m.lora_B.default.weight": torch.ones(out_f, rank)}


def test_merge_arithmetic_and_dtype_of_first_tensor():
    base = {"first": torch.zeros(1, dtype=torch.bfloat16), "m.weight": torch.ones(4, 3)}
    merge_lora(base, _pair())
    assert base["m.weight"].dtype == torch.bfloat16  # PoseGen merges in the first tensor's dtype
    assert torch.equal(base["m.weight"].float(), torch.full((4, 3), 3.0))


def test_conv_lora_is_squeezed_multiplied_unsqueezed():
    base = {"c.weight": torch.zeros(4, 3, 1, 1)}
    lora = {"c.lora_A.weight": torch.ones(2, 3, 1, 1), "c.lora_B.weight": torch.ones(4, 2, 1, 1)}
    merge_lora(base, lora)
    assert torch.equal(base["c.weight"], torch.full((4, 3, 1, 1), 2.0))


@pytest.mark.parametrize("lora, fragment", [
    ({"m.lora_B.default.weight": torch.ones(4, 2)}, "no partner"),
    ({"x.lora_A.default.weight": torch.ones(2, 3), "x.lora_B.default.weight": torch.ones(4, 2)}, "not in the base"),
    ({"m.lora_A.default.weight": torch.ones(2, 5), "m.lora_B.default.weight": torch.ones(4, 2)}, "update for"),
    ({**_pair(), "m.lora_A.other.weight": torch.ones(2, 3)}, "without a lora_B/lora_A pair"),
])
def test_merge_errors(lora, fragment):
    with pytest.raises(LoraMergeError, match=fragment):
        merge_lora({"m.weight": torch.ones(4, 3)}, lora)


def test_duplicate_tensor_after_stripping_is_an_error():
    with pytest.raises(LoraMergeError, match="appears twice"):
        split_base_and_lora({"pipe.dit.a.weight": torch.ones(1), "a.weight": torch.ones(1)})
