"""PoseCrafter reference-frame selection (Eq. 5) and reference-pose insertion / removal."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posegen_core.poses.ops import pad_to_length, trim
from posegen_core.poses.reference import (
    drop_inserted,
    fit_to_canvas,
    insert_reference_pose,
    normalise_pose,
    pose_distances,
    select_reference_frame,
)
from posegen_core.poses.sequence import PoseSequence
from posegen_core.poses.skeletons import BODY18, HUMAN


def random_poses(rng: np.random.Generator, frames: int, k: int = 18) -> np.ndarray:
    """[frames, k, 2] body-sized random poses around the canvas centre."""
    return rng.normal(0, 60, (frames, k, 2)) + [320, 240]


def seq_of(xy: np.ndarray, valid: np.ndarray | None = None, width: int = 640, height: int = 480,
           skeleton=BODY18) -> PoseSequence:
    kp = np.zeros((xy.shape[0], 1, xy.shape[1], 3), np.float32)
    kp[:, 0, :, :2] = xy
    kp[:, 0, :, 2] = 1.0 if valid is None else valid.astype(np.float32)
    kp[kp[..., 2] == 0] = 0.0
    return PoseSequence(skeleton, kp, width, height, fps=30.0)


# --- normalisation --------------------------------------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 10_000), scale=st.floats(0.05, 20), dx=st.floats(-1e3, 1e3), dy=st.floats(-1e3, 1e3))
def test_normalise_is_translation_and_scale_invariant(seed, scale, dx, dy):
    rng = np.random.default_rng(seed)
    xy = random_poses(rng, 3)
    valid = rng.random((3, 18)) < 0.8
    valid[:, :2] = True
    a = normalise_pose(xy, valid)
    b = normalise_pose(xy * scale + [dx, dy], valid)
    np.testing.assert_allclose(a, b, atol=1e-7)
    # unit RMS radius about a zero mean over the present points
    for f in range(3):
        pts = a[f][valid[f]]
        np.testing.assert_allclose(pts.mean(0), 0, atol=1e-9)
        np.testing.assert_allclose(np.sqrt((pts ** 2).sum(-1).mean()), 1.0)
    assert (a[~valid] == 0).all()


def test_normalise_degenerate_and_body_subset():
    xy = np.array([[[5.0, 7.0], [0.0, 0.0], [1.0, 1.0]]])
    assert (normalise_pose(xy, np.array([[False, False, False]])) == 0).all()
    np.testing.assert_allclose(normalise_pose(xy, np.array([[True, False, False]]))[0, 0], [0, 0])
    # centre/scale from the body subset only; the other points are expressed in the same frame
    out = normalise_pose(np.array([[[0.0, 0.0], [2.0, 0.0], [3.0, 0.0]]]), np.ones((1, 3), bool), body=[0, 1])
    np.testing.assert_allclose(out[0], [[-1, 0], [1, 0], [2, 0]])


# --- selection ------------------------------------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), planted=st.integers(0, 11), scale=st.floats(0.3, 3.0),
       shift=st.tuples(st.floats(-300, 300), st.floats(-300, 300)))
def test_selection_finds_planted_frame_under_translation_and_scale(seed, planted, scale, shift):
    rng = np.random.default_rng(seed)
    clip = random_poses(rng, 12)
    # the target motion: small variations of the planted frame, filmed elsewhere and at another size
    target = clip[planted][None] + rng.normal(0, 2, (20, 18, 2))
    target = (target - [320, 240]) * scale + [320, 240] + np.array(shift)
    assert select_reference_frame(seq_of(clip), seq_of(target)) == planted


def test_selection_ties_go_to_the_lowest_index():
    rng = np.random.default_rng(1)
    clip = random_poses(rng, 6)
    clip[4] = clip[2]
    clip[5] = clip[2] * 2 + 10  # same pose at another size: also an exact tie after normalisation
    target = clip[2][None] + rng.normal(0, 1, (8, 18, 2))
    assert select_reference_frame(seq_of(clip), seq_of(target)) == 2
    assert select_reference_frame(seq_of(clip[3:]), seq_of(target)) == 1  # clip[4] in the shorter clip


def test_selection_with_partial_and_empty_poses():
    rng = np.random.default_rng(2)
    clip = random_poses(rng, 4)
    target = clip[3][None] + rng.normal(0, 1, (10, 18, 2))
    valid = np.ones((4, 18), bool)
    valid[0] = False  # frame 0: nobody there (its coordinates would match the target perfectly)
    clip[0] = clip[3]
    valid[3, 8:14] = False  # the best frame is upper-body only: compared on the shared points, it still wins
    clip[3, 8:14] = 0.0
    tvalid = np.ones((10, 18), bool)
    tvalid[::3, 14:] = False  # some target frames lack the face points
    tvalid[5] = False  # and one target frame is empty
    assert select_reference_frame(seq_of(clip, valid), seq_of(target, tvalid)) == 3
    d = pose_distances(seq_of(clip, valid), seq_of(target, tvalid))
    assert np.isnan(d[0]).all() and np.isnan(d[:, 5]).all()
    with pytest.raises(ValueError, match="no reference-clip frame"):
        select_reference_frame(seq_of(clip, np.zeros((4, 18), bool)), seq_of(target))
    with pytest.raises(ValueError, match="person"):
        select_reference_frame(seq_of(clip), seq_of(target), person=1)


def test_selection_on_human_uses_body_points():
    rng = np.random.default_rng(4)
    clip = random_poses(rng, 5, k=136)
    target = clip[1][None].repeat(3, 0)
    target[:, 18:] = rng.normal(0, 500, (3, 118, 2))  # wildly different hands/face do not matter
    assert select_reference_frame(seq_of(clip, skeleton=HUMAN), seq_of(target, skeleton=HUMAN)) == 1


# --- insertion and removal ------------------------------------------------------------------------------------------


def tagged(frames: int, width: int = 640, height: int = 480) -> PoseSequence:
    xy = np.zeros((frames, 18, 2))
    xy[:, 0, 0] = np.arange(frames) + 1
    return seq_of(xy, width=width, height=height)


@pytest.mark.parametrize("position", [0, 3, 7])
def test_insert_and_drop_round_trip(position):
    target = tagged(7)
    ref = seq_of(np.full((1, 18, 2), 100.0))
    seq = insert_reference_pose(target, ref, position)
    assert seq.num_frames == 8 and seq.inserted == (position,)
    np.testing.assert_array_equal(seq.keypoints[position], ref.keypoints[0])
    # the "generated video": one image per pose frame, tagged with its pose frame
    video = np.arange(8, dtype=np.float32)[:, None, None, None] * np.ones((1, 4, 4, 3), np.float32)
    video[position] = -1
    kept = drop_inserted(video, seq)
    assert isinstance(kept, np.ndarray) and kept.shape == (7, 4, 4, 3)
    assert (kept != -1).all()
    np.testing.assert_array_equal(drop_inserted(seq.keypoints, seq), target.keypoints)


def test_drop_inserted_torch():
    torch = pytest.importorskip("torch")
    target = tagged(5)
    seq = insert_reference_pose(target, seq_of(np.full((1, 18, 2), 9.0)), 2)
    seq = insert_reference_pose(seq, seq_of(np.full((1, 18, 2), 8.0)), 0)
    assert seq.inserted == (0, 3)
    video = torch.arange(7, dtype=torch.float32).reshape(7, 1, 1, 1).expand(7, 2, 2, 3)
    kept = drop_inserted(video, seq)
    assert isinstance(kept, torch.Tensor) and tuple(kept.shape) == (5, 2, 2, 3)
    assert kept[:, 0, 0, 0].tolist() == [1.0, 2.0, 4.0, 5.0, 6.0]
    with pytest.raises(ValueError, match="frames"):
        drop_inserted(video[:6], seq)


def test_inserted_markers_follow_trims_and_padding():
    seq = insert_reference_pose(tagged(6), seq_of(np.full((1, 18, 2), 50.0)), 3)
    assert trim(seq, 2).inserted == (1,)
    assert trim(seq, 0, 3).inserted == ()
    assert trim(seq, 1, 5).inserted == (2,)
    looped = pad_to_length(seq, 14, "loop")
    assert looped.inserted == (3, 10)
    assert drop_inserted(looped.keypoints, looped).shape[0] == 12


def test_insert_fits_reference_canvas_and_matches_people():
    target = tagged(2)  # 640 x 480
    kp = np.zeros((1, 2, 18, 3), np.float32)
    kp[0, :, 0] = [[0, 0, 1], [320, 480, 0.5]]  # corners of a 320 x 480 canvas
    ref = PoseSequence(BODY18, kp, 320, 480)
    seq = insert_reference_pose(target, ref, 1)
    # scale 1 (height limits), centred horizontally: x offset (640 - 320) / 2
    np.testing.assert_allclose(seq.keypoints[1, 0, 0], [160, 0, 1])
    assert seq.num_people == 1  # extra reference people dropped
    # 160 x 480: scale 0.5 (width limits), centred vertically: y offset (480 - 240) / 2
    np.testing.assert_allclose(fit_to_canvas(ref, 160, 480).keypoints[0, 1, 0], [160, 360, 0.5])
    assert (seq.keypoints[1, 0, 1:] == 0).all()
    with pytest.raises(ValueError, match="position"):
        insert_reference_pose(target, ref, 3)
    with pytest.raises(ValueError, match="1 frame"):
        insert_reference_pose(target, tagged(2), 0)
