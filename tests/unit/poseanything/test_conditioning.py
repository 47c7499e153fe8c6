"""PoseAnything conditioning on synthetic skeleton videos and fake VAEs: the camera term and the decoupled negative,
the skeleton video and LATENT the conditioning node builds, the guider's part masks and settings, and the part plan
of a whole video."""

from __future__ import annotations

import math

import comfy.latent_formats
import cv2
import numpy as np
import pytest
import torch

from posegen_core.errors import PoseGenInputError
from posegen_core.poseanything.camera import CAMERA_MOTIONS, apply_camera_motion, camera_matrix
from posegen_core.poseanything.conditioning import build_inputs, encode_wan22, posed_skeletons, prepare_video
from posegen_core.poseanything.guidance import PTCMSettings, VideoParts
from posegen_core.poseanything.negative import (
    POSE_VIDEO_KEY,
    PoseVideoSource,
    decoupled_negative,
    negative_video,
)
from posegen_core.poseanything.part_plan import PART_COLOURS, parts_preview, video_parts
from posegen_core.poseanything.video import generation_size

W, H = 128, 96  # skeleton / first-frame size in the conditioning tests (long side 128 keeps it)
LENGTH = 9


# ---------------------------------------------------------------------------------------------------------------
# Helpers


def _dot_video(frames: int, width: int, height: int, x: int, y: int, radius: int = 1) -> torch.Tensor:
    video = torch.zeros(frames, height, width, 3)
    video[:, y - radius:y + radius + 1, x - radius:x + radius + 1] = 1.0
    return video


def _centroid(frame: torch.Tensor) -> tuple[float, float]:
    ys, xs = torch.nonzero(frame[..., 0] > 0.5, as_tuple=True)
    assert len(xs), "the dot left the frame"
    return float(xs.float().mean()), float(ys.float().mean())


def _apply(matrix: np.ndarray, x: float, y: float) -> tuple[float, float]:
    out = matrix @ np.array([x, y, 1.0])
    return float(out[0]), float(out[1])


def _skeleton(seed: int, width: int = W, height: int = H, colour=(255, 255, 255)) -> np.ndarray:
    """A white stick figure on black (uint8 [H, W, 3]), slightly different per seed."""
    img = np.zeros((height, width, 3), np.uint8)
    sx, sy = width / 128, height / 96
    dx = seed * 2

    def pt(x, y):
        return int(round(x * sx)), int(round(y * sy))

    cv2.line(img, pt(64, 20), pt(64, 55), colour, 2)
    cv2.line(img, pt(64, 30), pt(44 + dx, 45), colour, 2)
    cv2.line(img, pt(64, 30), pt(84 - dx, 45), colour, 2)
    cv2.line(img, pt(64, 55), pt(50 + dx, 85), colour, 2)
    cv2.line(img, pt(64, 55), pt(78 - dx, 85), colour, 2)
    return img


def _as_image(arrays) -> torch.Tensor:
    return torch.from_numpy(np.stack(arrays)).float() / 255.0


def _dense_video(posed=(0, 4, 8), length: int = LENGTH, width: int = W, height: int = H) -> torch.Tensor:
    frames = [_skeleton(i, width, height) if i in posed else np.zeros((height, width, 3), np.uint8)
              for i in range(length)]
    return _as_image(frames)


def _first_frame(width: int = W, height: int = H, seed: int = 0) -> torch.Tensor:
    return torch.rand(1, height, width, 3, generator=torch.Generator().manual_seed(seed))


class FakeWan22VAE:
    """Wan 2.2's latent geometry (48 channels, 16x spatial, causal 4x temporal); values follow the frames."""

    def __init__(self, channels: int = 48, spatial: int = 16) -> None:
        self.channels, self.spatial = channels, spatial
        self.inputs: list[torch.Tensor] = []
        self.outputs: list[torch.Tensor] = []

    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        self.inputs.append(frames.clone())
        count, height, width, _ = frames.shape
        groups = [frames[:1]] + [frames[1 + 4 * k:5 + 4 * k] for k in range((count - 1) // 4)]
        means = torch.stack([g.mean() for g in groups])
        latent = (means.view(1, 1, -1, 1, 1) + 0.01 * torch.arange(self.channels).view(1, -1, 1, 1, 1)).expand(
            1, self.channels, len(groups), height // self.spatial, width // self.spatial).contiguous()
        self.outputs.append(latent)
        return latent


class RecordingVAE:
    """Records the videos it encodes; the latent is each frame's mean, shaped [1, 1, F, 1, 1]."""

    def __init__(self) -> None:
        self.videos: list[torch.Tensor] = []

    def encode(self, video: torch.Tensor) -> torch.Tensor:
        self.videos.append(video.clone())
        return video.mean(dim=(1, 2, 3)).reshape(1, 1, -1, 1, 1)


def _source(vae, posed=(0, 2, 4), frames: int = 5, binary: bool = True, seed: int = 0) -> PoseVideoSource:
    g = torch.Generator().manual_seed(seed)
    video = torch.zeros(frames, 32, 48, 3)
    for i in posed:
        video[i, 8 + i:12 + i, 10:30] = 1.0 if binary else torch.rand(4, 20, 3, generator=g)
    return PoseVideoSource.from_images(video, tuple(posed), vae, binary=binary)


def _negative(source: PoseVideoSource, text: str = "neg") -> list:
    latent = source.encode(source.video())
    return [[torch.zeros(1, 3, 4), {"concat_latent_image": latent, POSE_VIDEO_KEY: source, "text": text}]]


# ---------------------------------------------------------------------------------------------------------------
# camera


@pytest.mark.parametrize("motion", CAMERA_MOTIONS)
def test_camera_matrix_is_identity_at_the_first_frame(motion):
    assert np.allclose(camera_matrix(motion, 1.0, 0.0, 64, 48), [[1, 0, 0], [0, 1, 0]])


def test_pan_left_moves_the_content_right_by_the_amount():
    assert _apply(camera_matrix("pan_left", 0.25, 1.0, 64, 48), 10, 20) == (26.0, 20.0)
    assert _apply(camera_matrix("pan_right", 0.25, 1.0, 64, 48), 30, 20) == (14.0, 20.0)
    assert _apply(camera_matrix("pan_up", 0.25, 1.0, 64, 48), 10, 20) == (10.0, 32.0)
    assert _apply(camera_matrix("pan_down", 0.5, 0.5, 64, 48), 10, 20) == (10.0, 8.0)
    video = _dot_video(5, 64, 48, x=10, y=20)
    out = apply_camera_motion(video, range(5), "pan_left", 0.25, binary=True)
    # progress i/4: the dot moves 0.25 * 64 * i/4 = 4i px right
    assert [_centroid(out[i]) for i in range(5)] == [(10.0 + 4 * i, 20.0) for i in range(5)]
    assert _centroid(out[4])[0] - _centroid(video[4])[0] == 0.25 * 64


@pytest.mark.parametrize("amount", [0.3, 1.0])
def test_zoom_scales_distances_from_the_centre(amount):
    centre = np.array([32.0, 24.0])
    zoom_in = camera_matrix("zoom_in", amount, 1.0, 64, 48)
    zoom_out = camera_matrix("zoom_out", amount, 1.0, 64, 48)
    for point in ([40.0, 24.0], [10.0, 5.0], [32.0, 24.0]):
        offset = np.array(point) - centre
        assert np.allclose(np.array(_apply(zoom_in, *point)) - centre, (1 + amount) * offset)
        assert np.allclose(np.array(_apply(zoom_out, *point)) - centre, offset / (1 + amount))
    half = camera_matrix("zoom_in", amount, 0.5, 64, 48)
    assert np.allclose(np.array(_apply(half, 40.0, 24.0)) - centre, (1 + amount / 2) * np.array([8.0, 0.0]))


def test_rotate_cw_turns_right_of_centre_into_below_centre():
    # y points down: clockwise on screen takes the point right of the centre to the one below it (and below to left)
    matrix = camera_matrix("rotate_cw", 1.0, 1.0, 64, 64)
    assert np.allclose(_apply(matrix, 32 + 10, 32), (32, 42))
    assert np.allclose(_apply(matrix, 32, 32 + 10), (22, 32))
    assert np.allclose(_apply(camera_matrix("rotate_ccw", 1.0, 1.0, 64, 64), 42, 32), (32, 22))
    video = _dot_video(3, 64, 64, x=48, y=32)
    out = apply_camera_motion(video, [0, 1, 2], "rotate_cw", 1.0, binary=True)
    assert _centroid(out[2]) == pytest.approx((32.0, 48.0))
    # halfway: 45 degrees clockwise
    r = 16 / math.sqrt(2)
    assert _centroid(out[1]) == pytest.approx((32 + r, 32 + r), abs=0.6)


def test_binary_output_stays_binary_and_frame_0_is_untouched():
    video = torch.zeros(5, 48, 64, 3)
    video[:, 22:25, 8:56] = 1.0  # a horizontal line
    video[0, 10:12, 20:30] = 1.0
    soft = apply_camera_motion(video, range(5), "rotate_cw", 0.3, binary=False)
    hard = apply_camera_motion(video, range(5), "rotate_cw", 0.3, binary=True)
    assert ((soft > 0) & (soft < 1)).any()  # the bilinear warp leaves grey edges ...
    assert set(torch.unique(hard).tolist()) == {0.0, 1.0}  # ... which binary re-thresholds
    assert hard.dtype == video.dtype and hard.shape == video.shape
    assert torch.equal(hard[0], video[0]) and torch.equal(soft[0], video[0])
    assert not torch.equal(hard[4], video[4])
    assert torch.equal(video[1:, 22:25, 8:56], torch.ones(4, 3, 48, 3))  # the input is not modified


def test_unposed_frames_stay_black():
    video = _dot_video(5, 64, 48, x=20, y=20)
    video[[1, 3]] = 0.0
    out = apply_camera_motion(video, [0, 2, 4], "zoom_in", 0.8, binary=True)
    assert out[1].abs().sum() == 0 and out[3].abs().sum() == 0
    assert out[2].sum() > 0 and not torch.equal(out[4], video[4])


def test_no_motion_returns_the_video():
    video = _dot_video(3, 64, 48, x=20, y=20)
    assert apply_camera_motion(video, [0, 1, 2], "none", 0.5, binary=True) is video
    assert apply_camera_motion(video, [0, 1, 2], "pan_left", 0.0, binary=True) is video


@pytest.mark.parametrize("amount", [-0.1, 1.5])
def test_camera_amount_out_of_range(amount):
    with pytest.raises(PoseGenInputError, match="^camera_amount: .*out of range"):
        apply_camera_motion(_dot_video(3, 64, 48, 20, 20), [0, 1, 2], "pan_left", amount, binary=True)


def test_unknown_camera_motion():
    with pytest.raises(PoseGenInputError, match="^camera_motion: 'dolly' is unknown"):
        apply_camera_motion(_dot_video(3, 64, 48, 20, 20), [0, 1, 2], "dolly", 0.5, binary=True)
    with pytest.raises(PoseGenInputError, match="^camera_motion:"):
        camera_matrix("spin", 0.5, 0.0, 64, 48)


# ---------------------------------------------------------------------------------------------------------------
# negative


def test_same_as_positive_without_camera_is_the_input_list():
    vae = RecordingVAE()
    negative = _negative(_source(vae))
    vae.videos.clear()
    assert decoupled_negative(negative, "same as positive") is negative
    assert decoupled_negative(negative, "same as positive", "pan_left", 0.0) is negative
    assert decoupled_negative(negative, "same as positive", "none", 0.7) is negative
    assert vae.videos == []


def test_static_first_frame_encodes_frame_0_on_every_posed_frame():
    vae = RecordingVAE()
    source = _source(vae, posed=(0, 2, 4), frames=5)
    negative = _negative(source)
    original = negative[0][1]["concat_latent_image"]
    vae.videos.clear()
    out = decoupled_negative(negative, "static first frame")
    (video,) = vae.videos
    full = source.video()
    assert not torch.equal(full[2], full[0])
    for i in (0, 2, 4):
        assert torch.equal(video[i], full[0])
    assert video[1].abs().sum() == 0 and video[3].abs().sum() == 0
    values = out[0][1]
    assert torch.equal(values["concat_latent_image"], video.mean(dim=(1, 2, 3)).reshape(1, 1, -1, 1, 1))
    assert values[POSE_VIDEO_KEY] is source and values["text"] == "neg"
    assert negative[0][1]["concat_latent_image"] is original  # the input conditioning is left alone
    assert out[0][0] is negative[0][0]


def test_camera_pan_changes_the_encoded_video():
    vae = RecordingVAE()
    source = _source(vae, posed=(0, 2, 4), frames=5)
    negative = _negative(source)
    vae.videos.clear()
    decoupled_negative(negative, "same as positive", "pan_left", 0.25)
    (video,) = vae.videos
    full = source.video()
    assert torch.equal(video[0], full[0])
    assert torch.equal(video[4], torch.roll(full[4], shifts=12, dims=1))  # 0.25 * 48 px right, nothing cut off
    assert set(torch.unique(video).tolist()) <= {0.0, 1.0}
    vae.videos.clear()
    decoupled_negative(negative, "static first frame", "pan_left", 0.25)
    assert torch.equal(vae.videos[0][4], torch.roll(full[0], shifts=12, dims=1))


def test_entries_sharing_a_source_are_encoded_once():
    vae = RecordingVAE()
    shared = _source(vae, seed=0)
    other = _source(vae, posed=(0, 3), seed=1)
    negative = _negative(shared, "a") + _negative(shared, "b") + _negative(other, "c")
    vae.videos.clear()
    out = decoupled_negative(negative, "static first frame")
    assert len(vae.videos) == 2
    assert out[0][1]["concat_latent_image"] is out[1][1]["concat_latent_image"]
    assert out[2][1]["concat_latent_image"] is not out[0][1]["concat_latent_image"]
    assert [values["text"] for _, values in out] == ["a", "b", "c"]


def test_negative_without_a_pose_video_is_refused():
    vae = RecordingVAE()
    negative = _negative(_source(vae)) + [[torch.zeros(1, 3, 4), {"concat_latent_image": torch.zeros(1)}]]
    with pytest.raises(PoseGenInputError, match="^negative: .*no pose video"):
        decoupled_negative(negative, "static first frame")


def test_re_encoded_latent_of_another_shape_is_refused():
    vae = RecordingVAE()
    negative = _negative(_source(vae))
    negative[0][1]["concat_latent_image"] = torch.zeros(1, 48, 2, 2, 3)
    with pytest.raises(PoseGenInputError, match=r"^negative: the re-encoded pose latent \(1, 1, 5, 1, 1\)"):
        decoupled_negative(negative, "static first frame")


def test_unknown_negative_pose():
    with pytest.raises(PoseGenInputError, match="^negative_pose: 'frozen' is unknown"):
        negative_video(_source(RecordingVAE()), "frozen", "none", 0.0)


def test_pose_video_source_keeps_8_bit_levels():
    levels = torch.arange(256, dtype=torch.float32) / 255.0
    images = levels.view(1, 16, 16, 1).expand(2, 16, 16, 4).clone()
    images[..., 3] = 0.25  # alpha is dropped
    source = PoseVideoSource.from_images(images, (0, 1), vae=None, binary=False)
    assert source.frames.dtype == torch.uint8 and source.frames.shape == (2, 16, 16, 3)
    assert torch.equal(source.frames[0, ..., 0].flatten(), torch.arange(256, dtype=torch.uint8))
    assert torch.equal(source.video(), images[..., :3])
    noisy = torch.rand(1, 8, 8, 3, generator=torch.Generator().manual_seed(0)) * 1.2 - 0.1
    back = PoseVideoSource.from_images(noisy, (0,), None, True).video()
    assert (back - noisy.clamp(0, 1)).abs().max() <= 0.5 / 255 + 1e-7
    assert source.posed == (0, 1) and source.binary is False


# ---------------------------------------------------------------------------------------------------------------
# conditioning: the skeleton video


def test_dense_video_auto_keeps_the_non_black_frames():
    dense = _dense_video((0, 4, 8))
    prepared = prepare_video(_first_frame(), dense, "auto", LENGTH, 128)
    assert prepared.posed == [0, 4, 8] and prepared.size == (W, H)
    assert prepared.skeleton_video.shape == (LENGTH, H, W, 3)
    for i in range(LENGTH):
        lit = prepared.skeleton_video[i].amax() > 0
        assert bool(lit) == (i in (0, 4, 8))
    assert torch.equal(prepared.skeleton_video, dense)
    assert prepared.first_frame.shape == (1, H, W, 3)


def test_dense_video_with_listed_frames_uses_only_those():
    dense = _dense_video((0, 4, 8))
    prepared = prepare_video(_first_frame(), dense, "0,8", LENGTH, 128)
    assert prepared.posed == [0, 8]
    assert prepared.skeleton_video[4].amax() == 0 and torch.equal(prepared.skeleton_video[8], dense[8])


def test_sparse_batch_is_placed_at_the_listed_frames():
    sparse = _as_image([_skeleton(i) for i in range(3)])
    prepared = prepare_video(_first_frame(), sparse, "0,4,8", LENGTH, 128)
    assert prepared.posed == [0, 4, 8]
    for n, i in enumerate((0, 4, 8)):
        assert torch.equal(prepared.skeleton_video[i], sparse[n])
    for i in (1, 2, 3, 5, 6, 7):
        assert prepared.skeleton_video[i].abs().sum() == 0
    images, indices = posed_skeletons(sparse, "0-8:4", LENGTH)
    assert images is sparse and indices == [0, 4, 8]


def test_auto_cannot_place_a_sparse_batch():
    with pytest.raises(PoseGenInputError, match="^posed_frames: 'auto' cannot place 3 skeleton frames"):
        prepare_video(_first_frame(), _as_image([_skeleton(i) for i in range(3)]), "auto", LENGTH, 128)


@pytest.mark.parametrize("text", ["0,4,9", "0-12:4"])
def test_posed_frame_out_of_range(text):
    with pytest.raises(PoseGenInputError, match="^posed_frames: .*out of range"):
        prepare_video(_first_frame(), _as_image([_skeleton(i) for i in range(3)]), text, LENGTH, 128)


def test_posed_frame_count_must_match_the_batch():
    with pytest.raises(PoseGenInputError, match="^posed_frames: lists 2 frames for 3 skeleton frames"):
        prepare_video(_first_frame(), _as_image([_skeleton(i) for i in range(3)]), "0,4", LENGTH, 128)
    with pytest.raises(PoseGenInputError, match="^skeleton_frames: has 13 frames for a 9-frame video"):
        prepare_video(_first_frame(), _dense_video((0,), length=13), "auto", LENGTH, 128)


@pytest.mark.parametrize("length", [8, 10, 0])
def test_length_must_be_4k_plus_1(length):
    with pytest.raises(PoseGenInputError, match=f"^length: {length} frames.*4k\\+1"):
        prepare_video(_first_frame(), _as_image([_skeleton(0)]), "0", length, 128)


def test_coloured_skeletons_are_refused():
    red = _as_image([_skeleton(i, colour=(255, 0, 0)) for i in range(3)])
    with pytest.raises(PoseGenInputError, match="^skeleton_frames: frame 0 .*coloured"):
        prepare_video(_first_frame(), red, "0,4,8", LENGTH, 128)


def test_skeletons_must_share_the_first_frames_aspect():
    square = _as_image([_skeleton(i, 96, 96) for i in range(3)])
    with pytest.raises(PoseGenInputError, match="^skeleton_frames: are 96x96 but the first frame is 128x96"):
        prepare_video(_first_frame(), square, "0,4,8", LENGTH, 128)
    # same aspect, other resolution: resized onto the generation size
    big = _as_image([_skeleton(i, 256, 192) for i in range(3)])
    prepared = prepare_video(_first_frame(), big, "0,4,8", LENGTH, 128)
    assert prepared.skeleton_video.shape == (LENGTH, H, W, 3)
    assert prepared.skeleton_video[4].amax() > 0.5 and prepared.skeleton_video[2].amax() == 0


@pytest.mark.parametrize("first", [None, torch.zeros(0, H, W, 3), torch.zeros(H, W, 3), torch.zeros(1, H, W, 2)])
def test_missing_or_empty_first_frame(first):
    with pytest.raises(PoseGenInputError, match="^first_frame: "):
        prepare_video(first, _dense_video(), "auto", LENGTH, 128)


def test_missing_skeletons():
    with pytest.raises(PoseGenInputError, match="^skeleton_frames: is missing or empty"):
        prepare_video(_first_frame(), None, "auto", LENGTH, 128)


def test_rgba_inputs_drop_their_alpha():
    first, dense = _first_frame(), _dense_video()
    rgb = prepare_video(first, dense, "auto", LENGTH, 128)
    alpha = torch.full((*dense.shape[:3], 1), 0.3)
    rgba = prepare_video(torch.cat([first, alpha[:1]], dim=-1), torch.cat([dense, alpha], dim=-1), "auto", LENGTH,
                         128)
    assert rgba.first_frame.shape[-1] == 3 and rgba.skeleton_video.shape[-1] == 3
    assert torch.equal(rgba.first_frame, rgb.first_frame) and torch.equal(rgba.skeleton_video, rgb.skeleton_video)
    assert rgba.posed == rgb.posed == [0, 4, 8]


@pytest.mark.parametrize(("size", "long_side", "want"), [((200, 150), 96, (96, 64)), ((150, 200), 96, (64, 96)),
                                                          ((128, 96), 64, (64, 32)), ((640, 360), 128, (128, 64))])
def test_generation_size_follows_the_long_side_rule(size, long_side, want):
    width, height = size
    assert generation_size(width, height, long_side) == want
    prepared = prepare_video(_first_frame(width, height), _dense_video(width=width, height=height), "auto", LENGTH,
                             long_side)
    assert prepared.size == want
    assert prepared.first_frame.shape == (1, want[1], want[0], 3)
    assert prepared.skeleton_video.shape == (LENGTH, want[1], want[0], 3)


def test_too_narrow_first_frame_is_named():
    with pytest.raises(PoseGenInputError, match="^first_frame: a 400×20 image"):
        prepare_video(_first_frame(400, 20), _dense_video(width=400, height=20), "auto", LENGTH, 128)


# ---------------------------------------------------------------------------------------------------------------
# conditioning: the VAE and the model inputs


def test_encode_wan22_checks_the_latent_shape():
    frames = torch.zeros(LENGTH, 64, 96, 4)
    vae = FakeWan22VAE()
    latent = encode_wan22(vae, frames)
    assert latent.shape == (1, 48, 3, 4, 6) and vae.inputs[0].shape[-1] == 3
    with pytest.raises(PoseGenInputError, match=r"^vae: encoded 9 frames of 96x64 .*\(1, 16, 3, 4, 6\).*Wan 2.2"):
        encode_wan22(FakeWan22VAE(channels=16), frames)
    with pytest.raises(PoseGenInputError, match=r"^first_vae: .*\(1, 48, 3, 8, 12\).*Wan 2.2"):
        encode_wan22(FakeWan22VAE(spatial=8), frames, "first_vae")


def test_build_inputs_fuses_the_first_frame_and_carries_the_pose_video():
    vae = FakeWan22VAE()
    first, dense = _first_frame(), _dense_video((0, 4, 8))
    built = build_inputs(vae, first, dense, "auto", LENGTH, 128)
    skeleton_in, first_in = vae.inputs
    skeleton_latent, first_latent = vae.outputs
    assert torch.equal(skeleton_in, built.video.skeleton_video) and torch.equal(first_in, built.video.first_frame)
    samples, mask = built.latent["samples"], built.latent["noise_mask"]
    assert samples.shape == (1, 48, 3, H // 16, W // 16)
    assert torch.equal(samples[:, :, :1], first_latent)
    zero = comfy.latent_formats.Wan22().process_out(torch.zeros_like(samples))
    assert zero.abs().sum() > 0  # the latent format's zero is not 0
    assert torch.equal(samples[:, :, 1:], zero[:, :, 1:])
    assert mask.shape == (1, 1, 3, H // 16, W // 16)
    assert mask[:, :, 0].abs().sum() == 0 and bool((mask[:, :, 1:] == 1).all())
    values = built.positive_values
    assert values["concat_latent_image"] is skeleton_latent
    source = values[POSE_VIDEO_KEY]
    assert isinstance(source, PoseVideoSource)
    assert source.posed == (0, 4, 8) and source.vae is vae and source.binary is True
    assert torch.equal(source.video(), built.video.skeleton_video)


def test_build_inputs_with_a_sparse_batch():
    vae = FakeWan22VAE()
    built = build_inputs(vae, _first_frame(), _as_image([_skeleton(i) for i in range(2)]), "0,8", LENGTH, 128)
    assert built.positive_values[POSE_VIDEO_KEY].posed == (0, 8)
    assert built.video.skeleton_video[4].amax() == 0 and built.video.skeleton_video[8].amax() == 1.0


def test_build_inputs_refuses_a_non_wan22_vae():
    with pytest.raises(PoseGenInputError, match="^vae: .*Wan 2.2"):
        build_inputs(FakeWan22VAE(channels=16), _first_frame(), _dense_video(), "auto", LENGTH, 128)


# ---------------------------------------------------------------------------------------------------------------
# guidance: part masks and PTCM settings


def test_video_parts_validation():
    one = np.ones((1, 2, 3), bool)
    with pytest.raises(ValueError, match="one mask stack per posed frame"):
        VideoParts(posed_frames=[0, 4], masks=[one])
    with pytest.raises(PoseGenInputError, match="^parts: the first posed frame is not frame 0"):
        VideoParts(posed_frames=[4], masks=[one])
    with pytest.raises(PoseGenInputError, match="^parts: the first posed frame is not frame 0"):
        VideoParts(posed_frames=[], masks=[])
    with pytest.raises(PoseGenInputError, match="^parts: the first frame's skeleton gave no parts"):
        VideoParts(posed_frames=[0, 4], masks=[np.zeros((0, 2, 3), bool), one])
    assert VideoParts(posed_frames=[0, 4], masks=[one, np.zeros((0, 2, 3), bool)]).alpha == 1


def test_token_masks_are_resized_to_the_token_grid():
    coarse = np.zeros((2, 2, 3), bool)
    coarse[0, 0, 0] = coarse[0, 1, 2] = coarse[1, 0, 1] = True
    fine = np.repeat(np.repeat(coarse, 4, axis=1), 4, axis=2)  # the same parts on a 4x finer canvas
    on_grid = np.zeros((1, 2, 3), bool)
    on_grid[0, 1, 1] = True
    parts = VideoParts(posed_frames=[0, 4, 8], masks=[fine, coarse, on_grid])
    first, by_frame = parts.token_masks(2, 3)
    assert set(by_frame) == {0, 4, 8}
    assert first.dtype == torch.bool and first.shape == (2, 2, 3)
    assert torch.equal(first, torch.from_numpy(coarse))
    assert by_frame[0] is first
    assert torch.equal(by_frame[4], torch.from_numpy(coarse)) and torch.equal(by_frame[8], torch.from_numpy(on_grid))
    bigger, _ = parts.token_masks(4, 6)
    assert torch.equal(bigger, torch.from_numpy(np.repeat(np.repeat(coarse, 2, axis=1), 2, axis=2)))


def test_ptcm_settings_block_for():
    assert PTCMSettings().block_for(30) == 27  # the released capture block
    assert PTCMSettings().block_for(2) == 1  # the last block of a shallower model
    assert PTCMSettings(capture_block=5).block_for(30) == 5
    assert PTCMSettings(capture_block=0).block_for(2) == 0
    for block in (30, -1):
        with pytest.raises(PoseGenInputError, match=f"^capture_block: {block} is not a block of this 30-block model"):
            PTCMSettings(capture_block=block).block_for(30)
    assert PTCMSettings().active_steps == 6 and PTCMSettings().match_mode == "released"


# ---------------------------------------------------------------------------------------------------------------
# part plan of a whole video


AW, AH = 96, 64  # the stick animal's video
ANIMAL_POSED = [0, 2, 4, 6, 8]


def _stick_animal(step: int) -> np.ndarray:
    img = np.zeros((AH, AW, 3), np.uint8)
    swing = int(round(4 * math.sin(step * 0.8)))
    white = (255, 255, 255)
    cv2.line(img, (28, 30), (66, 30), white, 2)  # body
    cv2.line(img, (66, 30), (78, 18), white, 2)  # neck and head
    cv2.line(img, (28, 30), (16, 22), white, 2)  # tail
    for hip in (30, 64):  # legs
        cv2.line(img, (hip, 30), (hip - 4 + swing, 56), white, 2)
    return img


@pytest.fixture(scope="module")
def animal():
    frames = [_stick_animal(i) if i in ANIMAL_POSED else np.zeros((AH, AW, 3), np.uint8) for i in range(9)]
    video = _as_image(frames)
    drawn = (frames[0][..., 0] > 0).astype(np.uint8)
    subject = cv2.dilate(drawn, np.ones((7, 7), np.uint8))  # the animal's body around its skeleton
    return video, torch.from_numpy(subject).float()[None]


def test_video_parts_of_a_stick_animal(animal):
    video, subject = animal
    parts = video_parts(video, ANIMAL_POSED, subject, 3, 2)
    assert parts.posed_frames == ANIMAL_POSED and len(parts.masks) == 5
    assert all(m.dtype == bool and m.ndim == 3 and m.shape[1:] == (2, 3) for m in parts.masks)
    assert 1 <= len(parts.masks[0]) <= 5 and parts.masks[0].any()
    assert all(stack.any(axis=(1, 2)).all() for stack in parts.masks[:1])  # every first-frame part has tokens
    assert 1 < parts.alpha < 100  # dilated until frame 0's skeleton covers the subject
    assert video_parts(video, ANIMAL_POSED, None, 3, 2).alpha == 1
    finer = video_parts(video, ANIMAL_POSED, subject, 12, 8)
    assert all(m.shape[1:] == (8, 12) for m in finer.masks) and finer.alpha == parts.alpha
    first, _ = finer.token_masks(8, 12)
    assert first.any() and not first.all()


def test_video_parts_needs_a_posed_first_frame(animal):
    video, subject = animal
    with pytest.raises(PoseGenInputError, match="^skeleton_frames: frame 0 has no skeleton"):
        video_parts(video, [2, 4], subject, 3, 2)


def test_parts_preview_colours_each_part(animal):
    masks = np.zeros((3, 2, 3), bool)
    masks[0, 0, 0] = masks[0, 0, 1] = True
    masks[1, 0, 1] = masks[1, 1, 2] = True  # on top of part 0 at (0, 1)
    masks[2, 1, 0] = True
    preview = parts_preview(VideoParts(posed_frames=[0], masks=[masks]), (6, 4))
    assert preview.shape == (1, 4, 6, 3) and preview.dtype == torch.float32
    colours = torch.from_numpy(PART_COLOURS)
    want = torch.zeros(2, 3, 3)
    want[0, 0], want[0, 1], want[1, 2], want[1, 0] = colours[0], colours[1], colours[1], colours[2]
    assert torch.equal(preview[0], want.repeat_interleave(2, dim=0).repeat_interleave(2, dim=1))

    video, subject = animal
    parts = video_parts(video, ANIMAL_POSED, subject, 3, 2)
    real = parts_preview(parts, (AW, AH))
    assert real.shape == (5, AH, AW, 3)
    palette = torch.cat([torch.zeros(1, 3), colours])
    pixels = real.reshape(-1, 3)
    assert bool(((pixels[:, None, :] == palette[None]).all(dim=-1)).any(dim=1).all())
    assert bool((real[0].reshape(-1, 3).abs().sum(dim=1) > 0).any())
