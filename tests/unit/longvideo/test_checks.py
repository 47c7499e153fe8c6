"""The run's input checks: frames that fit together and fit the options, and the subject word."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from posegen_core.errors import PoseGenInputError
from posegen_core.longvideo.checks import check_frames, check_options, check_subject_word, subject_tokens
from posegen_core.longvideo.options import KVSharing, LongVideoSettings, PoseCrafterOptions
from posegen_core.longvideo.run import LongVideoInputs
from posegen_core.longvideo.subject import SUBJECT_TOKENS_KEY
from posegen_core.poses.sequence import PoseSequence
from posegen_core.poses.skeletons import HUMAN

POSITIVE = [[torch.zeros(1, 8, 64), {SUBJECT_TOKENS_KEY: [2, 3]}]]


def _inputs(frames: int = 9, **changes) -> LongVideoInputs:
    inputs = LongVideoInputs(POSITIVE, POSITIVE, None, None, torch.rand(1, 48, 32, 3), torch.rand(frames, 48, 32, 3))
    for name, value in changes.items():
        setattr(inputs, name, value)
    return inputs


@pytest.mark.parametrize("changes, name, fragment", [
    (dict(reference_image=torch.rand(2, 48, 32, 3)), "reference_image", "a batch of 2"),
    (dict(pose_frames=torch.rand(9, 40, 32, 3)), "pose_frames", "but reference_image is 32x48"),
    (dict(hand_frames=torch.rand(8, 48, 32, 3)), "hand_frames", "8 frames but pose_frames has 9"),
])
def test_frames_fit_together(changes, name, fragment):
    with pytest.raises(PoseGenInputError, match=f"^{name}: .*{fragment}"):
        check_frames(_inputs(**changes))
    check_frames(_inputs(hand_frames=torch.rand(9, 48, 32, 3)))


def test_the_options_frames_fit_the_pose_frames():
    settings = lambda **options: LongVideoSettings(32, 48, **options)  # noqa: E731
    poses = PoseSequence(HUMAN, np.zeros((8, 1, HUMAN.num_keypoints, 3), np.float32), 32, 48)
    cases = [
        (dict(posecrafter=PoseCrafterOptions(reference_pose_frame=torch.zeros(1, 40, 32, 3))), "reference_pose_frame"),
        (dict(kv_sharing=KVSharing(mask_mode="pose", poses=poses)), "poses"),
        (dict(kv_sharing=KVSharing(mask_mode="user", masks=torch.ones(8, 48, 32))), "masks"),
    ]
    for options, name in cases:
        with pytest.raises(PoseGenInputError) as err:
            check_options(_inputs(), settings(**options))
        assert err.value.input_name == name
    # too few poses do not matter when nothing is shared
    check_options(_inputs(), settings(kv_sharing=KVSharing(shared_steps=0, mask_mode="pose", poses=poses)))


def test_the_subject_word_is_needed_for_attention_masks_only():
    assert subject_tokens(POSITIVE) == (2, 3)
    assert check_subject_word(LongVideoSettings(32, 48), POSITIVE) == (2, 3)
    bare = [[torch.zeros(1, 8, 64), {}]]
    with pytest.raises(PoseGenInputError, match="^positive: it carries no subject-word token positions"):
        check_subject_word(LongVideoSettings(32, 48), bare)
    assert check_subject_word(LongVideoSettings(32, 48, kv_sharing=KVSharing(mask_mode="none")), bare) == ()
    assert check_subject_word(LongVideoSettings(32, 48, kv_sharing=KVSharing(shared_steps=0)), bare) == ()
