"""Chunk frames from their sources: rendered poses equal Render Poses' frames, picked by index."""

import numpy as np
import pytest
import torch

from posegen_core.errors import PoseGenInputError
from posegen_core.longvideo.frame_sources import BlackFrames, RenderedPoses, TensorFrames
from posegen_core.poses.render import render_sequence
from posegen_core.poses.sequence import PoseSequence
from posegen_core.poses.skeletons import AP10K, HUMAN


def _walk(skeleton=HUMAN, frames: int = 12, width: int = 96, height: int = 160) -> PoseSequence:
    rng = np.random.default_rng(3)
    base = rng.uniform([10, 10], [width - 10, height - 10], size=(1, 1, skeleton.num_keypoints, 2))
    drift = np.arange(frames)[:, None, None, None] * np.array([1.5, -0.8])
    xy = base + drift + rng.normal(0, 1, size=(frames, 1, skeleton.num_keypoints, 2))
    conf = np.ones((frames, 1, skeleton.num_keypoints, 1))
    conf[::3, :, ::7] = 0  # some joints missing, as detections have them
    return PoseSequence(skeleton, np.concatenate([xy, conf], -1).astype(np.float32), width, height, fps=30)


@pytest.mark.parametrize("style,size", [("posegen", (96, 160)), ("posegen", (72, 128)), ("openpose", (64, 64)),
                                        ("mono", (96, 160))])
def test_rendered_chunk_frames_equal_render_poses(style, size):
    seq = _walk()
    whole = torch.from_numpy(render_sequence(seq, style, *size)).float().div(255)  # what Render Poses outputs
    source = RenderedPoses(seq, style, *size)
    indices = np.array([3, 4, 5, 11, 11, 10, 9, 0])  # a chunk with mirror padding and a repeated frame
    assert torch.equal(source.frames(indices), whole[indices])
    assert source.num_frames == 12 and source.size == size and whole.any()


def test_tensor_and_black_frames():
    images = torch.rand(6, 8, 10, 4)
    source = TensorFrames(images)
    assert torch.equal(source.frames(np.array([5, 0])), images[[5, 0], ..., :3])
    assert source.size == (10, 8) and source.num_frames == 6
    black = BlackFrames(source).frames(np.array([1, 2, 3]))
    assert black.shape == (3, 8, 10, 3) and not black.any()


def test_a_style_that_cannot_draw_the_skeleton_names_the_input():
    with pytest.raises(PoseGenInputError, match="^render_style: 'posegen' cannot draw skeleton 'ap10k'"):
        RenderedPoses(_walk(AP10K), "posegen", 96, 160)
