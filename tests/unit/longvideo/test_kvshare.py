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
