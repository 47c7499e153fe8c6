"""File helpers (formats.files): natural file order and skeleton definition files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from posegen_core.poses.formats.checks import PoseInputError
from posegen_core.poses.formats.files import natural_sorted, parse_skeleton_file


def test_natural_sort():
    names = ["frame_10.json", "frame_2.json", "Frame_1.json", "frame_000000000003_keypoints.json", "frame_2b.json"]
    assert [p.name for p in natural_sorted(names)] == ["Frame_1.json", "frame_2.json", "frame_2b.json",
                                                       "frame_000000000003_keypoints.json", "frame_10.json"]
    assert natural_sorted([Path("d/x9"), "d/x10", Path("c/x11")]) == [Path("c/x11"), Path("d/x9"), Path("d/x10")]


def test_parse_skeleton_file(tmp_path: Path):
    good = tmp_path / "arm.json"
    good.write_text(json.dumps({"name": "arm", "keypoints": ["a", "b", "c"], "edges": [["a", "b"], [1, 2]]}))
    assert parse_skeleton_file(good).edges == ((0, 1), (1, 2))
    cases = {"bad.json": "{oops", "list.json": "[1, 2]", "edge.json": '{"name": "x", "keypoints": ["a"], '
                                                                       '"edges": [[0, 5]]}',
             "parts.json": '{"name": "x", "keypoints": ["a"], "parts": [1]}'}
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(PoseInputError, match=f"^skeleton_file: '{name}'"):
            parse_skeleton_file(tmp_path / name)
    with pytest.raises(PoseInputError, match="'nope.json' cannot be read"):
        parse_skeleton_file(tmp_path / "nope.json")
