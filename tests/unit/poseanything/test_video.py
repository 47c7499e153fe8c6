"""Skeleton video assembly (posegen_core.poseanything.video) against PoseAnything's golden inputs: the 81-frame
skeleton video, its pose-CFG static version and the first frame, encoded with the golden folder's stand-in VAE,
must give the stored latents. Plus the resolution rule, the PIL-equivalent resize, the skeleton format check, frame
index parsing and the frame grouping."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from posegen_core.errors import PoseGenInputError
from posegen_core.poseanything.stub_vae import stub_vae_encode
from posegen_core.poseanything.video import (
    assemble_skeleton_video,
    check_skeleton_frames,
    generation_size,
    latent_frame_count,
    latent_frame_of_pixel,
    parse_frame_indices,
    pixel_frames_of_latent,
    resize_like_pil_bilinear,
    static_skeleton_video,
    to_monochrome,
)

from ..conftest import golden_root

GOLDEN = "poseanything_tiny_v1"
NUM_FRAMES = 81
SIZE = (128, 96)  # the golden video, W×H


def _load_image(path: Path) -> torch.Tensor:
    """A PNG as a ComfyUI IMAGE frame: float [H, W, 3] in 0..1."""
    return torch.from_numpy(np.array(Image.open(path).convert("RGB"))).float() / 255.0


@pytest.fixture(scope="module")
def golden_dir() -> Path:
    return golden_root() / GOLDEN


@pytest.fixture(scope="module")
def inputs(golden_dir) -> dict[str, torch.Tensor]:
    return load_file(str(golden_dir / "inputs.safetensors"))


@pytest.fixture(scope="module")
def posed(golden_dir) -> dict[int, torch.Tensor]:
    """{frame index: skeleton} from video_inputs/skeleton_{iii}.png (the names are the condition indices)."""
    frames = {}
    for path in sorted((golden_dir / "video_inputs").glob("skeleton_*.png")):
        frames[int(re.fullmatch(r"skeleton_(\d{3})\.png", path.name).group(1))] = _load_image(path)
    return frames


@pytest.fixture(scope="module")
def skeleton_video(posed) -> torch.Tensor:
    return assemble_skeleton_video(posed, NUM_FRAMES, SIZE)


def _encode(video: torch.Tensor, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
    return stub_vae_encode(video, inputs["stub_vae_A"], inputs["stub_vae_b"])


# ---------------------------------------------------------------------------------------------------------------
# Golden latents


def test_posed_files_are_the_condition_index(posed, inputs):
    """Frame 85 is listed in the metadata but dropped (≥ 81) and has no file."""
    assert sorted(posed) == inputs["condition_index"].tolist()
    assert 85 not in posed


def test_skeleton_video_latents(skeleton_video, posed, inputs):
    assert generation_size(*SIZE, long_side=128) == SIZE
    assert skeleton_video.shape == (NUM_FRAMES, 96, 128, 3)
    unposed = [i for i in range(NUM_FRAMES) if i not in posed]
    assert not skeleton_video[unposed].any()
    torch.testing.assert_close(_encode(skeleton_video, inputs), inputs["skeleton_latents"], atol=1e-6, rtol=0)


def test_static_video_latents(skeleton_video, posed, inputs):
    static = static_skeleton_video(skeleton_video, sorted(posed))
    torch.testing.assert_close(_encode(static, inputs), inputs["skeleton_latents_static"], atol=1e-6, rtol=0)


def test_first_frame_latents(golden_dir, inputs):
    first = _load_image(golden_dir / "video_inputs" / "first_frame.png")
    assert generation_size(first.shape[1], first.shape[0], long_side=128) == SIZE
    first = resize_like_pil_bilinear(first.unsqueeze(0), SIZE)
    torch.testing.assert_close(_encode(first, inputs), inputs["first_frame_latents"], atol=1e-6, rtol=0)


def test_auto_indices_miss_a_posed_black_frame(skeleton_video, posed, inputs):
    """Frame 33 is posed but drawn all black: 'auto' cannot see it, and the static video then differs (the posed
    frame 33 shows frame 0's skeleton in the released static video). Explicit indices are needed for parity."""
    auto = parse_frame_indices("auto", NUM_FRAMES, images=skeleton_video)
    assert auto == [i for i in sorted(posed) if i != 33]
    static = static_skeleton_video(skeleton_video, auto)
    assert not torch.allclose(_encode(static, inputs), inputs["skeleton_latents_static"], atol=1e-3)


def test_golden_skeletons_pass_the_format_check(skeleton_video, golden_dir):
    check_skeleton_frames(skeleton_video, "skeleton_frames")
    drawings = [_load_image(p) for p in sorted((golden_dir / "segmentation").glob("*_skeleton_*.png"))]
    check_skeleton_frames(torch.stack(drawings), "skeleton_frames")


# ---------------------------------------------------------------------------------------------------------------
# Resolution and resize


@pytest.mark.parametrize(
    ("size", "expected"),
    [((832, 468), (832, 448)), ((604, 1080), (448, 832)), ((1920, 1080), (832, 448)), ((832, 832), (832, 832))],
)
def test_generation_size_examples(size, expected):
    assert generation_size(*size) == expected


def test_generation_size_rejects_a_zero_side():
    with pytest.raises(PoseGenInputError, match="first_frame: a 2000×20 image gives a 832×0"):
        generation_size(2000, 20, input_name="first_frame")


def _random_uint8(height: int, width: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


@pytest.mark.parametrize(
    ("in_wh", "out_wh"),
    [
        ((512, 288), (832, 448)),  # skeleton upscale (both axes up)
        ((832, 468), (832, 448)),  # height only
        ((1920, 1080), (832, 448)),  # both down, width first
        ((604, 1080), (448, 832)),  # both down, height first
        ((128, 96), (300, 7)),  # width up, height down: height first
        ((100, 100), (64, 48)),
        ((37, 53), (53, 37)),
    ],
)
def test_resize_equals_pil_bilinear(in_wh, out_wh):
    image = _random_uint8(in_wh[1], in_wh[0], seed=in_wh[0] * 7 + out_wh[1])
    expected = np.array(Image.fromarray(image).resize(out_wh, Image.BILINEAR))
    ours = resize_like_pil_bilinear(torch.from_numpy(image)[None].float() / 255, out_wh)
    assert ours.shape == (1, out_wh[1], out_wh[0], 3)
    assert np.array_equal(torch.round(ours[0] * 255).to(torch.uint8).numpy(), expected)


def test_resize_same_size_is_identity():
    frames = torch.rand(2, 10, 12, 3)
    assert torch.equal(resize_like_pil_bilinear(frames, (12, 10)), frames)


def test_float_interpolate_is_within_one_level_of_pil():
    """The documented residual of the plain torch route: same filter, float throughout, one rounding."""
    image = _random_uint8(1080, 1920, seed=3)
    expected = np.array(Image.fromarray(image).resize((832, 448), Image.BILINEAR)).astype(np.float64)
    x = torch.from_numpy(image).permute(2, 0, 1)[None].double()
    y = torch.nn.functional.interpolate(x, size=(448, 832), mode="bilinear", antialias=True, align_corners=False)
    diff = np.abs(torch.round(y[0].permute(1, 2, 0)).numpy() - expected)
    assert diff.max() <= 2 and 0 < (diff > 0).mean() < 0.25


# ---------------------------------------------------------------------------------------------------------------
# Skeleton format


def _polyline(image: np.ndarray, colours: list[tuple[int, int, int]], thickness: int) -> np.ndarray:
    h, w = image.shape[:2]
    points = [(w // 5, h // 6), (w // 2, h // 3), (3 * w // 5, h // 4), (4 * w // 5, 2 * h // 3), (w // 3, 5 * h // 6)]
    for i, colour in enumerate(colours):
        cv2.line(image, points[i], points[i + 1], colour, thickness, cv2.LINE_AA)
    return image


def _as_batch(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(image)[None].float() / 255


def test_antialiased_white_lines_pass_at_any_size():
    white = _as_batch(_polyline(np.zeros((288, 512, 3), np.uint8), [(255, 255, 255)] * 4, 3))
    check_skeleton_frames(white, "skeleton_frames")
    for size in [(832, 448), (128, 72)]:
        check_skeleton_frames(resize_like_pil_bilinear(white, size), "skeleton_frames")
    thin_hd = _as_batch(_polyline(np.zeros((1080, 1920, 3), np.uint8), [(255, 255, 255)] * 4, 2))
    check_skeleton_frames(resize_like_pil_bilinear(thin_hd, (832, 448)), "skeleton_frames")


def test_coloured_openpose_render_fails_and_converts():
    colours = [(255, 0, 0), (255, 170, 0), (0, 255, 0), (0, 85, 255)]
    drawing = _as_batch(_polyline(np.zeros((288, 512, 3), np.uint8), colours, 4))
    render = torch.cat([torch.zeros(1, 288, 512, 3), drawing])
    with pytest.raises(PoseGenInputError) as info:
        check_skeleton_frames(render, "skeleton_frames")
    message = str(info.value)
    assert info.value.input_name == "skeleton_frames"
    assert message.startswith("skeleton_frames: frame 1: coloured pixels: 100.0% of the drawn pixels")
    assert "white skeleton lines on black" in message and "monochrome" in message
    mono = to_monochrome(render)
    assert set(mono.unique().tolist()) == {0.0, 1.0}
    check_skeleton_frames(mono, "skeleton_frames")


def test_black_on_white_photos_and_depth_maps_fail(golden_dir, posed):
    with pytest.raises(PoseGenInputError, match="frame 0: bright background: 94.8% of the pixels are not black"):
        check_skeleton_frames((1 - posed[0])[None], "skeleton_frames")
    photo = _load_image(golden_dir / "video_inputs" / "first_frame.png")
    with pytest.raises(PoseGenInputError, match="frame 1: coloured pixels"):
        check_skeleton_frames(torch.stack([posed[0], photo]), "skeleton_frames")
    grey_photo = photo.mean(-1, keepdim=True).expand(-1, -1, 3)
    with pytest.raises(PoseGenInputError, match=r"skeleton_frames: frame 1 \(and 1 more frames\): not a line drawing"):
        check_skeleton_frames(torch.stack([posed[0], grey_photo, grey_photo]), "skeleton_frames")
    dim_gradient = torch.linspace(0, 0.15, 128).expand(96, 128).unsqueeze(-1).expand(-1, -1, 3)
    with pytest.raises(PoseGenInputError, match="not a line drawing"):
        check_skeleton_frames(dim_gradient[None], "skeleton_frames")


# ---------------------------------------------------------------------------------------------------------------
# Frame indices


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0,4,8", [0, 4, 8]),
        ("0-80:4", list(range(0, 81, 4))),
        (" 0 - 8 : 4 , 10,\t12 - 14 ", [0, 4, 8, 10, 12, 13, 14]),
        ("80", [80]),
        ("8,0", [8, 0]),
    ],
)
def test_parse_frame_indices(text, expected):
    assert parse_frame_indices(text, NUM_FRAMES) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("81", "frame 81 in '81' is out of range"),
        ("0-90:10", "out of range"),
        ("0,x", "cannot read 'x'"),
        ("-4", "cannot read '-4'"),
        ("8-4", "empty range"),
        ("0-8:0", "empty range"),
        ("0,4,4", "listed more than once"),
        ("", "is empty"),
        ("auto", "'auto' got no images"),
    ],
)
def test_parse_frame_indices_errors(text, problem):
    with pytest.raises(PoseGenInputError, match=re.escape(problem)) as info:
        parse_frame_indices(text, NUM_FRAMES, input_name="pose_frames")
    assert info.value.input_name == "pose_frames"


def test_auto_needs_a_dense_video_with_a_skeleton():
    with pytest.raises(PoseGenInputError, match="no frame with a skeleton"):
        parse_frame_indices("auto", 5, images=torch.zeros(5, 4, 4, 3))
    with pytest.raises(PoseGenInputError, match="a dense video of 5 frames"):
        parse_frame_indices("AUTO", 5, images=torch.zeros(3, 4, 4, 3))


# ---------------------------------------------------------------------------------------------------------------
# Assembly


def test_assemble_from_images_and_indices_resizes_posed_frames():
    frames = torch.zeros(2, 10, 20, 3)
    frames[:, 2:8, 5:15] = 1.0
    video = assemble_skeleton_video((frames, [0, 6]), 9, (40, 20))
    assert video.shape == (9, 20, 40, 3)
    assert torch.equal(video[0], resize_like_pil_bilinear(frames[:1], (40, 20))[0])
    assert video[6].any() and not video[[1, 2, 3, 4, 5, 7, 8]].any()


@pytest.mark.parametrize("posed", [{81: torch.zeros(4, 4, 3)}, {-1: torch.zeros(4, 4, 3)}])
def test_assemble_out_of_range_names_posed_frames(posed):
    with pytest.raises(PoseGenInputError, match=r"^posed_frames: frame index -?\d+ is out of range\. Expected 0\.\.80"):
        assemble_skeleton_video(posed, NUM_FRAMES, (4, 4))


def test_assemble_rejects_count_mismatch_and_non_rgb():
    with pytest.raises(PoseGenInputError, match="2 images for 3 frame indices"):
        assemble_skeleton_video((torch.zeros(2, 4, 4, 3), [0, 1, 2]), 5, (4, 4))
    with pytest.raises(PoseGenInputError, match="an RGB image"):
        assemble_skeleton_video({0: torch.zeros(4, 4, 4)}, 5, (4, 4))


def test_static_video_without_frame_0_is_black_at_posed_frames():
    video = torch.zeros(9, 2, 2, 3)
    video[[4, 8]] = torch.rand(2, 2, 2, 3)
    assert not static_skeleton_video(video, [4, 8]).any()
    video[0] = torch.rand(2, 2, 3)
    static = static_skeleton_video(video, [0, 4])
    assert torch.equal(static[4], video[0]) and torch.equal(static[8], video[8])
    with pytest.raises(PoseGenInputError, match="posed_frames: frame index 9 is out of range"):
        static_skeleton_video(video, [0, 9])


# ---------------------------------------------------------------------------------------------------------------
# Frame grouping


def test_latent_frame_count():
    assert latent_frame_count(81) == 21
    assert latent_frame_count(1) == 1
    for bad in (0, 80, 82):
        with pytest.raises(PoseGenInputError, match="num_frames"):
            latent_frame_count(bad)


def test_pixel_frames_of_latent_round_trip():
    assert pixel_frames_of_latent(0) == [0]
    assert pixel_frames_of_latent(1) == [1, 2, 3, 4]
    assert pixel_frames_of_latent(20) == [77, 78, 79, 80]
    covered = [f for k in range(21) for f in pixel_frames_of_latent(k)]
    assert covered == list(range(81))
    assert all(latent_frame_of_pixel(f) == k for k in range(21) for f in pixel_frames_of_latent(k))
