"""File helpers of the pose readers: natural file order, JSON loading, and skeleton definition files."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..skeletons import Skeleton, SkeletonError
from .checks import Invalid, PoseInputError


def natural_sorted(paths: Iterable[str | Path]) -> list[Path]:
    """Paths in natural order: numbers compare by value (frame_2 before frame_10), text case-insensitively."""
    def key(path: Path) -> tuple[tuple[Any, ...], str]:
        pieces = re.split(r"(\d+)", str(path))
        # split keeps text at even and digits at odd positions, so positions always compare like with like
        return tuple(int(p) if i % 2 else p.casefold() for i, p in enumerate(pieces)), str(path)

    return sorted((Path(p) for p in paths), key=key)


def load_json(path: Path) -> Any:
    """A JSON file's content; unreadable or invalid files are an :class:`Invalid` naming the file."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise Invalid(Path(path).name, f"cannot be read ({exc.strerror or exc})", "a readable JSON file") from None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise Invalid(Path(path).name, f"is not valid JSON ({exc})", "a JSON file") from None


def parse_skeleton_file(path: str | Path, *, input_name: str = "skeleton_file") -> Skeleton:
    """A user-defined skeleton from JSON (see Skeleton.from_json), with errors naming the file."""
    name = Path(path).name
    expected = "a JSON object {name, keypoints: [names], edges: [[a, b], ...], parts, colours}"
    try:
        return Skeleton.from_file(Path(path))
    except OSError as exc:
        raise PoseInputError(f"'{name}' cannot be read ({exc.strerror or exc})", "a readable skeleton JSON file",
                             input_name=input_name) from None
    except SkeletonError as exc:
        raise PoseInputError(f"'{name}': {exc.problem}", expected, input_name=input_name) from None
    except (UnicodeDecodeError, TypeError, ValueError, KeyError, AttributeError, IndexError, RecursionError) as exc:
        raise PoseInputError(f"'{name}' is not a valid skeleton ({type(exc).__name__}: {exc})", expected,
                             input_name=input_name) from None
