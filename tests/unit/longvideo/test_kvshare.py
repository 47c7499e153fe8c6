"""KV-sharing settings are checked when made; each error names the setting it is about."""

from __future__ import annotations

import pytest

from posegen_core.errors import PoseGenInputError
from posegen_core.longvideo.kvshare import KVShareSettings


@pytest.mark.parametrize("settings, name", [
    (dict(mask_mode="depth"), "mask_mode"),
    (dict(token_indices=()), "token_indices"),
    (dict(blocks=frozenset({0, 1})), "blocks"),
])
def test_kv_share_settings_name_the_setting(settings, name):
    values = {"steps": frozenset({0}), "blocks": frozenset({1}), "token_indices": (2,), **settings}
    with pytest.raises(PoseGenInputError) as err:
        KVShareSettings(**values)
    assert err.value.input_name == name and str(err.value).startswith(f"{name}: ")


def test_other_mask_modes_need_no_subject_word_and_may_share_block_zero():
    settings = KVShareSettings(steps=frozenset({0}), blocks=frozenset({0, 1}), mask_mode="pose")
    assert settings.map_blocks() == range(11)


def test_fixed_masks_are_joined_once_per_run_and_follow_new_masks():
    import torch

    from posegen_core.longvideo.kvshare import AnchorRecord, ForwardKV, KVShareContext

    settings = KVShareSettings(steps=frozenset({0, 1}), blocks=frozenset({2, 3}), mask_mode="pose")
    curr = torch.tensor([[1, 0], [0, 0]], dtype=torch.bool)
    prev = torch.tensor([[0, 0], [0, 1]], dtype=torch.bool)
    context = KVShareContext(settings, "share", AnchorRecord(), static_masks={"curr": curr, "prev": prev})
    per_call = [ForwardKV(context, step, [0, 1], (1, 2, 2)).own_tokens(block, torch.device("cpu"))
                for step in (0, 1) for block in (2, 3)]
    assert torch.equal(per_call[0], torch.tensor([True, False, False, True]))
    assert all(mask is per_call[0] for mask in per_call)  # one union for every step and block
    context.static_masks = {"curr": curr, "prev": curr}
    assert torch.equal(ForwardKV(context, 0, [0], (1, 2, 2)).own_tokens(2, torch.device("cpu")),
                       torch.tensor([True, False, False, False]))
    nothing = KVShareContext(KVShareSettings(steps=frozenset({0}), blocks=frozenset({1}), mask_mode="none"), "share",
                             AnchorRecord())
    assert not ForwardKV(nothing, 0, [0], (1, 2, 2)).own_tokens(1, torch.device("cpu")).any()
