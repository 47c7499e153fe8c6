"""What every pose reader checks: PoseInputError, and validators for numbers, canvas sizes and point arrays.

Inside the readers a problem is an :class:`Invalid` (where in the data, what, what was expected); the public entry
points run through :func:`guarded`, which turns it into a :class:`PoseInputError` naming the node input.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

from ...errors import PoseGenInputError

SCORE_TOLERANCE = 0.01
MAX_COORDINATE = 1e6  # pixels; larger values are garbage and would lose all precision in float32
MAX_CANVAS = 65536
T = TypeVar("T")


class PoseInputError(PoseGenInputError):
    """Pose data that cannot be read; the message names the frame, person and field and what was expected."""

    def __init__(self, problem: str, expected: str | None = None, *, input_name: str = "pose_keypoint") -> None:
        # the house style: "<input>: <problem>. Expected <what>."
        super().__init__(input_name, problem if problem.endswith(".") else problem + ".", expected)


class Invalid(Exception):
    """Internal to the readers: where and what; :func:`guarded` turns it into PoseInputError with the input name.

    Not a ValueError on purpose, so the safety net for unexpected ValueErrors cannot swallow it.
    """

    def __init__(self, where: str, problem: str, expected: str | None = None) -> None:
        super().__init__(where, problem, expected)
        self.where, self.problem, self.expected = where, problem, expected

    def public(self, input_name: str) -> PoseInputError:
        text = f"{self.where}: {self.problem}" if self.where else self.problem
        return PoseInputError(text, self.expected, input_name=input_name)


def guarded(input_name: str, read: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a reader so that nothing but PoseInputError leaves it."""
    try:
        return read(*args, **kwargs)
    except Invalid as exc:
        raise exc.public(input_name) from None
    except PoseInputError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError, RecursionError) as exc:
        # a shape of garbage the explicit checks did not foresee: still the user's input, still named
        raise PoseInputError(f"unreadable pose data ({type(exc).__name__}: {exc})",
                             "the documented layout", input_name=input_name) from exc


def describe(value: Any) -> str:
    """A value for a message: its type and a short repr."""
    try:
        text = repr(value)
    except (ValueError, RecursionError):  # ints past Python's digit limit, absurdly deep nesting
        return type(value).__name__
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{type(value).__name__} {text}"


def is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool | np.bool_)


def whole_positive(value: Any, where: str, what: str, limit: int = MAX_CANVAS) -> int:
    if not is_number(value):
        raise Invalid(where, f"{what} is {describe(value)}", f"a whole number of pixels in 1..{limit}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number) or number != int(number) or not 1 <= number <= limit:
        raise Invalid(where, f"{what} is {describe(value)}", f"a whole number of pixels in 1..{limit}")
    return int(number)


def positive_fps(value: Any, where: str, what: str = "'posegen.fps'") -> float | None:
    if value is None:
        return None
    try:
        number = float(value) if is_number(value) else math.nan
    except OverflowError:
        number = math.inf
    if not math.isfinite(number) or number <= 0:
        raise Invalid(where, f"{what} is {describe(value)}", "a positive number or null")
    return number


def point_floats(values: Sequence[Any], where: str, field: str) -> np.ndarray:
    """[x, y, c, ...] as float64 [n, 3], checked; confidences clamped within tolerance, missing points zeroed."""
    axis = ("x", "y", "confidence")
    for i, value in enumerate(values):
        if type(value) is float or type(value) is int:  # the common case, checked cheaply first
            continue
        if not is_number(value):
            raise Invalid(where, f"'{field}' point {i // 3} {axis[i % 3]} is {describe(value)}", "a number")
    try:
        flat = np.array(values, dtype=np.float64)
    except OverflowError:
        flat = np.array([float(v) if abs(v) < 1e300 else math.inf for v in values], dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(flat))
    if bad.size:
        i = int(bad[0])
        raise Invalid(where, f"'{field}' point {i // 3} {axis[i % 3]} is {describe(values[i])}", "a finite number")
    points = flat.reshape(-1, 3)
    far = np.flatnonzero(np.abs(points[:, :2]).max(axis=1) > MAX_COORDINATE) if len(points) else np.array([])
    if far.size:
        i = int(far[0])
        raise Invalid(where, f"'{field}' point {i} lies at ({points[i, 0]:g}, {points[i, 1]:g})",
                      f"coordinates within +-{MAX_COORDINATE:g} pixels")
    conf = points[:, 2]
    wild = np.flatnonzero((conf < -SCORE_TOLERANCE) | (conf > 1 + SCORE_TOLERANCE))
    if wild.size:
        i = int(wild[0])
        raise Invalid(where, f"'{field}' point {i} has confidence {conf[i]:g}", "a confidence in [0, 1]")
    points[:, 2] = np.clip(conf, 0.0, 1.0)
    # a score too small for float32 is a missing point too; its position is then meaningless
    points[points[:, 2].astype(np.float32) <= 0] = 0.0
    return points


def flat_triples(value: Any, where: str, field: str, counts: tuple[int, ...]) -> np.ndarray | None:
    """A flat cn_aux/OpenPose array of one of ``counts`` points, or None for null."""
    expected = " or ".join(f"{n} points ({3 * n} numbers)" for n in counts)
    if value is None:
        return None
    if isinstance(value, np.ndarray) and value.dtype.kind in "iuf":
        value = value.reshape(-1).tolist()
    if not isinstance(value, list | tuple):
        raise Invalid(where, f"'{field}' is {describe(value)}", f"a flat list [x, y, c, ...] of {expected}, or null")
    if len(value) % 3:
        raise Invalid(where, f"'{field}' has {len(value)} numbers, not a multiple of 3 (x, y, confidence per point)",
                      expected)
    if len(value) // 3 not in counts:
        raise Invalid(where, f"'{field}' has {len(value) // 3} points", expected)
    return point_floats(value, where, field)


def nested_triples(value: Any, where: str, field: str, count: int) -> np.ndarray:
    """One animal/subject: ``count`` [x, y, c] lists (null = missing) or a flat list of 3 * count numbers."""
    expected = f"{count} [x, y, c] triples (or a flat list of {3 * count} numbers)"
    if isinstance(value, np.ndarray) and value.dtype.kind in "iuf":
        value = value.reshape(-1).tolist()
    if not isinstance(value, list | tuple):
        raise Invalid(where, f"'{field}' is {describe(value)}", expected)
    if len(value) == 3 * count and all(is_number(v) for v in value):
        return point_floats(value, where, field)
    if len(value) != count:
        raise Invalid(where, f"'{field}' has {len(value)} entries", expected)
    flat: list[Any] = []
    for i, triple in enumerate(value):
        if triple is None:
            flat += (0.0, 0.0, 0.0)
        elif isinstance(triple, list | tuple) and len(triple) == 3:
            flat += triple
        else:
            raise Invalid(where, f"'{field}' point {i} is {describe(triple)}", "an [x, y, c] triple or null")
    return point_floats(flat, where, field)


# --- canvas sizes -----------------------------------------------------------------------------------------------

def canvas_holding(xy: np.ndarray, where: str) -> tuple[int, int]:
    """Smallest canvas holding every point (x in [0, W)), each side rounded up to even."""
    sides = []
    for axis, name in ((0, "x"), (1, "y")):
        side = int(math.floor(max(float(xy[:, axis].max()), 0.0))) + 1
        side += side % 2
        if side > MAX_CANVAS:
            raise Invalid(where, f"points reach {name} = {xy[:, axis].max():g}, too far to infer a canvas from",
                          "width and height given explicitly")
        sides.append(side)
    return sides[0], sides[1]


def infer_canvas(xy: np.ndarray, *, input_name: str = "pose_file") -> tuple[int, int]:
    """The canvas rule of the readers for present points ``xy`` [N, 2], for callers outside the readers."""
    return guarded(input_name, canvas_holding, xy, "")


def given_canvas(width: Any, height: Any) -> tuple[int, int] | None:
    """The caller's width and height (both or neither), checked."""
    if width is None and height is None:
        return None
    if width is None or height is None:
        raise Invalid("", "only one of width and height is given", "both or neither")
    return whole_positive(width, "", "width"), whole_positive(height, "", "height")
