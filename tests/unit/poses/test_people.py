"""select_person: largest / index / track on hand-built scenes."""

from __future__ import annotations

import numpy as np
import pytest

from posegen_core.errors import PoseGenInputError
from posegen_core.poses.people import bbox_areas, pose_distance, select_person
from posegen_core.poses.sequence import PoseSequence
from posegen_core.poses.skeletons import Skeleton

# a 4-point "person": corners of a box, enough to give it a position and a size
BOX = Skeleton(name="box", keypoints=("tl", "tr", "br", "bl"), edges=((0, 1), (1, 2), (2, 3), (3, 0)))


def box(cx: float, cy: float, w: float, h: float, conf: float = 1.0) -> np.ndarray:
    return np.array([[cx - w / 2, cy - h / 2, conf], [cx + w / 2, cy - h / 2, conf], [cx + w / 2, cy + h / 2, conf],
                     [cx - w / 2, cy + h / 2, conf]], dtype=np.float32)


NOBODY = np.zeros((4, 3), dtype=np.float32)


def scene(frames: list[list[np.ndarray]]) -> PoseSequence:
    slots = max(len(f) for f in frames)
    kp = np.zeros((len(frames), slots, 4, 3), dtype=np.float32)
    for f, people in enumerate(frames):
        for p, person in enumerate(people):
            kp[f, p] = person
    return PoseSequence(BOX, kp, 640, 480, fps=24.0)


def swap_scene() -> tuple[PoseSequence, list[np.ndarray], list[np.ndarray]]:
    """A (bigger, walking right) and B (walking left) swap slots from frame 3 on."""
    a = [box(100 + 10 * f, 200, 80, 160) for f in range(6)]
    b = [box(500 - 10 * f, 220, 60, 150) for f in range(6)]
    frames = [[a[f], b[f]] if f < 3 else [b[f], a[f]] for f in range(6)]
    return scene(frames), a, b


def test_largest_picks_biggest_box_per_frame():
    small, big = box(100, 100, 10, 10), box(300, 300, 50, 60)
    seq = scene([[small, big], [big, small], [small]])
    out = select_person(seq, "largest")
    assert out.num_people == 1 and out.skeleton == BOX and out.fps == 24.0 and (out.width, out.height) == (640, 480)
    np.testing.assert_array_equal(out.keypoints[:, 0], [big, big, small])


def test_largest_ties_go_to_lower_slot_and_empty_frames_stay_missing():
    left, right = box(100, 100, 20, 20), box(400, 100, 20, 20)
    out = select_person(scene([[left, right], [NOBODY, NOBODY], [NOBODY, right]]), "largest")
    np.testing.assert_array_equal(out.keypoints[:, 0], [left, NOBODY, right])


def test_a_single_point_beats_an_empty_slot():
    one_point = NOBODY.copy()
    one_point[2] = (50, 60, 0.5)
    areas = bbox_areas(scene([[NOBODY, one_point]]))
    assert areas.tolist() == [[-1.0, 0.0]]
    np.testing.assert_array_equal(select_person(scene([[NOBODY, one_point]]), "largest").keypoints[0, 0], one_point)


def test_index_follows_the_slot_and_track_follows_the_person():
    seq, a, b = swap_scene()
    by_index = select_person(seq, "index", 0).keypoints[:, 0]
    np.testing.assert_array_equal(by_index, [a[0], a[1], a[2], b[3], b[4], b[5]])
    np.testing.assert_array_equal(select_person(seq, "track").keypoints[:, 0], a)
    np.testing.assert_array_equal(select_person(seq, "index", 1).keypoints[:, 0], [b[0], b[1], b[2], a[3], a[4], a[5]])


def test_track_keeps_identity_when_the_smaller_person_is_tracked_across_a_gap():
    # start: only B is there (so B is the largest present); A appears later in slot 0; a frame with nobody between
    a = [box(100 + 10 * f, 200, 80, 160) for f in range(5)]
    b = [box(500 - 5 * f, 220, 60, 150) for f in range(5)]
    frames = [[NOBODY, NOBODY], [NOBODY, b[1]], [NOBODY, NOBODY], [a[3], b[3]], [b[4], a[4]]]
    out = select_person(scene(frames), "track").keypoints[:, 0]
    np.testing.assert_array_equal(out, [NOBODY, b[1], NOBODY, b[3], b[4]])
    # largest would switch to the bigger A as soon as A shows up
    np.testing.assert_array_equal(select_person(scene(frames), "largest").keypoints[3:, 0], [a[3], a[4]])


def test_track_falls_back_to_box_centres_without_common_keypoints():
    start = box(100, 100, 40, 40)
    start[2:, 2] = 0  # only the top corners
    start[2:, :2] = 0
    near, far = box(110, 100, 40, 40), box(400, 100, 40, 40)
    near[:2] = 0  # only the bottom corners: nothing in common with `start`
    far[:2] = 0
    seq = scene([[start, NOBODY], [far, near]])
    assert pose_distance(start, near) < pose_distance(start, far)
    np.testing.assert_array_equal(select_person(seq, "track").keypoints[1, 0], near)


def test_pose_distance_is_mean_over_common_keypoints():
    a, b = box(0, 0, 10, 10), box(3, 4, 10, 10)
    assert pose_distance(a, b) == pytest.approx(5.0)
    b[0, 2] = 0  # one point fewer in common: still every shared point is 5 px off
    assert pose_distance(a, b) == pytest.approx(5.0)


def test_index_errors_name_person_index():
    seq, _, _ = swap_scene()
    for bad in (2, -1, True, "0"):
        with pytest.raises(PoseGenInputError, match="person_index"):
            select_person(seq, "index", bad)  # type: ignore[arg-type]
    # a slot that exists in the array but holds nobody in any frame
    with pytest.raises(PoseGenInputError, match="person_index: person 1 does not exist"):
        select_person(scene([[box(1, 1, 2, 2), NOBODY]]), "index", 1)
    # slot 0 of a sequence without anyone is allowed (all missing)
    empty = select_person(scene([[NOBODY], [NOBODY]]), "index", 0)
    assert not empty.valid().any()


def test_unknown_mode_and_empty_sequences():
    seq, _, _ = swap_scene()
    with pytest.raises(PoseGenInputError, match="mode: unknown person selection 'biggest'"):
        select_person(seq, "biggest")  # type: ignore[arg-type]
    nobody = scene([[NOBODY, NOBODY], [NOBODY, NOBODY]])
    for mode in ("largest", "track"):
        out = select_person(nobody, mode)  # type: ignore[arg-type]
        assert out.keypoints.shape == (2, 1, 4, 3) and not out.valid().any()


def test_inserted_frames_and_metadata_survive():
    seq, _, _ = swap_scene()
    seq = seq.with_keypoints(seq.keypoints, inserted=(0,), fps=12.0)
    out = select_person(seq, "track")
    assert out.inserted == (0,) and out.fps == 12.0 and out.keypoints.dtype == np.float32
