import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from posegen_core.longvideo.merge import (
    blend_pair,
    crossfade,
    crossfade_merge,
    crossfade_merge_uint8,
    crossfade_weights,
    merge_schedule,
)
from posegen_core.longvideo.plan import SegmentPlan, plan_segments

FRAME = (2, 3, 3)  # tiny frames: the merge is per pixel, the frame size does not matter


def reference_merge_uint8(chunks: list[np.ndarray], num_frames: int, head: int = 21, tail: int = 20) -> np.ndarray:
    """§4.4 written out as PoseGen's merge does it: grow a history, blend frame by frame in float64, truncate."""
    history = chunks[0]
    for i in range(1, len(chunks)):
        o = head if i % 2 == 1 else tail
        weights = np.linspace(1, 0, o)
        chunk = chunks[i]
        blended = []
        for j in range(o):
            w = weights[j]
            frame = w * history[-o + j].astype(np.float64) + (1 - w) * chunk[j].astype(np.float64)
            blended.append(frame.astype(np.uint8))
        history = np.concatenate([history[:-o], np.stack(blended), chunk[o:]])
    return history[:num_frames]


def _random_chunks(plan: SegmentPlan, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, size=(plan.segment_length, *FRAME), dtype=np.uint8) for _ in plan.chunks]


def test_weights_run_linearly_from_one_to_zero_inclusive():
    for o in (2, 20, 21):
        w = crossfade_weights(o)
        assert w.dtype == np.float64 and len(w) == o
        assert w[0] == 1.0 and w[-1] == 0.0
        np.testing.assert_array_equal(w, np.linspace(1, 0, o))
        np.testing.assert_allclose(np.diff(w), -1 / (o - 1), rtol=0, atol=1e-15)
    assert crossfade_weights(1).tolist() == [1.0]


def test_schedule_offsets_are_chunk_starts():
    plan = plan_segments(300)
    steps = merge_schedule(plan)
    assert [(s.chunk, s.offset, s.overlap) for s in steps] == [(0, 0, 0), (1, 60, 21), (2, 121, 20), (3, 181, 21),
                                                               (4, 242, 20)]


def test_constant_chunks_blend_to_linear_ramps():
    plan = plan_segments(300)
    values = [0.1, 0.9, 0.3, 0.7, 0.5]
    chunks = [torch.full((81, *FRAME), v, dtype=torch.float64) for v in values]
    out = crossfade_merge(chunks, plan)
    assert out.shape == (300, *FRAME) and out.dtype == torch.float64
    per_frame = out[:, 0, 0, 0]
    assert torch.all(per_frame == out.reshape(300, -1).T).item()  # every pixel of a frame is equal
    expected = np.empty(323)
    expected[0:81] = values[0]
    for chunk, v in zip(plan.chunks[1:], values[1:], strict=True):
        o = plan.overlap_before(chunk)
        w = np.linspace(1, 0, o)
        prev = values[chunk.index - 1]
        expected[chunk.start:chunk.start + o] = w * prev + (1 - w) * v
        expected[chunk.start + o:chunk.end] = v
    assert torch.equal(per_frame, torch.from_numpy(expected[:300]))
    # first overlap frame is all the earlier chunk, the last all the later one
    assert per_frame[60] == 0.1 and per_frame[80] == 0.9 and per_frame[121] == 0.9 and per_frame[140] == 0.3
    assert per_frame[70] == pytest.approx(0.5)  # the middle of a 21-frame overlap is an even mix


def test_float32_images_keep_their_dtype():
    plan = plan_segments(202)
    chunks = [torch.full((81, *FRAME), v) for v in (0.0, 1.0, 0.0)]
    out = crossfade_merge(chunks, plan)
    assert out.dtype == torch.float32 and out.shape[0] == 202
    np.testing.assert_allclose(out[60:81, 0, 0, 0].numpy(), np.linspace(0, 1, 21), atol=1e-7)


@settings(max_examples=60, deadline=None)
@given(length=st.integers(81, 900), pad=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_uint8_merge_is_bit_identical_to_posegens_loop(length, pad, seed):
    plan = plan_segments(length, pad=pad)
    chunks = _random_chunks(plan, seed)
    want = reference_merge_uint8(chunks, length)
    got = crossfade_merge_uint8(chunks, plan)
    assert isinstance(got, np.ndarray) and got.dtype == np.uint8
    assert got.shape == want.shape == (plan.output_frames, *FRAME)
    np.testing.assert_array_equal(got, want)
    got_torch = crossfade_merge_uint8([torch.from_numpy(c) for c in chunks], plan)
    assert isinstance(got_torch, torch.Tensor)
    np.testing.assert_array_equal(got_torch.numpy(), want)


@settings(max_examples=30, deadline=None)
@given(a=st.integers(0, 4), c=st.integers(1, 4), g=st.integers(1, 4), extra=st.integers(0, 200),
       seed=st.integers(0, 2**32 - 1))
def test_uint8_merge_matches_the_loop_for_other_overlaps(a, c, g, extra, seed):
    h0, t0 = 4 * a + 1, 4 * c
    s = h0 + t0 + 4 * g
    plan = plan_segments(s + extra, s, h0, t0)
    chunks = _random_chunks(plan, seed)
    np.testing.assert_array_equal(crossfade_merge_uint8(chunks, plan),
                                  reference_merge_uint8(chunks, s + extra, h0, t0))


@settings(max_examples=40, deadline=None)
@given(length=st.integers(81, 900), pad=st.booleans())
def test_output_length_is_the_driving_length(length, pad):
    plan = plan_segments(length, pad=pad)
    chunks = [torch.zeros(81, 1, 1, 3) for _ in plan.chunks]
    out = crossfade_merge(chunks, plan)
    assert out.shape[0] == (length if pad else plan.covered_frames) == plan.output_frames


@pytest.mark.parametrize("length", [82, 300, 323, 500])
def test_chunks_cut_from_one_video_reproduce_it(length):
    plan = plan_segments(length)
    gen = torch.Generator().manual_seed(length)
    video = torch.rand(plan.covered_frames, *FRAME, generator=gen)
    chunks = [video[c.start:c.end].clone() for c in plan.chunks]
    torch.testing.assert_close(crossfade_merge(chunks, plan), video[:length], rtol=0, atol=1e-6)
    # In float64 w·x + (1-w)·x comes out as exactly x for 8-bit x, so the truncation cannot lose a level here.
    video8 = (video * 255).to(torch.uint8)
    merged8 = crossfade_merge_uint8([video8[c.start:c.end].clone() for c in plan.chunks], plan)
    assert torch.equal(merged8, video8[:length])


def test_merge_writes_into_one_preallocated_output(monkeypatch):
    plan = plan_segments(700)
    chunks = [torch.rand(81, *FRAME) for _ in plan.chunks]
    want = crossfade_merge(chunks, plan)

    def no_cat(*args, **kwargs):
        raise AssertionError("crossfade_merge must not concatenate a growing history")

    monkeypatch.setattr(torch, "cat", no_cat)
    assert torch.equal(crossfade_merge(chunks, plan), want)


def test_blend_pair_cross_fades_two_batches():
    a = torch.full((10, *FRAME), 1.0, dtype=torch.float64)
    b = torch.zeros((7, *FRAME), dtype=torch.float64)
    out = blend_pair(a, b, 4)
    assert out.shape == (13, *FRAME)
    np.testing.assert_array_equal(out[:, 0, 0, 0].numpy(), [1.0] * 6 + list(np.linspace(1, 0, 4)) + [0.0] * 3)
    assert torch.equal(blend_pair(a, b, 0), torch.cat([a, b]))
    assert torch.equal(blend_pair(a, b, 1), torch.cat([a, b[1:]]))  # a single overlap frame is all a
    a8, b8 = torch.full((5, 1, 1, 1), 200, dtype=torch.uint8), torch.full((5, 1, 1, 1), 100, dtype=torch.uint8)
    assert blend_pair(a8, b8, 4)[1:5].flatten().tolist() == [200, 166, 133, 100]  # 166.67, 133.33 truncated
    with pytest.raises(ValueError, match="^overlap: "):
        blend_pair(a, b, 8)
    with pytest.raises(ValueError, match="^b: "):
        blend_pair(a, b.float(), 2)


def test_blend_pair_and_merge_share_the_kernel():
    plan = plan_segments(202)
    rng = np.random.default_rng(0)
    chunks = [torch.from_numpy(rng.random((81, *FRAME))) for _ in plan.chunks]
    pair = blend_pair(blend_pair(chunks[0], chunks[1], 21), chunks[2], 20)
    assert torch.equal(crossfade_merge(chunks, plan), pair)
    assert torch.equal(crossfade(chunks[0][60:], chunks[1][:21]), pair[60:81])


def test_merge_checks_its_inputs():
    plan = plan_segments(300)
    good = [torch.zeros(81, *FRAME) for _ in plan.chunks]
    with pytest.raises(ValueError, match=r"^chunks: 4 decoded chunks; the plan has 5"):
        crossfade_merge(good[:4], plan)
    with pytest.raises(ValueError, match=r"^chunks: chunk 2 has shape"):
        crossfade_merge([*good[:2], torch.zeros(80, *FRAME), *good[3:]], plan)
    with pytest.raises(ValueError, match=r"^chunks: chunk 0 has dtype torch.uint8"):
        crossfade_merge([g.to(torch.uint8) for g in good], plan)
    with pytest.raises(ValueError, match=r"^chunks: chunk 0 has dtype torch.float32; expected uint8"):
        crossfade_merge_uint8(good, plan)
    with pytest.raises(ValueError, match=r"^chunks: chunk 3 has dtype"):
        crossfade_merge([*good[:3], good[3].double(), good[4]], plan)


@pytest.mark.parametrize("frames", [81, 82, 300, 301, 420])
def test_windowed_merge_equals_the_reference_merge_and_gives_untouched_keyframes(frames):
    from posegen_core.longvideo.merge import FrameCollector, WindowedMerge

    plan = plan_segments(frames)
    g = torch.Generator().manual_seed(3)
    chunks = {c.index: torch.rand(81, 4, 6, 3, generator=g) for c in plan.chunks}
    collector, batches = FrameCollector(plan.output_frames), []
    merger = WindowedMerge(plan, lambda f: (collector(f), batches.append(f.shape[0])))
    while not merger.complete:
        chunk = merger.expects
        if chunk.is_base:
            merger.add_base(chunk, chunks[chunk.index])
            assert len(merger.held) <= 2  # never more than the two neighbours of a seam
            continue
        keys = merger.keyframes(chunk)
        assert torch.equal(keys.head, chunks[chunk.index - 1][-21:])  # the neighbours' own frames, unblended
        assert torch.equal(keys.tail, chunks[chunk.index + 1][:20])
        merger.add_transition(chunk, chunks[chunk.index])
    assert torch.equal(collector.result(), crossfade_merge([chunks[c.index] for c in plan.chunks], plan))
    assert sum(batches) == plan.output_frames == frames


def test_windowed_merge_refuses_chunks_out_of_order():
    from posegen_core.longvideo.merge import WindowedMerge

    plan = plan_segments(300)
    merger = WindowedMerge(plan, lambda f: None)
    with pytest.raises(ValueError, match="out of order; expected 0"):
        merger.keyframes(plan.transition_chunks[0])
    merger.add_base(plan.chunks[0], torch.zeros(81, 2, 2, 3))
    with pytest.raises(ValueError, match="out of order; expected 2"):
        merger.add_transition(plan.chunks[1], torch.zeros(81, 2, 2, 3))
