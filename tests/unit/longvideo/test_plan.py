import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from posegen_core.errors import PoseGenInputError
from posegen_core.longvideo.plan import (
    PlanError,
    SegmentPlan,
    base_pose_indices,
    plan_segments,
    transition_given_mask,
    transition_keyframes,
    transition_mask_channels,
    transition_pose_indices,
)


def _ranges(plan: SegmentPlan) -> list[tuple[int, str, int, int]]:
    return [(c.index, c.kind, c.start, c.end - 1) for c in plan.chunks]


def test_spec_example_300_frames():
    plan = plan_segments(300)
    assert _ranges(plan) == [
        (0, "base", 0, 80),
        (1, "transition", 60, 140),
        (2, "base", 121, 201),
        (3, "transition", 181, 261),
        (4, "base", 242, 322),
    ]
    assert [plan.overlap_before(c) for c in plan.chunks] == [0, 21, 20, 21, 20]
    assert plan.covered_frames == 323 and plan.output_frames == 300
    assert plan.anchor == 0 and [c.index for c in plan.run_order] == [0, 2, 4, 1, 3]
    assert [(c.head_given, c.tail_given) for c in plan.transition_chunks] == [(21, 20), (21, 20)]
    assert [c.index for c in plan.base_chunks] == [0, 2, 4]
    assert [plan.padded_frames(c) for c in plan.chunks] == [0, 0, 0, 0, 23]


def test_describe_lists_every_chunk_with_anchor_and_padding():
    text = plan_segments(300).describe()
    lines = text.splitlines()
    assert "300 driving frames" in lines[0] and "323 frames covered" in lines[1]
    assert "run order: 0, 2, 4, 1, 3" in lines[1]
    rows = lines[3:]
    assert len(rows) == 5
    assert rows[0].split()[:3] == ["0", "base", "0-80"] and rows[0].endswith("anchor")
    assert rows[1].split()[:5] == ["1", "transition", "60-140", "21", "21+20"]
    assert rows[2].split()[:4] == ["2", "base", "121-201", "20"]
    assert rows[4].endswith("padded: frames 300-322 mirror driving frames 299..277")
    assert "pad=False: driving frames 202-299 are not generated" in plan_segments(300, pad=False).describe()
    assert "all 81 frames mirror driving frames 42..0, 0..37" in plan_segments(82).describe()


def test_pad_false_uses_whole_periods_only():
    plan = plan_segments(300, pad=False)
    assert _ranges(plan) == [(0, "base", 0, 80), (1, "transition", 60, 140), (2, "base", 121, 201)]
    assert plan.output_frames == 202


@pytest.mark.parametrize("length", [81, 81 + 121, 81 + 121 * 3])
def test_exact_fit_has_no_padding(length):
    # The reference's ``[-0:]`` bug fed reversed frames of the wrong segment here; we must not.
    plan = plan_segments(length)
    assert plan.covered_frames == length
    last = plan.base_chunks[-1]
    assert last.end == length and plan.padded_frames(last) == 0
    np.testing.assert_array_equal(base_pose_indices(plan, last), np.arange(last.start, last.end))
    for c in plan.base_chunks:
        np.testing.assert_array_equal(base_pose_indices(plan, c), np.arange(c.start, c.end))


def test_last_base_chunk_mirror_pads_after_the_edge_frame():
    plan = plan_segments(300)
    idx = base_pose_indices(plan, plan.chunks[4])
    assert len(idx) == 81
    np.testing.assert_array_equal(idx[:58], np.arange(242, 300))
    np.testing.assert_array_equal(idx[58:], np.arange(299, 276, -1))  # 299, 298, ..., 277


def test_padding_bounces_when_the_reflection_runs_out():
    plan = plan_segments(82)  # base chunk 2 starts at 121, past the end of the poses
    idx = base_pose_indices(plan, plan.chunks[2])
    assert idx.tolist() == list(range(42, -1, -1)) + list(range(0, 38))
    assert idx.min() >= 0 and idx.max() <= 81


def test_transition_indices_extend_with_time_reversed_frames():
    plan = plan_segments(82)
    idx = transition_pose_indices(plan, plan.chunks[1])  # frames 60..81, then 59 reversed frames
    assert idx.tolist() == list(range(60, 82)) + list(range(81, 22, -1))
    full = plan_segments(300)
    np.testing.assert_array_equal(transition_pose_indices(full, full.chunks[3]), np.arange(181, 262))
    # Transition tails and the next base chunk's head point at the same driving frames, padding included.
    for p in (plan, full, plan_segments(250)):
        for t in p.transition_chunks:
            nxt, prev = p.chunks[t.index + 1], p.chunks[t.index - 1]
            np.testing.assert_array_equal(transition_pose_indices(p, t)[-p.tail_overlap:],
                                          base_pose_indices(p, nxt)[:p.tail_overlap])
            np.testing.assert_array_equal(transition_pose_indices(p, t)[:p.head_overlap],
                                          base_pose_indices(p, prev)[-p.head_overlap:])


def test_index_functions_check_the_chunk_kind():
    plan = plan_segments(300)
    with pytest.raises(ValueError, match="transition chunk"):
        base_pose_indices(plan, plan.chunks[1])
    with pytest.raises(ValueError, match="base chunk"):
        transition_pose_indices(plan, plan.chunks[0])
    with pytest.raises(ValueError, match="does not belong"):
        base_pose_indices(plan_segments(81), plan.chunks[2])


@st.composite
def layouts(draw):
    stride = draw(st.sampled_from([1, 2, 4, 8]))
    h0 = stride * draw(st.integers(0, 6)) + 1
    t0 = stride * draw(st.integers(1, 6))
    s = h0 + t0 + stride * draw(st.integers(1, 12))
    length = draw(st.integers(s, s + 6 * (2 * s - h0 - t0)))
    return length, s, h0, t0, stride


def _check_layout(plan: SegmentPlan, pad: bool) -> None:
    s, h0, t0, length = plan.segment_length, plan.head_overlap, plan.tail_overlap, plan.num_frames
    chunks = plan.chunks
    n = len(chunks)
    assert n % 2 == 1 and chunks[0].start == 0
    assert all(c.end - c.start == s for c in chunks)
    assert [c.kind for c in chunks] == ["base" if i % 2 == 0 else "transition" for i in range(n)]
    for a, b in zip(chunks, chunks[1:], strict=False):
        assert b.start == a.end - (h0 if a.index % 2 == 0 else t0)  # base->transition H0, transition->base T0
    bases = plan.base_chunks
    for a, b in zip(bases, bases[1:], strict=False):
        # Base chunks never overlap; the gap between them is exactly the transition's generated middle
        # (S - H0 - T0 frames: 40 for PoseGen, frames 81-120 between base chunks 0-80 and 121-201).
        assert b.start == a.end + (s - h0 - t0)
    assert plan.covered_frames == n * s - n // 2 * (h0 + t0)
    if pad:
        assert chunks[-1].end >= length
        assert len(bases) == 1 or bases[-2].end < length  # no chunk more than needed
        covered = np.zeros(length, dtype=bool)
        for c in chunks:
            covered[c.start:min(c.end, length)] = True
        assert covered.all()
    else:
        assert chunks[-1].end <= length < chunks[-1].end + 2 * s - h0 - t0
    for t in plan.transition_chunks:
        assert (t.head_given, t.tail_given) == (h0, t0)
        # the given head/tail are exactly the frames shared with the neighbouring base chunks
        assert chunks[t.index - 1].end - t.start == h0 and t.end - chunks[t.index + 1].start == t0
    for c in chunks:
        idx = base_pose_indices(plan, c) if c.is_base else transition_pose_indices(plan, c)
        assert len(idx) == s and idx.min() >= 0 and idx.max() < length
        own = min(c.end, length) - c.start
        if own > 0:
            np.testing.assert_array_equal(idx[:own], np.arange(c.start, c.start + own))
        if 0 < own < s:
            assert idx[own] == length - 1  # the edge frame repeats first


@settings(max_examples=300, deadline=None)
@given(length=st.integers(81, 3000), pad=st.booleans())
def test_default_layout_invariants(length, pad):
    _check_layout(plan_segments(length, pad=pad), pad)


@settings(max_examples=300, deadline=None)
@given(layout=layouts(), pad=st.booleans())
def test_general_layout_invariants(layout, pad):
    length, s, h0, t0, stride = layout
    plan = plan_segments(length, s, h0, t0, temporal_stride=stride, pad=pad)
    _check_layout(plan, pad)


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"segment_length": 80}, "segment_length"),
        ({"segment_length": 0}, "segment_length"),
        ({"segment_length": 41}, "segment_length"),  # 41 - 21 - 20 = 0 frames to generate
        ({"head_overlap": 20}, "head_overlap"),
        ({"head_overlap": 0}, "head_overlap"),
        ({"tail_overlap": 21}, "tail_overlap"),
        ({"tail_overlap": 0}, "tail_overlap"),
        ({"temporal_stride": 0}, "temporal_stride"),
        ({"anchor": 3}, "anchor"),
        ({"anchor": -1}, "anchor"),
        ({"segment_length": 81.0}, "segment_length"),
        ({"num_frames": True}, "pose_frames"),
    ],
)
def test_invalid_arguments_name_themselves(kwargs, argument):
    args = {"num_frames": 300, **kwargs}
    with pytest.raises(PlanError) as info:
        plan_segments(**args)
    assert str(info.value).startswith(f"{argument}: ")
    assert info.value.argument == argument == info.value.input_name
    assert isinstance(info.value, PoseGenInputError) and isinstance(info.value, ValueError)
    renamed = info.value.renamed("layout_" + argument)  # errors are data: a node renames by attribute
    assert isinstance(renamed, PlanError) and renamed.argument == "layout_" + argument
    assert str(renamed) == f"layout_{argument}: {info.value.problem}"


def test_anchor_range_is_reported_and_stored_as_chunk_index():
    with pytest.raises(PlanError, match=r"^anchor: base chunk 3 does not exist; this plan has 3 base chunks, so "
                                        r"expected 0\.\.2"):
        plan_segments(300, anchor=3)
    plan = plan_segments(300, anchor=2)
    assert plan.anchor == 4 and plan.chunks[plan.anchor].is_base
    assert [c.index for c in plan.run_order] == [4, 0, 2, 1, 3]
    assert "anchor" in plan.describe().splitlines()[-1]


def test_poses_shorter_than_one_segment():
    with pytest.raises(PlanError, match=r"^pose_frames: 50 frames is shorter than one segment \(81 frames\); "
                                        r"shorten segment_length to at most 49, or pad the poses"):
        plan_segments(50)
    with pytest.raises(PlanError, match=r"^pose_frames: no frames"):
        plan_segments(0)
    assert len(plan_segments(81).chunks) == 1


def test_transition_mask_matches_posegen_defaults():
    plan = plan_segments(300)
    given = transition_given_mask(plan)
    assert given.shape == (81,)
    assert torch.all(given[:21] == 1) and torch.all(given[21:61] == 0) and torch.all(given[61:] == 1)
    m = transition_mask_channels(plan)
    assert m.shape == (4, 21)
    want = torch.zeros(4, 21)
    want[:, :6] = 1
    want[:, 16:] = 1
    assert torch.equal(m, want)


@settings(max_examples=50, deadline=None)
@given(a=st.integers(0, 8), c=st.integers(1, 8), g=st.integers(1, 8))
def test_transition_mask_is_constant_within_latent_frames(a, c, g):
    h0, t0 = 4 * a + 1, 4 * c
    s = h0 + t0 + 4 * g
    m = transition_mask_channels(plan_segments(s, s, h0, t0))
    assert m.shape == (4, (s - 1) // 4 + 1) and torch.all(m == m[:1])
    assert torch.all(m[0, :a + 1] == 1) and torch.all(m[0, a + 1:a + 1 + g] == 0) and torch.all(m[0, a + 1 + g:] == 1)


def test_transition_mask_needs_the_wan_stride():
    with pytest.raises(ValueError, match="stride"):
        transition_mask_channels(plan_segments(300, 41, 9, 8, temporal_stride=8))


@pytest.mark.parametrize("backend", ["torch", "numpy"])
def test_transition_keyframes_take_neighbour_tail_and_head(backend):
    plan = plan_segments(300)
    prev = torch.arange(81, dtype=torch.float32).view(81, 1, 1, 1).expand(81, 2, 3, 3) / 100
    nxt = prev + 1
    pose = torch.full((81, 2, 3, 3), -1.0)
    if backend == "numpy":
        prev, nxt, pose = prev.numpy().copy(), nxt.numpy().copy(), pose.numpy().copy()
    keys = transition_keyframes(plan, plan.chunks[1], prev, nxt)
    assert keys.head_positions == range(0, 21) and keys.tail_positions == range(61, 81)
    assert keys.head.shape[0] == 21 and keys.tail.shape[0] == 20
    mixed = keys.apply(pose)
    assert type(mixed) is type(pose) and mixed.shape == pose.shape
    np.testing.assert_array_equal(np.asarray(mixed[:21]), np.asarray(prev[60:]))
    np.testing.assert_array_equal(np.asarray(mixed[61:]), np.asarray(nxt[:20]))
    assert (np.asarray(mixed[21:61]) == -1).all() and (np.asarray(pose) == -1).all()  # a copy, input untouched


def test_transition_keyframes_check_inputs():
    plan = plan_segments(300)
    good = torch.zeros(81, 2, 2, 3)
    with pytest.raises(ValueError, match="^prev_frames: "):
        transition_keyframes(plan, plan.chunks[1], good[:80], good)
    with pytest.raises(ValueError, match="^next_frames: "):
        transition_keyframes(plan, plan.chunks[1], good, torch.zeros(81, 4, 2, 3))
    with pytest.raises(ValueError, match="base chunk"):
        transition_keyframes(plan, plan.chunks[2], good, good)
    with pytest.raises(ValueError, match="^frames: "):
        transition_keyframes(plan, plan.chunks[1], good, good).apply(good[:40])
