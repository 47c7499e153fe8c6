"""Pose rendering: a :class:`PoseSequence` to RGB uint8 frames ``[frames, H, W, 3]``, every person drawn.

Three styles (:data:`STYLES`):

``posegen``
    PoseGen's own renderer, reproduced pixel for pixel (spec posegen-model §8.3-8.5): body + feet limbs as filled
    ellipse polygons, keypoint circles, hands as white points under HSV lines, no face. Only for the ``human``
    skeleton (PoseGen's 134-row layout maps onto it 1:1 minus the two pupils, which PoseGen never draws).
    PoseGen wrote its canvas with ``cv2.VideoWriter`` (BGR) and read it back as RGB, so the colours the model saw
    are the listed tuples reversed; that is what we output. The mp4v compression of that round trip is *not*
    reproduced (in-memory frames are cleaner, §4.5).
``openpose``
    The familiar OpenPose/DWPose look as comfyui_controlnet_aux draws it, in RGB: limbs as ellipses at 0.6 of the
    OpenPose colours, full-colour keypoint circles, hands as HSV-coloured lines with blue points, face as white
    dots, feet when present. Stroke sizes follow the output size (native at a 512-pixel short side, as
    controlnet_aux draws them).
``mono``
    PoseAnything's skeleton images (docs/method/poseanything.md §2.2): pure white lines on black, no anti-aliasing, no
    joint markers, about 3 px wide at a 512-pixel long side; any skeleton.

Output size: by default the sequence's canvas; otherwise the canvas is fitted into the output with a uniform scale,
centred and letterboxed with black (:func:`fit_transform`).
"""

from __future__ import annotations

import colorsys
import math
from collections.abc import Callable

import cv2
import numpy as np

from ..errors import PoseGenInputError
from .sequence import PoseSequence
from .skeletons import BODY18_EDGES, FEET_EDGES, HAND_EDGES, OPENPOSE_COLORS, RGB, Skeleton

STYLES: tuple[str, ...] = ("posegen", "openpose", "mono")

ProgressFn = Callable[[int, int], None]
Point = tuple[float, float]
# draws frame f of the sequence into the given (zeroed) output image
FrameDrawer = Callable[[int, np.ndarray], None]

# --- PoseGen's renderer constants (§8.3, §8.4) ---------------------------------------------------------------

# Thresholds compared in float32, like PoseGen's float32 scores against a Python float (so exactly 0.3 draws)
POSEGEN_BODY_THRESHOLD = np.float32(0.3)
POSEGEN_HAND_THRESHOLD = np.float32(0.7)
POSEGEN_ELLIPSE_HALF_WIDTH = 4
POSEGEN_KEYPOINT_RADIUS = 4
POSEGEN_HAND_RADIUS = 4
POSEGEN_HAND_THICKNESS = 2

# 23 body + feet links in PoseGen's order: OpenPose-18 limbs, then left ankle -> 18..20, right ankle -> 21..23
POSEGEN_BODY_LINKS: tuple[tuple[int, int], ...] = (*BODY18_EDGES, *FEET_EDGES)
# Colours as PoseGen wrote them into its (BGR-interpreted) canvas; note link 9's 225 and links 13/16 sharing a colour
POSEGEN_LINK_COLORS_WRITTEN: tuple[RGB, ...] = (
    (255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0), (0, 255, 0), (0, 255, 85),
    (0, 255, 170), (0, 255, 225), (0, 170, 255), (0, 85, 255), (0, 0, 255), (255, 0, 170), (170, 0, 255),
    (255, 0, 255), (255, 0, 170), (0, 255, 0), (0, 255, 0), (0, 255, 0), (255, 128, 0), (255, 128, 0), (255, 128, 0))
POSEGEN_KEYPOINT_COLORS_WRITTEN: tuple[RGB, ...] = (*OPENPOSE_COLORS, *((255, 128, 0),) * 6)  # rows 0..23
# HSV(k/20, 1, 1)*255 as matplotlib + OpenCV's rounding produce them (spec table; x.5 ties round to even, and
# k=7's 25.4999... rounds down), hard-coded because recomputing them depends on float details
HAND_LINK_COLORS_HSV: tuple[RGB, ...] = (
    (255, 0, 0), (255, 77, 0), (255, 153, 0), (255, 229, 0), (204, 255, 0), (128, 255, 0), (51, 255, 0),
    (0, 255, 25), (0, 255, 102), (0, 255, 179), (0, 255, 255), (0, 178, 255), (0, 102, 255), (0, 25, 255),
    (51, 0, 255), (128, 0, 255), (204, 0, 255), (255, 0, 230), (255, 0, 153), (255, 0, 77))


def _reverse(colors: tuple[RGB, ...]) -> tuple[RGB, ...]:
    return tuple((c[2], c[1], c[0]) for c in colors)


# What the model saw (§8.5): drawing the reversed tuple into an RGB array equals drawing the tuple into a BGR
# array and reading it back as RGB, because every OpenCV fill here is per-channel and without anti-aliasing.
POSEGEN_LINK_COLORS_SEEN = _reverse(POSEGEN_LINK_COLORS_WRITTEN)
POSEGEN_KEYPOINT_COLORS_SEEN = _reverse(POSEGEN_KEYPOINT_COLORS_WRITTEN)
POSEGEN_HAND_COLORS_SEEN = _reverse(HAND_LINK_COLORS_HSV)

# human skeleton layout (skeletons.HUMAN)
HUMAN_NUM_KEYPOINTS = 136
HUMAN_FACE = range(24, 94)
HUMAN_HAND_ROOTS = (94, 115)  # left, right: PoseGen draws the left hands first

# --- openpose style constants --------------------------------------------------------------------------------------

OPENPOSE_THRESHOLD = np.float32(0.3)  # DWPose marks keypoints below 0.3 missing; used for body, feet, hands and face
OPENPOSE_LIMB_ALPHA = 0.6  # DWPose blends limbs at 0.6 over its black canvas: colour int(c * 0.6)
# controlnet_aux draws at its detect resolution (default 512), which it applies to the image's SHORT side
# (resize_image_with_pad: k = resolution / min(H, W)); the sizes below are native there and grow with it
OPENPOSE_REFERENCE_SIDE = 512
OPENPOSE_STICK_WIDTH = 4
OPENPOSE_KEYPOINT_RADIUS = 4
OPENPOSE_HAND_THICKNESS = 2
OPENPOSE_HAND_RADIUS = 4
OPENPOSE_FACE_RADIUS = 3
# controlnet_aux draws hand points (0, 0, 255) into an RGB canvas: blue on screen. (The original CMU code drew
# into BGR, hence "red" in older material; ControlNet-era images, what users know, have blue hand points.)
OPENPOSE_HAND_POINT_COLOR: RGB = (0, 0, 255)
OPENPOSE_FACE_COLOR: RGB = (255, 255, 255)
# controlnet_aux draws no feet; we borrow PoseGen's foot colours read as RGB: left foot green, right foot orange
OPENPOSE_FOOT_LINK_COLORS: tuple[RGB, ...] = ((0, 255, 0),) * 3 + ((255, 128, 0),) * 3
OPENPOSE_FOOT_POINT_COLOR: RGB = (255, 128, 0)

# --- mono style ----------------------------------------------------------------------------------------------------

MONO_REFERENCE_WIDTH = 3  # px at a 512-pixel long side

# Coordinates beyond this are clipped before they reach OpenCV (which takes int32 points); anything real is far
# inside it, so normal renders are untouched and exact.
_SAFE_COORD = float(1 << 20)


# --- geometry ------------------------------------------------------------------------------------------------------


def fit_transform(src_w: int, src_h: int, dst_w: int, dst_h: int) -> tuple[float, int, int]:
    """Uniform scale and offsets that fit a ``src_w x src_h`` canvas into ``dst_w x dst_h``, centred (letterbox).

    The fitted content is ``round(src_w * scale) x round(src_h * scale)`` pixels with its top-left corner at
    ``(offset_x, offset_y)``; offsets are whole pixels so a resized raster and redrawn points land on the same
    pixels. In continuous image coordinates (pixel edges) the map is ``x' = x * scale + offset_x``; keypoints, whose
    integers are pixel centres, map as ``x' = (x + 0.5) * scale - 0.5 + offset_x``.
    """
    if min(src_w, src_h, dst_w, dst_h) <= 0:
        raise ValueError(f"sizes must be positive, got {src_w}x{src_h} -> {dst_w}x{dst_h}")
    scale = min(dst_w / src_w, dst_h / src_h)
    content_w, content_h = _content_size(src_w, src_h, dst_w, dst_h, scale)
    return scale, (dst_w - content_w) // 2, (dst_h - content_h) // 2


def _content_size(src_w: int, src_h: int, dst_w: int, dst_h: int, scale: float) -> tuple[int, int]:
    # clamp: rounding must neither overflow the output nor vanish for extreme aspect ratios
    return (min(dst_w, max(1, round(src_w * scale))), min(dst_h, max(1, round(src_h * scale))))


def _output_size(seq: PoseSequence, width: int | None, height: int | None) -> tuple[int, int]:
    for name, value in (("width", width), ("height", height)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | np.integer) or value <= 0):
            raise PoseGenInputError(name, f"{value!r}.", "a positive whole number of pixels, or None for the canvas")
    if width is None and height is None:
        return seq.width, seq.height
    # one side given: the other follows the canvas aspect, so nothing is letterboxed
    if height is None:
        return int(width), max(1, round(int(width) * seq.height / seq.width))
    if width is None:
        return max(1, round(int(height) * seq.width / seq.height)), int(height)
    return int(width), int(height)


def _to_output_coords(seq: PoseSequence, out_w: int, out_h: int) -> np.ndarray:
    """Keypoints as float64 [frames, people, keypoints, 3] with x, y mapped into the output (pixel-centre aligned)."""
    scale, ox, oy = fit_transform(seq.width, seq.height, out_w, out_h)
    pts = seq.keypoints.astype(np.float64)
    pts[..., 0] = (pts[..., 0] + 0.5) * scale - 0.5 + ox
    pts[..., 1] = (pts[..., 1] + 0.5) * scale - 0.5 + oy
    return pts


def _segment(p: Point, q: Point, w: int, h: int, margin: float) -> tuple[Point, Point] | None:
    """``p``-``q`` unchanged when safe for OpenCV; else clipped to the canvas grown by ``margin`` (None: misses it).

    Only absurd coordinates are clipped, so exact renders stay exact. Liang-Barsky in float; the ends are clamped
    afterwards because with coordinates like 1e30 the clip itself loses all precision.
    """
    if max(abs(p[0]), abs(p[1]), abs(q[0]), abs(q[1])) <= _SAFE_COORD:
        return p, q
    lo_x, hi_x, lo_y, hi_y = -margin, w + margin, -margin, h + margin
    dx, dy = q[0] - p[0], q[1] - p[1]
    t0, t1 = 0.0, 1.0
    for d, start, lo, hi in ((dx, p[0], lo_x, hi_x), (dy, p[1], lo_y, hi_y)):
        if d == 0.0:
            if not lo <= start <= hi:
                return None
            continue
        a, b = (lo - start) / d, (hi - start) / d
        if a > b:
            a, b = b, a
        t0, t1 = max(t0, a), min(t1, b)
        if t0 > t1:
            return None

    def at(t: float) -> Point:
        return (min(hi_x, max(lo_x, p[0] + t * dx)), min(hi_y, max(lo_y, p[1] + t * dy)))

    return at(t0), at(t1)


def _visible(p: Point, w: int, h: int, margin: float) -> bool:
    # a mark of size <= margin centred outside this box cannot touch the canvas
    return -margin <= p[0] <= w + margin and -margin <= p[1] <= h + margin


def _round(v: float) -> int:
    return math.floor(v + 0.5)


def openpose_stroke_scale(width: int, height: int) -> float:
    """How much thicker than controlnet_aux's native sizes the openpose strokes are drawn in this output.

    Relative to a 512-pixel *short* side, because that is the canvas controlnet_aux draws on before a workflow
    resizes its hint image: a 720x1280 render then looks like a default DWPose render scaled up to 720x1280.
    """
    return min(width, height) / OPENPOSE_REFERENCE_SIDE


def _scaled(size: float, scale: float) -> int:
    # never below 1 px, so tiny outputs still show every stroke
    return max(1, round(size * scale))


def _hue_wheel(n: int) -> tuple[RGB, ...]:
    return tuple(tuple(round(255 * c) for c in colorsys.hsv_to_rgb(i / max(n, 1), 1.0, 1.0))  # type: ignore[misc]
                 for i in range(n))


# --- posegen style -------------------------------------------------------------------------------------------------


def _posegen_limb(canvas: np.ndarray, p: Point, q: Point, color: RGB) -> None:
    """One body link exactly as PoseGen draws it (§8.4 step 1-4)."""
    h, w = canvas.shape[:2]
    seg = _segment(p, q, w, h, margin=64.0)
    if seg is None:
        return
    (fx0, fy0), (fx1, fy1) = seg
    # int() truncates toward zero, like PoseGen's int(kpt[...]) (also for negative coordinates)
    x0, y0, x1, y1 = int(fx0), int(fy0), int(fx1), int(fy1)
    centre = (int((x0 + x1) / 2), int((y0 + y1) / 2))  # np.mean of the integer pair, truncated
    length = math.sqrt((y0 - y1) ** 2 + (x0 - x1) ** 2)  # from the truncated ends
    angle = int(math.degrees(math.atan2(y0 - y1, x0 - x1)))
    polygon = cv2.ellipse2Poly(centre, (int(length / 2), POSEGEN_ELLIPSE_HALF_WIDTH), angle, 0, 360, 1)
    cv2.fillConvexPoly(canvas, polygon, color)


def _posegen_draw(canvas: np.ndarray, people: np.ndarray) -> None:
    """PoseGen's visualiser on one canvas: bodies (links, then points) per person, then left hands, then right."""
    h, w = canvas.shape[:2]
    for person in people:
        xy = person[:, :2].tolist()
        ok = (person[:, 2] >= POSEGEN_BODY_THRESHOLD).tolist()
        for (a, b), color in zip(POSEGEN_BODY_LINKS, POSEGEN_LINK_COLORS_SEEN, strict=True):
            if ok[a] and ok[b]:
                _posegen_limb(canvas, xy[a], xy[b], color)
        for i, color in enumerate(POSEGEN_KEYPOINT_COLORS_SEEN):  # circles after all links
            if ok[i] and _visible(xy[i], w, h, 16.0):
                cv2.circle(canvas, (int(xy[i][0]), int(xy[i][1])), POSEGEN_KEYPOINT_RADIUS, color, thickness=-1)
    for root in HUMAN_HAND_ROOTS:
        for person in people:
            xy = person[root:root + 21, :2].tolist()
            ok = (person[root:root + 21, 2] >= POSEGEN_HAND_THRESHOLD).tolist()
            links = [(k, a, b) for k, (a, b) in enumerate(HAND_EDGES) if ok[a] and ok[b]]
            # white points only on ends of drawn links, then the lines on top of them
            for i in sorted({i for _, a, b in links for i in (a, b)}):
                if _visible(xy[i], w, h, 16.0):
                    cv2.circle(canvas, (int(xy[i][0]), int(xy[i][1])), POSEGEN_HAND_RADIUS, (255, 255, 255),
                               thickness=-1)
            for k, a, b in links:
                seg = _segment(xy[a], xy[b], w, h, margin=16.0)
                if seg is not None:
                    (x0, y0), (x1, y1) = seg
                    cv2.line(canvas, (int(x0), int(y0)), (int(x1), int(y1)), POSEGEN_HAND_COLORS_SEEN[k],
                             thickness=POSEGEN_HAND_THICKNESS)
    # face: PoseGen never draws it


def _posegen_frames(seq: PoseSequence, out_w: int, out_h: int) -> FrameDrawer:
    skeleton = seq.skeleton
    if skeleton.name != "human" or skeleton.num_keypoints != HUMAN_NUM_KEYPOINTS:
        raise PoseGenInputError("style", f"'posegen' reproduces PoseGen's renderer, which only knows the 'human' "
                                f"skeleton (136 keypoints); this sequence uses '{skeleton.name}' "
                                f"({skeleton.num_keypoints} keypoints).",
                                "'openpose' or 'mono' for it, or poses converted to 'human' first")
    kp = seq.keypoints
    if (out_w, out_h) == (seq.width, seq.height):
        def draw_direct(f: int, target: np.ndarray) -> None:
            _posegen_draw(target, kp[f])
        return draw_direct

    # PoseGen draws at the source resolution with fixed widths (ellipse half-width 4, radius 4, hand lines 2) and
    # its conditioning transform then resamples the whole picture to 1280x720, strokes included. Drawing on the
    # sequence canvas and resizing the raster reproduces that; PoseGen's transform centre-crops to 9:16 where we
    # letterbox, so for PoseGen's exact framing render at the canvas size and let the conditioning crop/resize it.
    scale, ox, oy = fit_transform(seq.width, seq.height, out_w, out_h)
    cw, ch = _content_size(seq.width, seq.height, out_w, out_h, scale)
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    canvas = np.zeros((seq.height, seq.width, 3), np.uint8)

    def draw_resized(f: int, target: np.ndarray) -> None:
        canvas.fill(0)
        _posegen_draw(canvas, kp[f])
        if (cw, ch) == (seq.width, seq.height):
            target[oy:oy + ch, ox:ox + cw] = canvas
        else:
            target[oy:oy + ch, ox:ox + cw] = cv2.resize(canvas, (cw, ch), interpolation=interpolation)
    return draw_resized


# --- openpose style ------------------------------------------------------------------------------------------------


def _openpose_limb(canvas: np.ndarray, p: Point, q: Point, color: RGB, stick: int, margin: float) -> None:
    """A DWPose limb: filled ellipse along p-q, half-width ``stick``; float ends are rounded, not truncated."""
    h, w = canvas.shape[:2]
    seg = _segment(p, q, w, h, margin)
    if seg is None:
        return
    (x0, y0), (x1, y1) = seg
    centre = (_round((x0 + x1) / 2), _round((y0 + y1) / 2))
    length = math.hypot(x1 - x0, y1 - y0)
    angle = _round(math.degrees(math.atan2(y0 - y1, x0 - x1)))
    polygon = cv2.ellipse2Poly(centre, (_round(length / 2), stick), angle, 0, 360, 1)
    cv2.fillConvexPoly(canvas, polygon, color)


def _dot(canvas: np.ndarray, p: Point, radius: int, color: RGB, margin: float) -> None:
    h, w = canvas.shape[:2]
    if _visible(p, w, h, margin):
        cv2.circle(canvas, (_round(p[0]), _round(p[1])), radius, color, thickness=-1)


def _line(canvas: np.ndarray, p: Point, q: Point, color: RGB | int, thickness: int, margin: float) -> None:
    h, w = canvas.shape[:2]
    seg = _segment(p, q, w, h, margin)
    if seg is not None:
        (x0, y0), (x1, y1) = seg
        cv2.line(canvas, (_round(x0), _round(y0)), (_round(x1), _round(y1)), color, thickness=thickness,
                 lineType=cv2.LINE_8)


def _dimmed(colors: tuple[RGB, ...]) -> tuple[RGB, ...]:
    return tuple(tuple(int(float(c) * OPENPOSE_LIMB_ALPHA) for c in color) for color in colors)  # type: ignore[misc]


def _openpose_frames(seq: PoseSequence, out_w: int, out_h: int) -> FrameDrawer:
    pts = _to_output_coords(seq, out_w, out_h)
    scale = openpose_stroke_scale(out_w, out_h)
    stick = _scaled(OPENPOSE_STICK_WIDTH, scale)
    radius = _scaled(OPENPOSE_KEYPOINT_RADIUS, scale)
    hand_thickness = _scaled(OPENPOSE_HAND_THICKNESS, scale)
    hand_radius = _scaled(OPENPOSE_HAND_RADIUS, scale)
    face_radius = _scaled(OPENPOSE_FACE_RADIUS, scale)
    margin = float(4 * max(stick, radius) + 16)
    skeleton = seq.skeleton
    n = skeleton.num_keypoints
    is_human = skeleton.name == "human" and n == HUMAN_NUM_KEYPOINTS
    is_body18 = skeleton.name == "openpose_body18" and n == 18

    if is_human or is_body18:
        limbs = list(zip(BODY18_EDGES, _dimmed(OPENPOSE_COLORS[:17]), strict=True))
        points = list(enumerate(OPENPOSE_COLORS))
        if is_human:
            limbs += list(zip(FEET_EDGES, _dimmed(OPENPOSE_FOOT_LINK_COLORS), strict=True))
            points += [(i, OPENPOSE_FOOT_POINT_COLOR) for i in range(18, 24)]
    else:
        # any other skeleton: its own colours when it defines them, else a hue wheel over edges / keypoints
        limbs = list(zip(skeleton.edges, _dimmed(skeleton.edge_colors or _hue_wheel(len(skeleton.edges))),
                         strict=True))
        points = list(enumerate(skeleton.keypoint_colors or _hue_wheel(n)))

    def draw(f: int, target: np.ndarray) -> None:
        people = pts[f]
        oks = (people[..., 2] >= OPENPOSE_THRESHOLD).tolist()
        xys = people[..., :2].tolist()
        for xy, ok in zip(xys, oks, strict=True):  # per person: limbs, then keypoints (DWPose's draw_bodypose)
            for (a, b), color in limbs:
                if ok[a] and ok[b]:
                    _openpose_limb(target, xy[a], xy[b], color, stick, margin)
            for i, color in points:
                if ok[i]:
                    _dot(target, xy[i], radius, color, margin)
        if not is_human:
            return
        for xy, ok in zip(xys, oks, strict=True):  # hands: lines, then points on top (draw_handpose)
            for root in HUMAN_HAND_ROOTS:
                for k, (a, b) in enumerate(HAND_EDGES):
                    if ok[root + a] and ok[root + b]:
                        _line(target, xy[root + a], xy[root + b], HAND_LINK_COLORS_HSV[k], hand_thickness, margin)
                for i in range(root, root + 21):
                    if ok[i]:
                        _dot(target, xy[i], hand_radius, OPENPOSE_HAND_POINT_COLOR, margin)
        for xy, ok in zip(xys, oks, strict=True):  # face last (draw_facepose)
            for i in HUMAN_FACE:
                if ok[i]:
                    _dot(target, xy[i], face_radius, OPENPOSE_FACE_COLOR, margin)
    return draw


# --- mono style ----------------------------------------------------------------------------------------------------


def mono_line_width(width: int, height: int) -> int:
    """PoseAnything's stroke: about 3 px at a 512-pixel long side, scaled with the output, at least 1 px."""
    return max(1, round(MONO_REFERENCE_WIDTH * max(width, height) / 512))


def mono_kernel(width: int) -> np.ndarray:
    """A ``width``-pixel round pen for dilating 1-px lines; width 3 gives the 3x3 cross PoseAnything dilates with.

    Cells within ``((width-1)/2)^2 + 0.5`` of the centre: exactly ``width`` cells across on both axes, round in
    between (OpenCV's even-sized MORPH_ELLIPSE is lopsided).
    """
    c = (width - 1) / 2
    i, j = np.mgrid[0:width, 0:width]
    return (((i - c) ** 2 + (j - c) ** 2) <= c * c + 0.5).astype(np.uint8)


def _mono_frames(seq: PoseSequence, out_w: int, out_h: int) -> FrameDrawer:
    pts = _to_output_coords(seq, out_w, out_h)
    width = mono_line_width(out_w, out_h)
    kernel = mono_kernel(width)
    margin = float(2 * width + 16)
    edges = seq.skeleton.edges
    mask = np.zeros((out_h, out_w), np.uint8)

    def draw(f: int, target: np.ndarray) -> None:
        # PoseAnything drew 1-px polylines and dilated them (§2.2). Doing the same gives strokes exactly
        # ``width`` px across; cv2.line's own thickness draws about thickness + 2 px (5 px for 3). LINE_8 keeps
        # every pixel exactly 0 or 255.
        mask.fill(0)
        people = pts[f]
        for xy, ok in zip(people[..., :2].tolist(), (people[..., 2] > 0).tolist(), strict=True):
            for a, b in edges:
                if ok[a] and ok[b]:
                    _line(mask, xy[a], xy[b], 255, 1, margin)
        target[...] = (cv2.dilate(mask, kernel) if width > 1 else mask)[..., None]
    return draw


# --- entry point ---------------------------------------------------------------------------------------------------


def render_sequence(seq: PoseSequence, style: str, width: int | None = None, height: int | None = None, *,
                    progress: ProgressFn | None = None) -> np.ndarray:
    """Render every frame of ``seq`` (all people) as RGB uint8 ``[frames, height, width, 3]``.

    ``width``/``height`` None: the sequence's canvas (one given: the other follows the canvas aspect). Otherwise
    the canvas is fitted in with a uniform scale, centred, black bars (:func:`fit_transform`). ``progress(done,
    total)`` is called after each frame.
    """
    if style not in STYLES:
        raise PoseGenInputError("style", f"unknown pose render style {style!r}.", f"one of {', '.join(STYLES)}")
    out_w, out_h = _output_size(seq, width, height)
    makers: dict[str, Callable[[PoseSequence, int, int], FrameDrawer]] = {
        "posegen": _posegen_frames, "openpose": _openpose_frames, "mono": _mono_frames}
    draw = makers[style](seq, out_w, out_h)  # validates the skeleton before the output is allocated
    total = seq.num_frames
    out = np.zeros((total, out_h, out_w, 3), np.uint8)
    for f in range(total):
        draw(f, out[f])  # out[f] is a contiguous view, so OpenCV draws straight into the result
        if progress is not None:
            progress(f + 1, total)
    return out


def skeleton_supports(style: str, skeleton: Skeleton) -> bool:
    """Whether ``style`` can draw ``skeleton`` (only 'posegen' is restricted, to the human layout)."""
    if style not in STYLES:
        raise PoseGenInputError("style", f"unknown pose render style {style!r}.", f"one of {', '.join(STYLES)}")
    return style != "posegen" or (skeleton.name == "human" and skeleton.num_keypoints == HUMAN_NUM_KEYPOINTS)
