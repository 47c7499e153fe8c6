"""The option objects check their own values when made, and each error names the field it is about."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from posegen_core.errors import PoseGenInputError
from posegen_core.longvideo.options import (
    FRAMING,
    KVSharing,
    LongVideoSettings,
    PoseCrafterOptions,
    SegmentLayout,
    framing_steps_blocks,
)
from posegen_core.longvideo.plan import PlanError
from posegen_core.posecrafter.start_noise import InvertedNoise
from posegen_core.poses.sequence import PoseSequence
from posegen_core.poses.skeletons import HUMAN
from posegen_core.wan.schedule import flow_match_sigmas


def test_unconnected_options_are_posegens_defaults():
    settings = LongVideoSettings(width=720, height=1280)
    assert (settings.steps, settings.cfg, settings.shift, settings.seed) == (25, 5.0, 5.0, 42)
    assert settings.layout == SegmentLayout(81, 21, 20)
    kv = settings.kv_sharing
    assert (kv.anchor_segment, kv.shared_steps, kv.shared_blocks, kv.mask_mode) == (0, 2, 6, "attention")
    assert (kv.shared_steps, kv.shared_blocks) == FRAMING["half-body"] and kv.enabled
    assert not settings.posecrafter.insert_reference_pose and settings.posecrafter.start_noise is None


@pytest.mark.parametrize("layout, name", [
    (dict(segment_length=80), "segment_length"), (dict(head_overlap=20), "head_overlap"),
    (dict(tail_overlap=21), "tail_overlap"), (dict(segment_length=41), "segment_length"),
])
def test_segment_layout_checks_itself(layout, name):
    with pytest.raises(PlanError) as err:
        SegmentLayout(**layout)
    assert err.value.input_name == name and isinstance(err.value, PoseGenInputError)
    assert str(err.value).startswith(f"{name}: ")


def test_framing_presets():
    assert framing_steps_blocks("close-up", 9, 9) == (1, 6)
    assert framing_steps_blocks("custom", 3, 5) == (3, 5)
    assert framing_steps_blocks("off", 3, 5) == (0, 0)
    with pytest.raises(PoseGenInputError, match="^framing: 'wide' is unknown"):
        framing_steps_blocks("wide", 2, 6)


@pytest.mark.parametrize("options, name", [
    (dict(mask_mode="pose"), "poses"), (dict(mask_mode="user"), "masks"),
    (dict(mask_mode="user", masks=torch.ones(4, 8)), "masks"), (dict(mask_mode="depth"), "mask_mode"),
    (dict(shared_steps=-1), "shared_steps"), (dict(shared_blocks=-1), "shared_blocks"),
    (dict(anchor_segment=-1), "anchor_segment"),
])
def test_kv_sharing_checks_itself_and_names_its_fields(options, name):
    with pytest.raises(PoseGenInputError) as err:
        KVSharing(**options)
    assert err.value.input_name == name


def test_kv_sharing_settings_for_a_model():
    kv = KVSharing(shared_steps=2, shared_blocks=6)
    share = kv.share_settings(num_layers=40, steps=25, token_indices=(3,))
    assert share.steps == {0, 1} and share.blocks == set(range(34, 40)) and share.max_block_idx == 10
    assert KVSharing(shared_steps=30, shared_blocks=1).share_settings(2, 4, (3,)).steps == {0, 1, 2, 3}
    assert KVSharing(shared_steps=0).share_settings(40, 25, (3,)) is None
    with pytest.raises(PoseGenInputError, match="^shared_blocks: 40 of the model's 40 blocks include block 0"):
        KVSharing(shared_blocks=40).share_settings(40, 25, (3,))
    assert KVSharing(shared_blocks=40, mask_mode="none").share_settings(40, 25, ()).blocks == set(range(40))


def test_kv_sharing_keeps_the_inputs_its_mode_reads():
    poses = PoseSequence(HUMAN, np.zeros((3, 1, HUMAN.num_keypoints, 3), np.float32), 32, 48)
    assert KVSharing(mask_mode="pose", poses=poses).poses is poses
    masks = torch.ones(3, 48, 32)
    assert KVSharing(mask_mode="user", masks=masks).masks is masks


def test_posecrafter_options_check_the_schedule_and_the_frame():
    sigmas = flow_match_sigmas(4, 5.0)
    inverted = InvertedNoise(torch.zeros(1, 16, 1, 6, 4), sigmas)
    assert PoseCrafterOptions(inverted, sigmas.clone()).start_noise is inverted
    with pytest.raises(PoseGenInputError, match="^start_sigmas: 6 steps .* inverted over 4 steps"):
        PoseCrafterOptions(inverted, flow_match_sigmas(6, 5.0))
    with pytest.raises(PoseGenInputError, match="^start_sigmas: "):
        PoseCrafterOptions(start_sigmas=torch.tensor([1.0, 0.5]))
    with pytest.raises(PoseGenInputError, match="^reference_pose_frame: "):
        PoseCrafterOptions(reference_pose_frame=torch.zeros(48, 32, 3))
    assert PoseCrafterOptions(reference_pose_frame=torch.zeros(1, 48, 32, 3)).insert_reference_pose
