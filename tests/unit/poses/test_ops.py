"""Pose sequence operations: trim, resample, pad, smooth, sparsify, mirror."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posegen_core.poses.ops import mirror_horizontally, pad_indices, pad_to_length, resample_fps, smooth, sparsify, trim
from posegen_core.poses.sequence import PoseSequence
from posegen_core.poses.skeletons import BODY18, HUMAN


def random_seq(frames: int, people: int = 1, seed: int = 0, fps: float | None = 30.0, missing: float = 0.2,
               skeleton=BODY18) -> PoseSequence:
    rng = np.random.default_rng(seed)
    kp = np.zeros((frames, people, skeleton.num_keypoints, 3), np.float32)
    kp[..., 0] = rng.uniform(0, 640, kp.shape[:3])
    kp[..., 1] = rng.uniform(0, 480, kp.shape[:3])
    kp[..., 2] = rng.uniform(0.3, 1.0, kp.shape[:3])
    gone = rng.random(kp.shape[:3]) < missing
    kp[gone] = 0.0
    return PoseSequence(skeleton, kp, 640, 480, fps=fps)


def frame_ids(seq: PoseSequence) -> list[int]:
    """Which source frame each frame came from, when frames were tagged with their index in x of point 0."""
    return [int(round(v)) for v in seq.keypoints[:, 0, 0, 0]]


def tagged(frames: int, inserted: tuple[int, ...] = ()) -> PoseSequence:
    kp = np.zeros((frames, 1, 18, 3), np.float32)
    kp[:, 0, 0, 0] = np.arange(frames)
    kp[:, 0, 0, 2] = 1.0
    return PoseSequence(BODY18, kp, 64, 64, fps=30.0, inserted=inserted)


# --- trim -----------------------------------------------------------------------------------------------------------


def test_trim_keeps_endpoints_and_markers():
    seq = tagged(10, inserted=(0, 4, 9))
    out = trim(seq, 2, 8)
    assert frame_ids(out) == [2, 3, 4, 5, 6, 7]
    np.testing.assert_array_equal(out.keypoints[0], seq.keypoints[2])
    np.testing.assert_array_equal(out.keypoints[-1], seq.keypoints[7])
    assert out.inserted == (2,)
    assert frame_ids(trim(seq, -3)) == [7, 8, 9]
    assert trim(seq, -3).inserted == (2,)
    assert frame_ids(trim(seq, 0)) == list(range(10))


@pytest.mark.parametrize(("start", "end", "word"), [(5, 5, "end"), (7, 3, "end"), (10, None, "start"),
                                                    (3, -8, "end")])
def test_trim_empty_is_an_error_naming_the_argument(start, end, word):
    with pytest.raises(ValueError, match=word):
        trim(tagged(10), start, end)


# --- resample -------------------------------------------------------------------------------------------------------


def test_resample_same_fps_is_identity():
    seq = random_seq(17, people=2)
    out = resample_fps(seq, 30)
    np.testing.assert_array_equal(out.keypoints, seq.keypoints)
    assert out.fps == 30


def test_resample_up_and_down_round_trips():
    seq = random_seq(23, people=2, seed=3)
    up = resample_fps(seq, 60)
    assert up.num_frames == 45 and up.fps == 60
    back = resample_fps(up, 30)
    assert back.num_frames == seq.num_frames
    np.testing.assert_allclose(back.keypoints, seq.keypoints, atol=1e-4)


@settings(max_examples=40, deadline=None)
@given(frames=st.integers(2, 40), src=st.sampled_from([12.0, 24.0, 25.0, 29.97, 30.0, 50.0, 60.0]),
       dst=st.sampled_from([8.0, 15.0, 16.0, 24.0, 30.0, 48.0, 60.0]), seed=st.integers(0, 10_000))
def test_resample_endpoints_and_linear_motion(frames, src, dst, seed):
    rng = np.random.default_rng(seed)
    x0, y0 = rng.uniform(50, 500, 2)
    vx, vy = rng.uniform(-4, 4, 2)  # px per source frame
    t = np.arange(frames)
    kp = np.zeros((frames, 1, 18, 3), np.float32)
    kp[:, 0, :, 0] = (x0 + vx * t)[:, None] + np.arange(18)
    kp[:, 0, :, 1] = (y0 + vy * t)[:, None]
    kp[:, 0, :, 2] = 1.0
    seq = PoseSequence(BODY18, kp, 640, 480, fps=src)
    out = resample_fps(seq, dst)
    np.testing.assert_array_equal(out.keypoints[0], seq.keypoints[0])
    np.testing.assert_array_equal(out.keypoints[-1], seq.keypoints[-1])
    # every output pose lies exactly on the line at its time
    pos = np.arange(out.num_frames) * (src / dst)
    pos[-1] = frames - 1
    np.testing.assert_allclose(out.keypoints[:, 0, 0, 0], x0 + vx * pos, atol=2e-3)
    np.testing.assert_allclose(out.keypoints[:, 0, 0, 1], y0 + vy * pos, atol=2e-3)
    assert out.num_frames == max(2, round((frames - 1) / src * dst) + 1)


def test_resample_missing_points_use_the_nearer_frame():
    kp = np.zeros((3, 1, 18, 3), np.float32)
    kp[:, 0, 0] = [[10, 10, 0.9], [20, 10, 0.5], [30, 10, 0.8]]
    kp[1, 0, 1] = [50, 50, 0.7]  # point 1 only in the middle frame
    kp[0, 0, 2] = [5, 5, 0.6]  # point 2 only in the first frame
    seq = PoseSequence(BODY18, kp, 64, 64, fps=10)
    out = resample_fps(seq, 40)  # positions 0, .25, .5, .75, 1, ..., 2
    assert out.num_frames == 9
    np.testing.assert_allclose(out.keypoints[1, 0, 0], [12.5, 10, 0.5])  # blend, confidence = min
    np.testing.assert_allclose(out.confidence[:, 0, 1], [0, 0, 0, 0.7, 0.7, 0.7, 0.7, 0, 0], atol=1e-7)
    np.testing.assert_allclose(out.keypoints[3, 0, 1], [50, 50, 0.7])  # nearer frame has it: copied
    np.testing.assert_allclose(out.confidence[:, 0, 2], [0.6, 0.6, 0.6, 0, 0, 0, 0, 0, 0], atol=1e-7)


def test_resample_needs_fps_and_refuses_inserted_frames():
    with pytest.raises(ValueError, match="source_fps"):
        resample_fps(random_seq(5, fps=None), 24)
    assert resample_fps(random_seq(5, fps=None), 60, source_fps=30).num_frames == 9
    with pytest.raises(ValueError, match="inserted"):
        resample_fps(tagged(5, inserted=(0,)), 60)


# --- pad ------------------------------------------------------------------------------------------------------------


def test_pad_index_patterns():
    assert pad_indices(4, 11, "loop").tolist() == [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2]
    # PoseGen's mirror padding: the edge frame repeats, then the sequence runs backwards (L-1, L-2, ...),
    # and bounces forwards again at frame 0
    assert pad_indices(4, 13, "mirror").tolist() == [0, 1, 2, 3, 3, 2, 1, 0, 0, 1, 2, 3, 3]
    assert pad_indices(4, 7, "hold").tolist() == [0, 1, 2, 3, 3, 3, 3]
    assert pad_indices(1, 3, "mirror").tolist() == [0, 0, 0]
    for mode in ("loop", "mirror", "hold"):
        assert pad_indices(6, 4, mode).tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize("mode", ["loop", "mirror", "hold"])
def test_pad_to_length_frames_and_markers(mode):
    seq = tagged(5, inserted=(4,))
    out = pad_to_length(seq, 12, mode)
    expected = pad_indices(5, 12, mode).tolist()
    assert frame_ids(out) == expected
    assert out.inserted == tuple(i for i, src in enumerate(expected) if src == 4)
    short = pad_to_length(seq, 3, mode)
    assert frame_ids(short) == [0, 1, 2] and short.inserted == ()


def test_pad_mirror_matches_posegen_tail():
    # §4.2: frames start..L-1 followed by L-1, L-2, ..., L-p
    seq = tagged(10)
    out = pad_to_length(seq, 14, "mirror")
    assert frame_ids(out)[10:] == [9, 8, 7, 6]


def test_pad_errors():
    with pytest.raises(ValueError, match="length"):
        pad_to_length(tagged(3), 0, "loop")
    with pytest.raises(ValueError, match="mode"):
        pad_to_length(tagged(3), 5, "reflect")  # type: ignore[arg-type]


# --- smooth ---------------------------------------------------------------------------------------------------------


def jitter_and_step(frames: int = 300, seed: int = 0) -> PoseSequence:
    rng = np.random.default_rng(seed)
    kp = np.zeros((frames, 1, 18, 3), np.float32)
    kp[..., 2] = 1.0
    kp[:, 0, 0, 0] = 200 + rng.normal(0, 2, frames)  # a still joint with detector jitter
    kp[:, 0, 0, 1] = 300 + rng.normal(0, 2, frames)
    kp[:, 0, 1, 0] = np.where(np.arange(frames) < frames // 2, 100, 300)  # a fast 200 px jump
    kp[:, 0, 1, 1] = 100
    return PoseSequence(BODY18, kp, 640, 480, fps=30)


@pytest.mark.parametrize(("params", "min_factor", "settle"), [({}, 4.0, 3), ({"min_cutoff": 0.3, "beta": 0.01}, 10, 8)])
def test_smooth_removes_jitter_but_follows_fast_motion(params, min_factor, settle):
    seq = jitter_and_step()
    out = smooth(seq, **params)
    for c in (0, 1):
        raw = np.var(seq.keypoints[30:, 0, 0, c])
        smoothed = np.var(out.keypoints[30:, 0, 0, c])
        assert raw / smoothed > min_factor
    step = out.keypoints[:, 0, 1, 0]
    half = seq.num_frames // 2
    np.testing.assert_allclose(step[:half], 100, atol=1e-4)
    assert abs(step[half + settle] - 300) < 2.0  # within 1 % of the jump after a few frames
    assert step[half] > 200  # the first frame after the jump already moves most of the way (beta)


def test_smooth_restarts_after_gap_and_keeps_missing():
    kp = np.zeros((20, 1, 18, 3), np.float32)
    kp[:, 0, 0] = [100, 100, 1.0]
    kp[10:, 0, 0, 0] = 400
    kp[8:10, 0, 0] = 0.0  # gone for two frames, reappears elsewhere
    seq = PoseSequence(BODY18, kp, 640, 480, fps=30)
    out = smooth(seq)
    assert (out.confidence[8:10, 0, 0] == 0).all() and (out.xy[8:10, 0, 0] == 0).all()
    np.testing.assert_allclose(out.keypoints[10:, 0, 0], kp[10:, 0, 0])  # restarted on the raw value
    np.testing.assert_array_equal(out.confidence, seq.confidence)


def test_smooth_leaves_inserted_frames():
    seq = jitter_and_step(40)
    kp = seq.keypoints.copy()
    kp[5] = 7.0
    kp[5, ..., 2] = 1.0
    seq = seq.with_keypoints(kp, inserted=(5,))
    out = smooth(seq)
    np.testing.assert_array_equal(out.keypoints[5], seq.keypoints[5])
    plain = smooth(seq.with_keypoints(np.delete(kp, 5, 0), inserted=()))  # the same clip without the insert
    np.testing.assert_allclose(np.delete(out.keypoints, 5, 0), plain.keypoints)


# --- sparsify -------------------------------------------------------------------------------------------------------


def test_sparsify_keeps_listed_frames_and_blanks_others():
    seq = random_seq(10, people=2, missing=0.0)
    out = sparsify(seq, keep=[0, 4, -1])
    assert out.num_frames == 10
    for f in range(10):
        if f in (0, 4, 9):
            np.testing.assert_array_equal(out.keypoints[f], seq.keypoints[f])
        else:
            assert not out.keypoints[f].any()
    every = sparsify(seq, every=3)
    assert [bool(every.confidence[f].any()) for f in range(10)] == [f % 3 == 0 for f in range(10)]
    both = sparsify(seq, keep=[1], every=5)
    assert [f for f in range(10) if both.confidence[f].any()] == [0, 1, 5]
    marked = sparsify(seq.with_keypoints(seq.keypoints, inserted=(7,)), every=5)
    assert marked.confidence[7].any() and marked.inserted == (7,)


def test_sparsify_errors():
    with pytest.raises(ValueError, match="keep"):
        sparsify(tagged(4))
    with pytest.raises(ValueError, match="keep"):
        sparsify(tagged(4), keep=[4])
    with pytest.raises(ValueError, match="every"):
        sparsify(tagged(4), every=0)


# --- mirror ---------------------------------------------------------------------------------------------------------


def test_mirror_swaps_sides_and_is_an_involution():
    seq = random_seq(4, people=2, seed=5, skeleton=HUMAN)
    out = mirror_horizontally(seq)
    l_wrist, r_wrist = HUMAN.index("left_wrist"), HUMAN.index("right_wrist")
    src = seq.keypoints[:, :, r_wrist]
    dst = out.keypoints[:, :, l_wrist]
    present = src[..., 2] > 0
    np.testing.assert_allclose(dst[..., 0][present], 640 - src[..., 0][present], atol=1e-4)
    np.testing.assert_array_equal(dst[..., 1:], src[..., 1:])
    np.testing.assert_array_equal(out.confidence[:, :, 0], seq.confidence[:, :, 0])  # nose keeps its slot
    assert (out.xy[out.confidence == 0] == 0).all()
    np.testing.assert_allclose(mirror_horizontally(out).keypoints, seq.keypoints, atol=1e-4)
