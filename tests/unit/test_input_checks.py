"""IMAGE and MASK values: finite, in 0..1 (a resampling overshoot passes), RGB; each refusal names the input."""

import pytest
import torch

from posegen_core.errors import PoseGenInputError
from posegen_core.input_checks import FRAMES_PER_PASS, check_image_batch, check_mask_batch, value_range


def _frames(n: int = 3) -> torch.Tensor:
    return torch.rand(n, 8, 6, 3, generator=torch.Generator().manual_seed(0))


def test_good_batches_and_resampling_overshoot_pass_unchanged():
    images = _frames()
    images[0, 0, 0] = torch.tensor([-0.04, 1.04, 0.5])  # what a bicubic resize leaves
    before = images.clone()
    check_image_batch(images, "pose_frames")
    check_mask_batch(images[..., 0], "masks")
    check_mask_batch(images[0, ..., 0], "mask")  # [H, W]
    assert torch.equal(images, before)


@pytest.mark.parametrize("fault, words", [
    ("nan", "NaN or infinite"), ("inf", "NaN or infinite"), ("-inf", "NaN or infinite"),
    ("x255", "look like 8-bit values"), ("x7", "values run from"), ("negative", "values run from -1"),
])
def test_bad_values_are_refused_naming_the_input(fault, words):
    images = _frames(2 * FRAMES_PER_PASS + 1)  # the fault sits in the last pass
    if fault == "nan":
        images[-1, 3, 2, 0] = float("nan")
    elif fault == "inf":
        images[-1, 0, 0, 0] = float("inf")
    elif fault == "-inf":
        images[-1, 0, 0, 0] = float("-inf")
    elif fault == "x255":
        images = images * 255
    elif fault == "x7":
        images = images * 7
    else:
        images[-1, 0, 0, 0] = -1.0
    for check, batch in ((check_image_batch, images), (check_mask_batch, images[..., 0])):
        with pytest.raises(PoseGenInputError) as err:
            check(batch, "reference_image")
        assert err.value.input_name == "reference_image" and words in str(err.value)
        assert "0..1" in str(err.value)


@pytest.mark.parametrize("shape, words", [((2, 8, 6, 4), "4 channels (RGBA"), ((2, 8, 6, 1), "1 channels"),
                                          ((8, 6, 3), "of shape (8, 6, 3)")])
def test_image_shape_and_channels(shape, words):
    with pytest.raises(PoseGenInputError, match="first_frame") as err:
        check_image_batch(torch.zeros(shape), "first_frame")
    assert words in str(err.value)


def test_mask_shape():
    with pytest.raises(PoseGenInputError, match="masks: got Tensor of shape"):
        check_mask_batch(torch.zeros(1, 2, 8, 6), "masks")


def test_value_range_reads_the_batch_a_few_frames_at_a_time():
    images = _frames(40)
    assert value_range(images) == (float(images.min()), float(images.max()))
    assert value_range(torch.empty(0, 2, 2, 3)) == (float("inf"), float("-inf"))
