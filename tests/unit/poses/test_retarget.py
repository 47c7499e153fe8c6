"""Retargeting: reference bone lengths, driving joint angles, placement on the reference's ground line."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posegen_core.poses.retarget import (
    FACE,
    GROUND_POINTS,
    bones,
    parents_for,
    plan_retarget,
    retarget,
    retarget_report,
)
from posegen_core.poses.sequence import PoseSequence
from posegen_core.poses.skeletons import BODY18, HUMAN, Skeleton

LEGS_AND_FEET = (9, 10, 12, 13, *range(18, 24))  # knees, ankles, feet: what a half-body reference lacks


def _tree_order(parent: dict[int, int]) -> list[int]:
    order, seen = [1], {1}
    while len(order) < len(parent) + 1:
        for c, p in parent.items():
            if c not in seen and p in seen:
                order.append(c)
                seen.add(c)
    return order


def build_poses(rng: np.random.Generator, skeleton: Skeleton, frames: int, root: tuple[float, float],
                spread: float = 0.0) -> np.ndarray:
    """[frames, K, 2]: random bone lengths (fixed over time, as a real body's) and random joint angles per frame;
    the root wanders by ``spread`` px so the motion has its own travel."""
    parent = parents_for(skeleton)
    fingers = set(range(94, 136))
    lengths = {c: rng.uniform(5, 14) if c in fingers else rng.uniform(6, 25) if c in FACE else rng.uniform(15, 70)
               for c in parent}
    xy = np.zeros((frames, skeleton.num_keypoints, 2))
    for f in range(frames):
        xy[f, 1] = np.add(root, rng.uniform(-spread, spread, 2))
        for c in _tree_order(parent)[1:]:
            a = rng.uniform(-np.pi, np.pi)
            xy[f, c] = xy[f, parent[c]] + lengths[c] * np.array([np.cos(a), np.sin(a)])
    return xy


def to_seq(xy: np.ndarray, skeleton: Skeleton, width: int, height: int, missing: np.ndarray | None = None,
           fps: float | None = 30.0) -> PoseSequence:
    kp = np.zeros((xy.shape[0], 1, xy.shape[1], 3), np.float32)
    kp[:, 0, :, :2] = xy
    kp[:, 0, :, 2] = 0.9
    if missing is not None:
        kp[:, 0][missing] = 0.0
    return PoseSequence(skeleton, kp, width, height, fps=fps)


def bone_vectors(seq: PoseSequence, pairs: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    xy = seq.xy.astype(np.float64)
    v = seq.valid()
    vec = np.stack([xy[..., c, :] - xy[..., p, :] for p, c in pairs], axis=-2)
    ok = np.stack([v[..., p] & v[..., c] for p, c in pairs], axis=-1)
    return vec, ok


def angle_diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    cross = a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
    return np.abs(np.arctan2(cross, (a * b).sum(-1)))


def check_lengths_and_angles(out: PoseSequence, driving: PoseSequence, reference: PoseSequence) -> None:
    pairs = bones(driving.skeleton)
    ref_vec, ref_ok = bone_vectors(reference, pairs)
    ref_len, ref_ok = np.linalg.norm(ref_vec[0, 0], axis=-1), ref_ok[0, 0]
    out_vec, out_ok = bone_vectors(out, pairs)
    drv_vec, drv_ok = bone_vectors(driving, pairs)
    np.testing.assert_array_equal(out_ok, drv_ok)
    out_len = np.linalg.norm(out_vec, axis=-1)
    check = out_ok & ref_ok
    assert check.any()
    np.testing.assert_allclose(out_len[check], np.broadcast_to(ref_len, out_len.shape)[check], rtol=1e-3)
    assert angle_diff(out_vec, drv_vec)[out_ok].max() < 1e-4


def lowest_foot(seq: PoseSequence, frame: int = 0, person: int = 0) -> float:
    v = seq.valid()[frame, person]
    return max(float(seq.xy[frame, person, i, 1]) for i in GROUND_POINTS if i < seq.skeleton.num_keypoints and v[i])


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), frames=st.integers(1, 6), human=st.booleans(), drop=st.floats(0.0, 0.25))
def test_retarget_keeps_reference_lengths_driving_angles_and_ground(seed, frames, human, drop):
    rng = np.random.default_rng(seed)
    skeleton = HUMAN if human else BODY18
    missing = rng.random((frames, skeleton.num_keypoints)) < drop
    missing[0] = False  # frame 0 complete, so it is the anchor frame
    driving = to_seq(build_poses(rng, skeleton, frames, (320, 200), spread=40), skeleton, 640, 480, missing)
    reference = to_seq(build_poses(rng, skeleton, 1, (250, 300)), skeleton, 512, 768, fps=None)
    out = retarget(driving, reference)

    assert (out.width, out.height, out.fps, out.skeleton) == (512, 768, 30.0, skeleton)
    np.testing.assert_array_equal(out.confidence, driving.confidence)  # missing stays missing
    assert (out.xy[~out.valid()] == 0).all()
    check_lengths_and_angles(out, driving, reference)
    # feet: the lowest ankle/heel of frame 0 is on the reference's ground line, no frame sinks below it
    ground = lowest_foot(reference)
    assert lowest_foot(out, 0) == pytest.approx(ground, abs=1e-3)
    for f in range(frames):
        if any(out.valid()[f, 0, i] for i in GROUND_POINTS if i < skeleton.num_keypoints):
            assert lowest_foot(out, f) <= ground + 1e-3
    # hip centre x lines up in frame 0
    hips = [8, 11]
    assert out.xy[0, 0, hips, 0].mean() == pytest.approx(reference.xy[0, 0, hips, 0].mean(), abs=1e-3)
    report = retarget_report(out, reference, driving)
    assert report.max_bone_error_rel < 1e-3 and report.max_angle_change_rad < 1e-4


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), frames=st.integers(1, 5))
def test_upper_body_reference_scales_legs_globally_and_anchors_neck(seed, frames):
    rng = np.random.default_rng(seed)
    driving = to_seq(build_poses(rng, HUMAN, frames, (320, 200), spread=30), HUMAN, 640, 480)
    ref_missing = np.zeros((1, HUMAN.num_keypoints), bool)
    ref_missing[0, list(LEGS_AND_FEET)] = True
    reference = to_seq(build_poses(rng, HUMAN, 1, (300, 150)), HUMAN, 600, 400, ref_missing)
    out = retarget(driving, reference)

    check_lengths_and_angles(out, driving, reference)
    np.testing.assert_allclose(out.xy[0, 0, 1], reference.xy[0, 0, 1], atol=1e-3)  # neck anchor
    # legs: driving length times the median reference/driving ratio over the bones both have
    pairs = bones(HUMAN)
    drv_len = np.linalg.norm(bone_vectors(driving, pairs)[0][0, 0], axis=-1)
    ref_vec, ref_ok = bone_vectors(reference, pairs)
    ratio = float(np.median(np.linalg.norm(ref_vec[0, 0], axis=-1)[ref_ok[0, 0]] / drv_len[ref_ok[0, 0]]))
    assert plan_retarget(driving, reference).global_scale == pytest.approx(ratio, rel=1e-4)
    out_len = np.linalg.norm(bone_vectors(out, pairs)[0], axis=-1)
    for i, (_, c) in enumerate(pairs):
        if c in LEGS_AND_FEET:
            np.testing.assert_allclose(out_len[:, 0, i], drv_len[i] * ratio, rtol=1e-3)
    # the face is a scaled copy about the nose: one ratio for every landmark and frame
    face_out = out.xy[:, 0, list(FACE)] - out.xy[:, 0, [0]]
    face_drv = driving.xy[:, 0, list(FACE)] - driving.xy[:, 0, [0]]
    scale = np.linalg.norm(face_out, axis=-1) / np.linalg.norm(face_drv, axis=-1)
    np.testing.assert_allclose(scale, plan_retarget(driving, reference).face_scale, rtol=1e-3)
    assert angle_diff(face_out.astype(np.float64), face_drv.astype(np.float64)).max() < 1e-3


def test_jumps_are_kept_and_feet_never_sink():
    rng = np.random.default_rng(7)
    base = build_poses(rng, BODY18, 1, (320, 200))[0]
    # the same pose: standing, jumping 50 px up, then crouching 30 px below the start (would sink)
    xy = np.stack([base, base - [0, 50], base + [0, 30]])
    driving = to_seq(xy, BODY18, 640, 480)
    reference = to_seq(build_poses(rng, BODY18, 1, (250, 300)), BODY18, 512, 768)
    out = retarget(driving, reference)
    g = plan_retarget(driving, reference).global_scale
    ground = lowest_foot(reference)
    assert lowest_foot(out, 0) == pytest.approx(ground, abs=1e-3)
    assert lowest_foot(out, 1) == pytest.approx(ground - 50 * g, abs=1e-3)  # jump kept, at the body's scale
    assert lowest_foot(out, 2) == pytest.approx(ground, abs=1e-3)  # clamped onto the ground
    np.testing.assert_allclose(out.xy[2] - out.xy[2, :, [1]], out.xy[0] - out.xy[0, :, [1]], atol=1e-3)


def test_missing_parent_hangs_from_ancestor_and_body18_reference_under_human_driving():
    rng = np.random.default_rng(11)
    missing = np.zeros((2, HUMAN.num_keypoints), bool)
    missing[1, 3] = True  # right elbow lost in frame 1: the wrist and hand still come along
    missing[1, 1] = True  # and the neck (root)
    driving = to_seq(build_poses(rng, HUMAN, 2, (320, 200)), HUMAN, 640, 480, missing)
    reference = to_seq(build_poses(rng, BODY18, 1, (250, 300)), BODY18, 512, 768)
    out = retarget(driving, reference)
    np.testing.assert_array_equal(out.confidence, driving.confidence)
    assert out.valid()[1, 0, 4] and out.valid()[1, 0, 115] and not out.valid()[1, 0, 3]
    check_lengths_and_angles(out, driving, to_seq(np.pad(reference.xy[:, 0], ((0, 0), (0, 118), (0, 0))), HUMAN,
                                                  512, 768, np.arange(136)[None] >= 18))
    report = retarget_report(out, reference.with_keypoints(reference.keypoints), driving)
    assert np.isfinite(report.max_bone_error_px)


def test_retarget_identity_when_reference_is_the_first_driving_frame():
    rng = np.random.default_rng(3)
    xy = build_poses(rng, HUMAN, 4, (320, 200), spread=20)
    # frame 0 has the lowest feet, so no later frame is lifted by the ground clamp
    xy = xy[np.argsort([-xy[f, list(GROUND_POINTS), 1].max() for f in range(4)])]
    driving = to_seq(xy, HUMAN, 640, 480)
    # a driving clip whose bone lengths are constant retargets onto its own first frame as itself
    out = retarget(driving, driving.frames([0]))
    np.testing.assert_allclose(out.keypoints, driving.keypoints, atol=2e-3)


def test_retarget_rejects_other_skeletons():
    from posegen_core.poses.skeletons import AP10K

    seq = PoseSequence(AP10K, np.zeros((1, 1, 17, 3), np.float32), 64, 64)
    with pytest.raises(ValueError, match="human"):
        retarget(seq, seq)
