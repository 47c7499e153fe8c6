"""Skeleton video assembly for PoseAnything (§2.2–§2.4, §4.1).

PoseAnything conditions on an 81-frame (4k+1) skeleton video: posed frames carry a white-on-black skeleton drawing,
every other frame is black (an *encoded* black frame, not a zero latent). This module holds the pure-torch pieces a
node needs, on ComfyUI IMAGE tensors (float [F, H, W, 3] in 0..1):

- :func:`generation_size`: the released resolution rule (long side 832, both sides floored to multiples of 32);
- :func:`resize_like_pil_bilinear`: the released resize (torchvision on PIL images, i.e. PIL's bilinear filter),
  re-implemented with PIL's own 8-bit fixed-point arithmetic so 8-bit frames come out identical to PIL;
- :func:`check_skeleton_frames` / :func:`to_monochrome`: the skeleton format check and a conversion for coloured
  renders (OpenPose-style colours are not what the model was trained on);
- :func:`parse_frame_indices`, :func:`assemble_skeleton_video`, :func:`static_skeleton_video`: which frames are
  posed, the full video, and the pose-CFG "static" video of the negative branch;
- :func:`latent_frame_count`, :func:`pixel_frames_of_latent`, :func:`latent_frame_of_pixel`: the causal VAE's
  frame grouping (pixel frame 0 → latent 0, pixel frames 4k−3..4k → latent k).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from ..errors import PoseGenInputError

LONG_SIDE = 832  # every released script
SIZE_MULTIPLE = 32  # VAE stride 16 × patch 2
FRAMES_PER_LATENT = 4

# PIL resamples 8-bit images with integer coefficients of this many fraction bits (32 − 8 − 2).
_PIL_PRECISION_BITS = 22

# Skeleton format check (white lines on black). Antialiasing and resizing blur line edges into greys, so the check
# only rejects what cannot be a white-on-black line drawing.
DARK_LEVEL = 0.1  # brightest channel at or below this: background
BRIGHT_LEVEL = 0.9  # brightest channel at or above this: line core
COLOUR_SPREAD = 0.1  # max − min over the channels above this: a coloured pixel
MAX_COLOURED_FRACTION = 0.05  # of the drawn (non-background) pixels
MAX_GREY_FRACTION = 0.10  # of all pixels: line edges are a small part of the frame, photos and depth maps are not
MAX_DRAWN_FRACTION = 0.5  # of all pixels: more than this is a bright background (black lines on white?)
AUTO_BLACK_LEVEL = 0.05  # "auto" frame selection: a frame whose brightest pixel is below this counts as black

_RANGE_ITEM = re.compile(r"^(\d+)(?:-(\d+)(?::(\d+))?)?$")


# ---------------------------------------------------------------------------------------------------------------
# Size and resize


def generation_size(
    width: int, height: int, long_side: int = LONG_SIDE, multiple: int = SIZE_MULTIPLE, input_name: str = "image"
) -> tuple[int, int]:
    """(w, h) to generate at: each side scaled by long_side / max(w, h) and floored, then floored to ``multiple``.

    No crop, so the aspect ratio shifts slightly (832×468 → 832×448). Integer arithmetic gives the exact floor.
    """
    if width <= 0 or height <= 0:
        raise PoseGenInputError(input_name, f"image size is {width}×{height}.", "a non-empty image")
    if long_side < multiple or multiple <= 0:
        raise PoseGenInputError("long_side", f"got {long_side} with multiple {multiple}.", f"at least {multiple}")
    longest = max(width, height)
    out_w = width * long_side // longest // multiple * multiple
    out_h = height * long_side // longest // multiple * multiple
    if out_w == 0 or out_h == 0:
        raise PoseGenInputError(
            input_name,
            f"a {width}×{height} image gives a {out_w}×{out_h} generation size at long side {long_side}.",
            f"an aspect ratio whose short side reaches {multiple} px when the long side is {long_side}",
        )
    return out_w, out_h


@functools.lru_cache(maxsize=16)
def _pil_bilinear_taps(in_size: int, out_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """PIL's bilinear taps for one axis: source indices and fixed-point weights, both [out_size, K].

    Downscaling widens the triangle filter by the scale factor (antialiasing); the normalised weights are rounded to
    ``_PIL_PRECISION_BITS`` fraction bits exactly as PIL does, so the sums below reproduce its integer results.
    """
    scale = in_size / out_size
    filter_scale = max(scale, 1.0)
    inverse = 1.0 / filter_scale  # PIL multiplies by the reciprocal; dividing can round differently
    support = filter_scale  # triangle filter support 1, widened when downscaling
    taps: list[tuple[int, list[float]]] = []
    for out_x in range(out_size):
        center = (out_x + 0.5) * scale
        first = max(int(center - support + 0.5), 0)
        last = min(int(center + support + 0.5), in_size)
        weights = [max(0.0, 1.0 - abs((x - center + 0.5) * inverse)) for x in range(first, last)]
        total = sum(weights)
        weights = [w / total for w in weights] if total else weights
        taps.append((first, [math.floor(w * (1 << _PIL_PRECISION_BITS) + 0.5) for w in weights]))
    width = max(len(w) for _, w in taps)
    index = torch.zeros(out_size, width, dtype=torch.long)
    fixed = torch.zeros(out_size, width, dtype=torch.float64)
    for out_x, (first, weights) in enumerate(taps):
        index[out_x, : len(weights)] = torch.arange(first, first + len(weights))
        fixed[out_x, : len(weights)] = torch.tensor(weights, dtype=torch.float64)
    return index, fixed


def _resample_axis(levels: torch.Tensor, out_size: int, dim: int) -> torch.Tensor:
    """One PIL pass over ``dim`` of 8-bit levels (float64; integer sums stay exact far below 2**53)."""
    index, fixed = _pil_bilinear_taps(levels.shape[dim], out_size)
    moved = levels.movedim(dim, -1).contiguous()
    acc = torch.full((*moved.shape[:-1], out_size), float(1 << (_PIL_PRECISION_BITS - 1)), dtype=torch.float64)
    for k in range(index.shape[1]):
        acc.addcmul_(moved.index_select(-1, index[:, k]), fixed[:, k])
    # PIL shifts right (floor) and clips to 0..255 after every pass: the intermediate image is 8-bit too.
    out = torch.floor(acc / (1 << _PIL_PRECISION_BITS)).clamp_(0, 255)
    return out.movedim(-1, dim)


def _pass_order(in_w: int, in_h: int, out_w: int, out_h: int) -> list[int]:
    """Dims to resample, in Pillow's order (1 = width, 0 = height); the 8-bit rounding between passes makes the order
    visible. Pillow 13 goes height-first when it shrinks the height by more than twice what it takes off the width
    (found by fitting its output over 1,500 random size pairs, zero exceptions); otherwise width-first."""
    height_first = out_h < in_h and 2 * (in_w - out_w) < in_h - out_h
    order = [0, 1] if height_first else [1, 0]
    return [dim for dim in order if (in_w, in_h)[1 - dim] != (out_w, out_h)[1 - dim]]


def resize_like_pil_bilinear(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize float [F, H, W, C] images in 0..1 to ``size`` = (w, h) as ``PIL.Image.resize(size, BILINEAR)`` does.

    The frames are taken at 8-bit levels (round(x·255), as the PNGs PIL would read) and resampled with PIL's
    two-pass fixed-point algorithm (8-bit intermediate, pass order of :func:`_pass_order`), so the result equals
    Pillow 13's output exactly (checked against the installed Pillow in the tests; Pillow ≤ 11 always resamples
    width first and can then differ by one level where this goes height first). For comparison,
    ``torch.nn.functional.interpolate(mode="bilinear", antialias=True)`` uses the same filter but stays in float and
    rounds once: measured against Pillow it is off by one 8-bit level (rarely two) on 15–20% of the pixels of noise
    or photos and 0.3–0.9% of the pixels of skeleton drawings. Same size → unchanged (PIL returns a copy).
    """
    out_w, out_h = size
    if out_w <= 0 or out_h <= 0:
        raise PoseGenInputError("size", f"got {out_w}×{out_h}.", "a positive width and height")
    if images.ndim != 4:
        raise PoseGenInputError("images", f"got shape {tuple(images.shape)}.", "an IMAGE batch [F, H, W, C]")
    if (images.shape[2], images.shape[1]) == (out_w, out_h):
        return images.clone()
    axes = _pass_order(images.shape[2], images.shape[1], out_w, out_h)
    frames = []
    for frame in images:  # one frame at a time bounds the float64 working memory
        levels = torch.round(frame.to(torch.float64).clamp(0, 1) * 255)
        for dim in axes:
            levels = _resample_axis(levels, out_w if dim == 1 else out_h, dim=dim)
        frames.append(levels.to(torch.float32) / 255)  # as ComfyUI's LoadImage scales 8-bit pixels
    return torch.stack(frames)


# ---------------------------------------------------------------------------------------------------------------
# Skeleton format


@dataclass(frozen=True)
class FrameStats:
    drawn: float  # fraction of all pixels brighter than DARK_LEVEL
    grey: float  # fraction of all pixels strictly between DARK_LEVEL and BRIGHT_LEVEL
    coloured: float  # fraction of the drawn pixels with a channel spread above COLOUR_SPREAD


def skeleton_frame_stats(frame: torch.Tensor) -> FrameStats:
    """The three numbers :func:`check_skeleton_frames` judges a [H, W, 3] frame by."""
    brightest = frame.amax(dim=-1)
    spread = brightest - frame.amin(dim=-1)
    drawn = brightest > DARK_LEVEL
    n_drawn = int(drawn.sum())
    grey = drawn & (brightest < BRIGHT_LEVEL)
    coloured = int((drawn & (spread > COLOUR_SPREAD)).sum()) / n_drawn if n_drawn else 0.0
    return FrameStats(n_drawn / brightest.numel(), float(grey.float().mean()), coloured)


def _format_problem(stats: FrameStats) -> tuple[str, str] | None:
    """(problem, advice) for a frame that is not a white-on-black drawing, else None."""
    if stats.coloured > MAX_COLOURED_FRACTION:
        return (
            f"coloured pixels: {stats.coloured:.1%} of the drawn pixels have a channel spread > {COLOUR_SPREAD}",
            "render the skeleton with the monochrome style, or convert it with to_monochrome",
        )
    if stats.grey > MAX_GREY_FRACTION:
        return (
            f"not a line drawing: {stats.grey:.1%} of the pixels are mid-grey (between {DARK_LEVEL} and "
            f"{BRIGHT_LEVEL})",
            "a skeleton drawing, not a photo or a depth/normal map",
        )
    if stats.drawn > MAX_DRAWN_FRACTION:
        return (
            f"bright background: {stats.drawn:.1%} of the pixels are not black",
            "invert black-on-white drawings",
        )
    return None


def check_skeleton_frames(images: torch.Tensor, input_name: str) -> None:
    """Raise unless every frame of a float [F, H, W, 3] batch looks like white lines on black.

    Rules (per frame, in this order; all-black frames pass): at most 5% of the drawn pixels may be coloured (channel
    spread > 0.1, so antialiased white lines, whose channels stay equal, pass); at most 10% of all pixels may be
    mid-grey (antialiased or resized line edges are far below that; photos and depth maps are not); at most half of
    the pixels may be drawn (a white background).
    """
    if images.ndim != 4 or images.shape[-1] != 3:
        raise PoseGenInputError(input_name, f"got a tensor of shape {tuple(images.shape)}.", "an RGB IMAGE batch")
    failures = [(i, p) for i, frame in enumerate(images.float()) if (p := _format_problem(skeleton_frame_stats(frame)))]
    if not failures:
        return
    index, (problem, advice) = failures[0]
    more = f" (and {len(failures) - 1} more frames)" if len(failures) > 1 else ""
    raise PoseGenInputError(
        input_name,
        f"frame {index}{more}: {problem}.",
        f"white skeleton lines on black, as PoseAnything was trained on ({advice})",
    )


def to_monochrome(images: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """White where the brightest channel exceeds ``threshold``, black elsewhere: a coloured render → PoseAnything's
    format. Judging by the brightest channel makes any saturated colour (red, blue, ...) white."""
    lit = images.amax(dim=-1, keepdim=True) > threshold
    return lit.expand_as(images).to(torch.float32)


# ---------------------------------------------------------------------------------------------------------------
# Frame indices and latent grouping


def latent_frame_count(num_frames: int, frames_per_latent: int = FRAMES_PER_LATENT) -> int:
    """Latent frames of a causal-VAE video: frame 0 alone, then groups of 4, so F must be 4k+1."""
    if num_frames < 1 or (num_frames - 1) % frames_per_latent:
        raise PoseGenInputError(
            "num_frames", f"got {num_frames}.", f"{frames_per_latent}k+1 frames (e.g. 81) for the Wan VAE"
        )
    return (num_frames - 1) // frames_per_latent + 1


def pixel_frames_of_latent(latent_frame: int, frames_per_latent: int = FRAMES_PER_LATENT) -> list[int]:
    """Pixel frames encoded into a latent frame: 0 → [0]; k ≥ 1 → [4k−3, .., 4k]."""
    if latent_frame < 0:
        raise PoseGenInputError("latent_frame", f"got {latent_frame}.", "a non-negative latent frame index")
    if latent_frame == 0:
        return [0]
    return list(range(frames_per_latent * (latent_frame - 1) + 1, frames_per_latent * latent_frame + 1))


def latent_frame_of_pixel(pixel_frame: int, frames_per_latent: int = FRAMES_PER_LATENT) -> int:
    """Inverse of :func:`pixel_frames_of_latent`."""
    if pixel_frame < 0:
        raise PoseGenInputError("pixel_frame", f"got {pixel_frame}.", "a non-negative frame index")
    return (pixel_frame + frames_per_latent - 1) // frames_per_latent


def _parse_item(item: str, num_frames: int, input_name: str) -> list[int]:
    match = _RANGE_ITEM.match(item)
    if not match:
        raise PoseGenInputError(input_name, f"cannot read {item!r}.", "numbers or ranges like '0,4,8' or '0-80:4'")
    start, end, step = match.group(1), match.group(2), match.group(3)
    first = int(start)
    last = int(end) if end is not None else first
    stride = int(step) if step is not None else 1
    if stride == 0 or last < first:
        raise PoseGenInputError(input_name, f"empty range {item!r}.", "start-end:step with start ≤ end and step ≥ 1")
    if last >= num_frames:
        raise PoseGenInputError(
            input_name, f"frame {last} in {item!r} is out of range.", f"frame indices 0..{num_frames - 1}"
        )
    return list(range(first, last + 1, stride))


def auto_frame_indices(images: torch.Tensor) -> list[int]:
    """Frames of a dense skeleton video that are not (near) all black."""
    brightest = images.reshape(images.shape[0], -1).amax(dim=1)
    return [int(i) for i in torch.nonzero(brightest > AUTO_BLACK_LEVEL).flatten()]


def parse_frame_indices(
    text: str, num_frames: int, images: torch.Tensor | None = None, input_name: str = "frame_indices"
) -> list[int]:
    """Posed frame indices from text: ``"auto"``, ``"0,4,8"``, ``"0-80:4"`` (inclusive end, optional step), mixed.

    ``"auto"`` needs ``images``, the dense [num_frames, H, W, 3] skeleton video, and keeps its non-black frames.
    The order is kept as written (it pairs indices with images); duplicates are an error.
    """
    spec = re.sub(r"\s+", "", text or "")
    if spec.lower() == "auto":
        if images is None or images.shape[0] != num_frames:
            got = "no images" if images is None else f"{images.shape[0]} images"
            raise PoseGenInputError(input_name, f"'auto' got {got}.", f"a dense video of {num_frames} frames")
        indices = auto_frame_indices(images)
        if not indices:
            raise PoseGenInputError(input_name, "'auto' found no frame with a skeleton.", "at least one posed frame")
        return indices
    if not spec:
        raise PoseGenInputError(input_name, "is empty.", "'auto' or frame indices like '0,4,8' or '0-80:4'")
    indices = [i for item in spec.split(",") for i in _parse_item(item, num_frames, input_name)]
    repeated = sorted({i for i in indices if indices.count(i) > 1})
    if repeated:
        raise PoseGenInputError(input_name, f"frames {repeated} are listed more than once.", "each frame once")
    return indices


# ---------------------------------------------------------------------------------------------------------------
# Video assembly


def _posed_pairs(
    posed: Mapping[int, torch.Tensor] | tuple[torch.Tensor, Sequence[int]], input_name: str
) -> list[tuple[int, torch.Tensor]]:
    """Normalise either input form to (frame index, [H, W, 3] image) pairs."""
    if isinstance(posed, Mapping):
        return [(int(i), img) for i, img in posed.items()]
    frames, indices = posed
    if frames.shape[0] != len(indices):
        raise PoseGenInputError(
            input_name, f"{frames.shape[0]} images for {len(indices)} frame indices.", "one image per index"
        )
    if len(set(indices)) != len(indices):
        raise PoseGenInputError(input_name, "a frame index is listed more than once.", "each frame once")
    return [(int(i), frames[n]) for n, i in enumerate(indices)]


def assemble_skeleton_video(
    posed: Mapping[int, torch.Tensor] | tuple[torch.Tensor, Sequence[int]],
    num_frames: int,
    size: tuple[int, int],
    input_name: str = "posed_frames",
) -> torch.Tensor:
    """The [num_frames, h, w, 3] skeleton video: posed frames resized to ``size`` = (w, h) like PIL, others black.

    ``posed`` is {frame index: [H, W, 3] image} or (images [P, H, W, 3], frame indices).
    """
    out_w, out_h = size
    video = torch.zeros(num_frames, out_h, out_w, 3, dtype=torch.float32)
    for index, image in _posed_pairs(posed, input_name):
        if not 0 <= index < num_frames:
            raise PoseGenInputError(input_name, f"frame index {index} is out of range.", f"0..{num_frames - 1}")
        if image.ndim != 3 or image.shape[-1] != 3:
            raise PoseGenInputError(
                input_name, f"frame {index} has shape {tuple(image.shape)}.", "an RGB image [H, W, 3]"
            )
        video[index] = resize_like_pil_bilinear(image.unsqueeze(0), size)[0]
    return video


def static_skeleton_video(video: torch.Tensor, posed_indices: Sequence[int]) -> torch.Tensor:
    """The pose-CFG negative branch's video (§4.1): every posed frame (frame 0 included) shows frame 0's skeleton,
    un-posed frames stay black; if frame 0 is not posed, the posed frames become black."""
    for index in posed_indices:
        if not 0 <= index < video.shape[0]:
            raise PoseGenInputError("posed_frames", f"frame index {index} is out of range.", f"0..{video.shape[0] - 1}")
    static = video.clone()
    source = video[0] if 0 in posed_indices else torch.zeros_like(video[0])
    if posed_indices:
        static[list(posed_indices)] = source
    return static
