"""MediaPipe Holistic pose extraction onto the HUMAN layout.

The model tests run the real bundled models on scikit-image's astronaut photo (public domain, 512x512, a woman in
a space suit facing the camera, head and shoulders to the waist, holding a helmet at the lower right) with every
socket connection refused, so a download attempt would fail the test.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from posegen_core.poses import extract_mediapipe as em
from posegen_core.poses.sequence import PoseSequence
from posegen_core.poses.skeletons import HUMAN

# mediapipe is optional for users but part of the development environment (requirements-dev.txt): the extraction
# tests always run, and fail loudly if it is missing.

NOSE, NECK, R_SHOULDER, L_SHOULDER, R_EYE, L_EYE, R_EAR, L_EAR = 0, 1, 2, 5, 14, 15, 16, 17
R_WRIST, L_WRIST = 4, 7
LOWER_BODY = (8, 9, 10, 11, 12, 13, *range(18, 24))  # hips, knees, ankles, feet
FACE = 24  # HUMAN index of iBUG point 0


def _refuse(*args, **kwargs):
    raise AssertionError(f"network access attempted: {args[1:]}")


def _block_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Extraction must run from the wheel's bundled models: any connection attempt fails loudly."""
    monkeypatch.setattr(socket.socket, "connect", _refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", _refuse)
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: _refuse(None, *a))


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    _block_network(monkeypatch)


def _astronaut() -> np.ndarray:
    from skimage import data

    return data.astronaut()


def _shifted(image: np.ndarray, dx: int) -> np.ndarray:
    """The image moved ``dx`` px right, the left edge repeated (no wrap-around ghost on the other side)."""
    return np.pad(image, ((0, 0), (dx, 0), (0, 0)), mode="edge")[:, :image.shape[1]]


@pytest.fixture(scope="module")
def astronaut_pose() -> PoseSequence:
    with pytest.MonkeyPatch.context() as patch:  # runs before the function-scoped guard: guard here too
        _block_network(patch)
        return em.extract_poses(_astronaut()[None])


# --- index maps ----------------------------------------------------------------------------------------------

def test_index_maps_have_the_documented_sizes():
    assert len(em.BODY18_FROM_POSE33) == 17  # + the neck = OpenPose-18
    assert len(em.FEET_FROM_POSE33) == 4 and len(em.FEET_NOT_IN_MEDIAPIPE) == 2
    assert len(em.FACE68_FROM_FACEMESH) == 68
    assert len(em.PUPILS_FROM_FACEMESH) == 2
    assert all(0 <= m < 33 for _, m in (*em.BODY18_FROM_POSE33, *em.FEET_FROM_POSE33))
    assert all(0 <= m < 468 for m in em.FACE68_FROM_FACEMESH)  # present in refined and unrefined meshes
    assert all(468 <= m < 478 for _, m in em.PUPILS_FROM_FACEMESH)  # iris points exist only when refined


def test_every_human_index_is_assigned_at_most_once():
    assigned = list(em.assigned_human_indices())
    assert len(assigned) == len(set(assigned))
    assert len(set(em.FACE68_FROM_FACEMESH)) == 68  # no mesh point feeds two iBUG points
    assert len({m for _, m in (*em.BODY18_FROM_POSE33, *em.FEET_FROM_POSE33)}) == 21
    # everything except the two small toes has a source
    assert set(range(HUMAN.num_keypoints)) - set(assigned) == set(em.FEET_NOT_IN_MEDIAPIPE)
    assert [HUMAN.keypoints[i] for i in em.FEET_NOT_IN_MEDIAPIPE] == ["left_small_toe", "right_small_toe"]


def test_body_and_feet_maps_match_mediapipe_landmark_names():
    from mediapipe.python.solutions.pose import PoseLandmark

    for human, mp_index in em.BODY18_FROM_POSE33:
        assert HUMAN.keypoints[human] == PoseLandmark(mp_index).name.lower()
    feet = {HUMAN.keypoints[h]: PoseLandmark(m).name.lower() for h, m in em.FEET_FROM_POSE33}
    assert feet == {"left_big_toe": "left_foot_index", "left_heel": "left_heel",
                    "right_big_toe": "right_foot_index", "right_heel": "right_heel"}
    assert {PoseLandmark(m).name for m in em.NECK_FROM_POSE33} == {"LEFT_SHOULDER", "RIGHT_SHOULDER"}


# --- conversion on stand-in results (no model) ----------------------------------------------------------------

def _landmarks(points: list[tuple[float, float]], visibility: float | None = None) -> SimpleNamespace:
    marks = [SimpleNamespace(x=x, y=y, **({"visibility": visibility} if visibility is not None else {}))
             for x, y in points]
    return SimpleNamespace(landmark=marks)


def _fake_results(face_points: int = 478, hands: bool = True) -> SimpleNamespace:
    pose = [(0.1 + 0.02 * i, 0.5) for i in range(33)]
    pose[11], pose[12] = (0.6, 0.4), (0.4, 0.3)  # left/right shoulder
    pose[25] = (0.5, 1.3)  # a knee below the frame
    return SimpleNamespace(
        pose_landmarks=_landmarks(pose, visibility=0.9),
        face_landmarks=_landmarks([(0.5, 0.2 + i / 4000) for i in range(face_points)]),
        left_hand_landmarks=_landmarks([(0.7, 0.6 + i / 100) for i in range(21)]) if hands else None,
        right_hand_landmarks=_landmarks([(0.3, 0.6 + i / 100) for i in range(21)]) if hands else None)


def test_conversion_places_each_source_on_its_human_slots():
    person = em.results_to_human(_fake_results(), width=200, height=100)
    assert person.shape == (136, 3) and person.dtype == np.float32
    np.testing.assert_allclose(person[L_SHOULDER], (120, 40, 0.9), atol=1e-4)  # MediaPipe 11 = person's left
    np.testing.assert_allclose(person[R_SHOULDER], (80, 30, 0.9), atol=1e-4)
    np.testing.assert_allclose(person[NECK], (100, 35, 0.9), atol=1e-4)
    assert person[12, 2] == 0 and person[12, 0] == 0  # left knee below the image: missing
    assert (person[list(em.FEET_NOT_IN_MEDIAPIPE), 2] == 0).all()
    # Holistic's left_hand_landmarks -> left hand slots, with confidence 1
    np.testing.assert_allclose(person[94:115, 0], 140, atol=1e-4)
    np.testing.assert_allclose(person[115:136, 0], 60, atol=1e-4)
    assert (person[94:136, 2] == 1).all()
    assert (person[FACE:FACE + 70, 2] == 1).all()
    np.testing.assert_allclose(person[FACE + 68, 1], (0.2 + 468 / 4000) * 100, atol=1e-3)  # right pupil = 468


def test_conversion_without_irises_hands_or_pose():
    person = em.results_to_human(_fake_results(face_points=468, hands=False), width=64, height=64)
    assert (person[FACE:FACE + 68, 2] == 1).all()
    assert (person[FACE + 68:FACE + 70, 2] == 0).all()  # no refinement: pupils missing
    assert (person[94:, 2] == 0).all()
    none = em.results_to_human(SimpleNamespace(pose_landmarks=None, face_landmarks=None, left_hand_landmarks=None,
                                               right_hand_landmarks=None), width=64, height=64)
    assert not none.any()


def test_neck_needs_both_shoulders():
    results = _fake_results()
    results.pose_landmarks.landmark[12].x = -0.2  # right shoulder outside the image
    person = em.results_to_human(results, width=100, height=100)
    assert person[R_SHOULDER, 2] == 0 and person[NECK, 2] == 0
    assert person[L_SHOULDER, 2] > 0


# --- missing MediaPipe / models ---------------------------------------------------------------------------------

def test_missing_mediapipe_raises_with_install_hint(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "mediapipe", None)  # makes `import mediapipe` raise ImportError
    with pytest.raises(em.PoseExtractionUnavailable) as info:
        em.extract_poses(np.zeros((1, 8, 8, 3), np.uint8))
    message = str(info.value)
    assert isinstance(info.value, RuntimeError)
    assert "pip install mediapipe==0.10.21" in message
    assert "nothing is downloaded" in message and "DWPose" in message


def test_unbundled_model_complexity_is_refused_instead_of_downloaded(monkeypatch: pytest.MonkeyPatch):
    from mediapipe.python.solutions import download_utils

    def no_download(path):
        raise AssertionError(f"tried to download {path}")

    monkeypatch.setattr(download_utils, "download_oss_model", no_download)
    monkeypatch.setitem(em.POSE_LANDMARK_MODELS, 2, "pose_landmark_not_bundled.tflite")
    with pytest.raises(em.PoseExtractionUnavailable, match="model_complexity=1"):
        em.extract_poses(np.zeros((1, 8, 8, 3), np.uint8), model_complexity=2)


def test_the_default_model_ships_in_the_wheel():
    import mediapipe

    package = Path(mediapipe.__file__).parent
    assert (package / "modules" / "pose_landmark" / em.POSE_LANDMARK_MODELS[1]).is_file()
    assert (package / "modules" / "holistic_landmark" / "holistic_landmark_cpu.binarypb").is_file()


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError, match="uint8 RGB"):
        em.extract_poses(np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        em.extract_poses(np.zeros((1, 8, 8, 3), np.float32))
    with pytest.raises(ValueError, match="model_complexity"):
        em.extract_poses(np.zeros((1, 8, 8, 3), np.uint8), model_complexity=3)


# --- the real models on the astronaut ---------------------------------------------------------------------------

def test_astronaut_body_is_found_and_oriented(astronaut_pose: PoseSequence):
    assert astronaut_pose.skeleton is HUMAN and (astronaut_pose.width, astronaut_pose.height) == (512, 512)
    assert astronaut_pose.keypoints.shape == (1, 1, 136, 3)
    kp = astronaut_pose.keypoints[0, 0]
    for index in (NOSE, NECK, R_SHOULDER, L_SHOULDER, R_EYE, L_EYE):
        assert kp[index, 2] > 0.5, HUMAN.keypoints[index]
    assert kp[NOSE, 1] < kp[NECK, 1]
    assert kp[R_EYE, 1] < kp[NOSE, 1] and kp[L_EYE, 1] < kp[NOSE, 1]
    # she faces the camera: her right side is on the image's left
    assert kp[R_SHOULDER, 0] < kp[NECK, 0] < kp[L_SHOULDER, 0]
    assert kp[R_EYE, 0] < kp[NOSE, 0] < kp[L_EYE, 0]
    assert kp[R_EAR, 0] < kp[R_EYE, 0] and kp[L_EYE, 0] < kp[L_EAR, 0]
    # the head is in the upper third, the shoulders below it
    assert 150 < kp[NOSE, 0] < 300 and 60 < kp[NOSE, 1] < 180
    assert kp[R_SHOULDER, 1] > 180 and kp[L_SHOULDER, 1] > 180


def test_astronaut_lower_body_out_of_frame_is_missing_or_unsure(astronaut_pose: PoseSequence):
    kp = astronaut_pose.keypoints[0, 0]
    assert (kp[list(LOWER_BODY), 2] < 0.5).all()
    assert (kp[[9, 10, 12, 13, *range(18, 24)], 2] == 0).all()  # knees, ankles, feet lie far below the image
    missing = kp[:, 2] == 0
    assert not kp[missing, :2].any()  # missing points keep x = y = 0


def test_astronaut_face_lands_on_the_face(astronaut_pose: PoseSequence):
    kp = astronaut_pose.keypoints[0, 0]
    face = kp[FACE:FACE + 70]
    assert (face[:, 2] > 0).sum() >= 66
    # her head (hair to chin) spans about x 150..300, y 15..195 in the photo
    inside = (face[:, 0] > 150) & (face[:, 0] < 300) & (face[:, 1] > 15) & (face[:, 1] < 195)
    assert inside.mean() >= 0.95
    jaw, chin = face[0:17], face[8]
    assert (np.diff(jaw[:, 0]) > -2).all()  # right ear area -> chin -> left ear area, left to right in the image
    assert jaw[0, 0] < kp[R_EYE, 0] and jaw[16, 0] > kp[L_EYE, 0]
    assert chin[1] == jaw[:, 1].max() and chin[1] > kp[NOSE, 1] + 20
    right_eye, left_eye = face[36:42, :2].mean(0), face[42:48, :2].mean(0)
    assert right_eye[0] < left_eye[0]
    # the mesh's eyes agree with the (coarser) body model's eyes, and the pupils sit inside them
    eye_distance = float(np.linalg.norm(left_eye - right_eye))
    assert 30 < eye_distance < 60
    assert np.linalg.norm(right_eye - kp[R_EYE, :2]) < 0.3 * eye_distance
    assert np.linalg.norm(left_eye - kp[L_EYE, :2]) < 0.3 * eye_distance
    assert face[36, 0] < face[68, 0] < face[39, 0] and face[42, 0] < face[69, 0] < face[45, 0]
    nose_tip, mouth = face[30], face[48:60, :2].mean(0)
    assert max(right_eye[1], left_eye[1]) < nose_tip[1] < mouth[1] < chin[1]
    assert face[48, 0] < face[51, 0] < face[54, 0]  # mouth from her right corner to her left
    assert face[17:22, 1].max() < right_eye[1] and face[22:27, 1].max() < left_eye[1]  # brows above the eyes


def test_astronaut_hands_are_reported(astronaut_pose: PoseSequence):
    kp = astronaut_pose.keypoints[0, 0]
    found = {side: bool((kp[start:start + 21, 2] > 0).any()) for side, start in (("left", 94), ("right", 115))}
    print(f"astronaut hands found: {found}")  # her gloved hands are at the bottom edge, under the helmet
    # if a hand is found it must be at the matching wrist, not the other one
    for side, start, same, other in (("left", 94, L_WRIST, R_WRIST), ("right", 115, R_WRIST, L_WRIST)):
        if found[side] and kp[same, 2] > 0 and kp[other, 2] > 0:
            wrist = kp[start, :2]
            assert np.linalg.norm(wrist - kp[same, :2]) < np.linalg.norm(wrist - kp[other, :2])


def test_blank_image_has_no_person():
    poses = em.extract_poses(np.zeros((1, 256, 256, 3), np.uint8))
    assert poses.keypoints.shape == (1, 1, 136, 3)
    assert not poses.keypoints.any()


def test_clip_tracks_a_moving_person_and_reports_progress():
    step = 4
    clip = np.stack([_shifted(_astronaut(), step * i) for i in range(5)])
    calls: list[tuple[int, int]] = []
    stops: list[int] = []
    poses = em.extract_poses(clip, progress=lambda done, total: calls.append((done, total)),
                             should_stop=lambda: stops.append(1))
    assert calls == [(i, 5) for i in range(1, 6)] and len(stops) == 5
    assert poses.num_frames == 5 and poses.num_people == 1
    kp = poses.keypoints[:, 0]
    valid = kp[..., 2] > 0
    assert valid[:, [NOSE, NECK, R_SHOULDER, L_SHOULDER]].all()
    # points found in both frames move by the shift (tracking smooths, so allow a little lag)
    moved = [float(np.mean(kp[i, valid[0] & valid[i], 0] - kp[0, valid[0] & valid[i], 0])) for i in range(5)]
    np.testing.assert_allclose(moved, [step * i for i in range(5)], atol=2.0)
    assert (np.diff(moved) > 0).all()
    dy = kp[4, valid[0] & valid[4], 1] - kp[0, valid[0] & valid[4], 1]
    assert abs(float(np.mean(dy))) < 2.0


def test_should_stop_raising_stops_extraction_with_its_exception():
    class Interrupted(Exception):
        pass

    clip = np.stack([_shifted(_astronaut(), 2 * i) for i in range(5)])
    checks: list[int] = []
    calls: list[tuple[int, int]] = []

    def should_stop() -> None:
        checks.append(1)
        if len(checks) == 3:
            raise Interrupted("stop")

    with pytest.raises(Interrupted):
        em.extract_poses(clip, progress=lambda d, t: calls.append((d, t)), should_stop=should_stop)
    assert calls == [(1, 5), (2, 5)]


def test_should_stop_returning_true_stops_extraction():
    clip = np.zeros((3, 64, 64, 3), np.uint8)
    with pytest.raises(InterruptedError, match="before frame 1 of 3"):
        em.extract_poses(clip, should_stop=lambda: True)


def test_graph_start_noise_is_filtered_but_other_stderr_output_is_kept(capfd: pytest.CaptureFixture[str]):
    def should_stop() -> None:  # runs inside the filtered window, writing where native code writes
        os.write(2, b"E0000 00:00:1795253029.502838   22998 fake.cc:1] an error line must survive\n")
        os.write(2, b"W0000 00:00:1795253029.502838   22998 fake.cc:2] a start-up warning\n")

    em.extract_poses(np.zeros((1, 64, 64, 3), np.uint8), should_stop=should_stop)
    err = capfd.readouterr().err
    assert "an error line must survive" in err
    assert "a start-up warning" not in err
    assert "inference_feedback_manager" not in err and "XNNPACK" not in err


def test_extraction_speed_benchmark_runs():
    from bench import extraction_speed

    result = extraction_speed.main(["--frames", "2", "--size", "128"])
    run = result["runs"]["128x128"]
    assert run["frames"] == 2 and run["fps_total"] > 0
