"""Pose extraction from images with MediaPipe Holistic, onto PoseGen's ``HUMAN`` layout (no ComfyUI imports).

MediaPipe is an optional dependency, imported only when extraction runs. PoseGen uses the legacy
``mediapipe.solutions.holistic`` solution of ``mediapipe==0.10.21`` because that wheel ships the Holistic graph and
every model it needs at ``model_complexity=1`` (``modules/holistic_landmark/*.binarypb``, pose detection/landmark,
face detection/landmark, iris, palm detection, hand landmark/recrop ``.tflite`` files): nothing is downloaded. The
lite/heavy pose models (complexity 0/2) are *not* in the wheel and MediaPipe would fetch them from Google's bucket;
PoseGen refuses instead of downloading at run time (see :func:`_holistic_class`).

Holistic finds one person (the most prominent), so the result is a 1-person sequence. Coordinates come back in
canvas pixels of the input images; a keypoint MediaPipe does not provide, or places outside the image, is missing
(confidence 0, x = y = 0, as :mod:`.sequence` defines missing).

Mapping onto ``HUMAN`` (136 keypoints; "left"/"right" are the person's own sides, as in OpenPose):

* body 0..17 from MediaPipe Pose's 33 landmarks (:data:`BODY18_FROM_POSE33`, neck from the shoulders);
  confidence = landmark visibility. MediaPipe Pose, like OpenPose, names landmarks by the person's side
  (``LEFT_SHOULDER`` = 11 is the person's left shoulder, on the image's right for someone facing the camera).
* feet 18..23 from Pose's heels and foot-index points (:data:`FEET_FROM_POSE33`); the small toes do not exist in
  MediaPipe and stay missing.
* face 24..93: FaceMesh's 468/478 points reduced to iBUG-68 (:data:`FACE68_FROM_FACEMESH`) plus the two iris
  centres as pupils (:data:`PUPILS_FROM_FACEMESH`, only with ``refine_face``).
* hands 94..114 (left) and 115..135 (right): MediaPipe's 21 hand landmarks already use OpenPose's hand order.
  Holistic's ``left_hand_landmarks`` is the *person's* left hand: its hand ROI is built from Pose's left wrist,
  pinky and index (landmarks 15/17/19, mediapipe/modules/holistic_landmark/hand_landmarks_left_and_right_cpu.pbtxt)
  — unlike the standalone Hands solution, whose handedness label assumes a mirrored selfie image. Checked on real
  photos: the left hand's wrist lands on Pose's ``LEFT_WRIST``, not on the right one.

Holistic gives no per-point score for face and hand landmarks, so those get confidence 1.0 when the face/hand was
found (0 for points outside the image).
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import PoseGenInputError
from .sequence import PoseSequence
from .skeletons import HUMAN, HUMAN_FACE, HUMAN_FEET, HUMAN_LEFT_HAND, HUMAN_RIGHT_HAND

MEDIAPIPE_PIN = "mediapipe==0.10.21"


class PoseExtractionUnavailable(RuntimeError):
    """MediaPipe (or the model a setting needs) is not available, so poses cannot be extracted here.

    Not an input error (the installation is at fault); ``problem`` is the explanation, for a node to show."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


# --- index maps ------------------------------------------------------------------------------------------------

# HUMAN body index <- MediaPipe Pose landmark (PoseLandmark enum). The neck (HUMAN 1) has no MediaPipe landmark;
# it is the midpoint of the shoulders, see NECK_FROM_POSE33.
#
#   HUMAN  OpenPose name     MediaPipe Pose
#   0      nose              0  NOSE
#   2      right_shoulder    12 RIGHT_SHOULDER
#   3      right_elbow       14 RIGHT_ELBOW
#   4      right_wrist       16 RIGHT_WRIST
#   5      left_shoulder     11 LEFT_SHOULDER
#   6      left_elbow        13 LEFT_ELBOW
#   7      left_wrist        15 LEFT_WRIST
#   8      right_hip         24 RIGHT_HIP
#   9      right_knee        26 RIGHT_KNEE
#   10     right_ankle       28 RIGHT_ANKLE
#   11     left_hip          23 LEFT_HIP
#   12     left_knee         25 LEFT_KNEE
#   13     left_ankle        27 LEFT_ANKLE
#   14     right_eye         5  RIGHT_EYE (eye centre; 4/6 are its inner/outer corners)
#   15     left_eye          2  LEFT_EYE  (eye centre; 1/3 are its inner/outer corners)
#   16     right_ear         8  RIGHT_EAR
#   17     left_ear          7  LEFT_EAR
BODY18_FROM_POSE33: tuple[tuple[int, int], ...] = (
    (0, 0), (2, 12), (3, 14), (4, 16), (5, 11), (6, 13), (7, 15), (8, 24), (9, 26), (10, 28), (11, 23), (12, 25),
    (13, 27), (14, 5), (15, 2), (16, 8), (17, 7))
# neck (HUMAN 1) = midpoint of LEFT_SHOULDER (11) and RIGHT_SHOULDER (12), confidence = the smaller of the two
# (as DWPose/OpenPose-style converters do: a neck is only as certain as its weaker shoulder)
NECK_INDEX = 1
NECK_FROM_POSE33: tuple[int, int] = (11, 12)

# HUMAN feet index <- MediaPipe Pose landmark:
#   18 left_big_toe    <- 31 LEFT_FOOT_INDEX  (MediaPipe's "foot index" is the tip of the foot, at the big toe)
#   20 left_heel       <- 29 LEFT_HEEL
#   21 right_big_toe   <- 32 RIGHT_FOOT_INDEX
#   23 right_heel      <- 30 RIGHT_HEEL
# 19 left_small_toe and 22 right_small_toe have no MediaPipe counterpart: they stay missing (confidence 0) rather
# than being guessed, so renderers simply skip those two foot lines.
FEET_FROM_POSE33: tuple[tuple[int, int], ...] = ((18, 31), (20, 29), (21, 32), (23, 30))
FEET_NOT_IN_MEDIAPIPE: tuple[int, ...] = (19, 22)

# iBUG-68 point i <- FaceMesh landmark FACE68_FROM_FACEMESH[i].
#
# Provenance: the dlib-68 <-> MediaPipe FaceMesh correspondence that circulates in face-alignment code (jaw
# 127, 234, 132, 58, 172, 150, 149, 148, 152 and mirror; brows 70-63-105-66-107 / 336-296-334-293-300; eyes
# 33-160-158-133-153-144 / 362-385-387-263-373-380; ...), rewritten here and checked against FaceMesh's symmetric
# canonical model: every left/right pair below is a mirror pair of the mesh (127<->356, 234<->454, 132<->361,
# 58<->288, 172<->397, 150<->379, 149<->378, 148<->377, 70<->300, 33<->263, 61<->291, 75<->305, ...). Two choices
# differ from some published variants: the nose tip (iBUG 30) is landmark 1, which MediaPipe's own annotations call
# "noseTip", and the mouth uses 40/270 and 321/91 so the outer-lip points are evenly spread along FaceMesh's lip
# contour. iBUG order is kept exactly: the jaw runs from the person's right ear area (image left for a face looking
# at the camera) along the chin (8 = 152, the menton) to the left one; brows and eyes go right side first; the
# mouth starts at the person's right corner and runs clockwise in the image.
#
#   iBUG     part                          FaceMesh
#   0..16    jaw, right -> chin -> left    127 234 132 58 172 150 149 148 | 152 | 377 378 379 397 288 361 454 356
#   17..21   right brow, outer -> inner    70 63 105 66 107
#   22..26   left brow, inner -> outer     336 296 334 293 300
#   27..30   nose bridge, top -> tip       168 197 5 1
#   31..35   nostrils, right -> left       75 97 2 326 305
#   36..41   right eye (outer corner, upper lid, inner corner, lower lid)    33 160 158 133 153 144
#   42..47   left eye (inner corner, upper lid, outer corner, lower lid)     362 385 387 263 373 380
#   48..59   outer lip from the right corner, upper lip then lower           61 40 37 0 267 270 291 321 314 17 84 91
#   60..67   inner lip from the right corner, upper lip then lower           78 81 13 311 308 402 14 178
FACE68_FROM_FACEMESH: tuple[int, ...] = (
    127, 234, 132, 58, 172, 150, 149, 148, 152, 377, 378, 379, 397, 288, 361, 454, 356,
    70, 63, 105, 66, 107,
    336, 296, 334, 293, 300,
    168, 197, 5, 1,
    75, 97, 2, 326, 305,
    33, 160, 158, 133, 153, 144,
    362, 385, 387, 263, 373, 380,
    61, 40, 37, 0, 267, 270, 291, 321, 314, 17, 84, 91,
    78, 81, 13, 311, 308, 402, 14, 178)
# FACE70's pupils (face 68 = right pupil, 69 = left pupil) <- the iris centres that refine_face_landmarks adds:
# 468 is the centre of the iris around the right eye (33/133), 473 the left one (263/362); 469..472 / 474..477 are
# the iris rims. Without refinement FaceMesh has 468 points and the pupils stay missing.
PUPILS_FROM_FACEMESH: tuple[tuple[int, int], ...] = ((68, 468), (69, 473))

FACE_START = HUMAN_FACE.start  # 24
FEET_START = HUMAN_FEET.start  # 18
LEFT_HAND_START = HUMAN_LEFT_HAND.start  # 94: Holistic left_hand_landmarks 0..20 (person's left hand)
RIGHT_HAND_START = HUMAN_RIGHT_HAND.start  # 115: Holistic right_hand_landmarks 0..20
HAND_POINTS = 21  # MediaPipe hand = OpenPose hand order: wrist, thumb 1-4, index 1-4, middle 1-4, ring 1-4, pinky 1-4

# The pose landmark model each model_complexity loads; only "full" (1) ships in the wheel
POSE_LANDMARK_MODELS = {0: "pose_landmark_lite.tflite", 1: "pose_landmark_full.tflite",
                        2: "pose_landmark_heavy.tflite"}


# --- MediaPipe loading and its native log noise ----------------------------------------------------------------

_INSTALL_HINT = (f"Install it into ComfyUI's Python with `pip install {MEDIAPIPE_PIN}` (CPU only; the wheel ships the "
                 "Holistic models, nothing is downloaded). Alternatively skip extraction and feed POSE_KEYPOINT "
                 "from comfyui_controlnet_aux's DWPose Estimator.")

# Native (C++) lines MediaPipe prints on stderr when a graph starts, once per Holistic instance: TFLite's delegate
# notice, absl's "before InitializeLog" banner and absl INFO/WARNING lines ("W0000 00:00:... file.cc:123] ...").
# mediapipe 0.10.21 logs through absl before absl::InitializeLog(), which no environment variable quiets, so these
# are filtered out of fd 2 while the graph starts; E (error) and F (fatal) lines and anything else pass through.
_NATIVE_NOISE = re.compile(
    r"^(INFO: Created TensorFlow Lite .*delegate for CPU\."
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IW]\d{4} [\d:. ]+\s+\d+ [\w./-]+:\d+\] .*)$")
# Set to 1 to see MediaPipe's native logging unfiltered (e.g. when diagnosing a crash in graph start-up).
SHOW_NATIVE_LOGS_ENV = "POSEGEN_MEDIAPIPE_LOGS"


def _quiet_env() -> None:
    """Raise glog's/TensorFlow's thresholds to errors before MediaPipe's native code loads (user settings win).

    Builds of MediaPipe that log through glog, or TF-backed ones, honour these; errors stay visible.
    """
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


class _StartupNoiseFilter:
    """Routes fd 2 to a temp file while a graph starts, then replays every line that is not known start-up noise.

    A temp file, not a pipe: nothing can block if a writer outpaces us, and other threads' stderr output in the
    window is delayed, not lost. ``stop()`` runs on every exit path (errors included), so no error line is
    swallowed; only a hard crash inside the window would lose its message, hence SHOW_NATIVE_LOGS_ENV.
    """

    # fd 2 is process-wide: two overlapping windows would restore each other's temp file as stderr for good, so
    # only one extraction filters at a time (another one starting meanwhile just logs unfiltered)
    _fd2_lock = threading.Lock()

    def __init__(self) -> None:
        self._saved: int | None = None
        self._capture: Any = None

    def start(self) -> None:
        if os.environ.get(SHOW_NATIVE_LOGS_ENV, "") not in ("", "0"):
            return
        if not self._fd2_lock.acquire(blocking=False):
            return
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError, AttributeError):  # no usable stderr (e.g. pythonw): nothing to filter
            self._fd2_lock.release()
            return
        try:
            self._capture = tempfile.TemporaryFile()
            os.dup2(self._capture.fileno(), 2)
        except OSError:  # no temp file: extraction matters more than quiet logs
            os.close(saved)
            if self._capture is not None:
                self._capture.close()
                self._capture = None
            self._fd2_lock.release()
            return
        self._saved = saved

    def stop(self) -> None:
        if self._saved is None:
            return
        saved, capture, self._saved, self._capture = self._saved, self._capture, None, None
        try:
            with contextlib.suppress(OSError, ValueError, AttributeError):
                sys.stderr.flush()
            os.dup2(saved, 2)
            capture.seek(0)
            kept = [line for line in capture.read().decode("utf-8", "replace").splitlines(keepends=True)
                    if not _NATIVE_NOISE.match(line.rstrip("\r\n"))]
            pending = "".join(kept).encode("utf-8")
            while pending:
                pending = pending[os.write(2, pending):]
        finally:
            os.close(saved)
            capture.close()
            self._fd2_lock.release()


def _holistic_class(model_complexity: int) -> Any:
    """MediaPipe's legacy Holistic solution class, or PoseExtractionUnavailable with what to do about it."""
    _quiet_env()
    try:
        import mediapipe
        from mediapipe.python.solutions import holistic
    except ImportError as exc:
        raise PoseExtractionUnavailable(
            f"Pose extraction needs MediaPipe, which could not be imported ({exc}). {_INSTALL_HINT}") from exc
    except Exception as exc:  # e.g. an ABI mismatch (numpy 2 with an old wheel) surfaces as other errors
        raise PoseExtractionUnavailable(
            f"MediaPipe is installed but failed to load ({type(exc).__name__}: {exc}). {_INSTALL_HINT}") from exc
    if not hasattr(holistic, "Holistic"):  # newer wheels dropped the legacy solutions
        version = getattr(mediapipe, "__version__", "?")
        raise PoseExtractionUnavailable(
            f"mediapipe {version} has no legacy Holistic solution. {_INSTALL_HINT}")
    # Holistic.__init__ downloads the lite/heavy pose model when it is not in the package; refuse first, so a
    # ComfyUI run never reaches the network (and says why instead of failing offline with a URL error).
    model = Path(mediapipe.__file__).parent / "modules" / "pose_landmark" / POSE_LANDMARK_MODELS[model_complexity]
    if not model.is_file():
        raise PoseExtractionUnavailable(
            f"model_complexity={model_complexity} needs {model.name}, which the mediapipe wheel does not ship "
            f"(MediaPipe would download it; PoseGen does not download at run time). Use model_complexity=1, whose "
            f"model is bundled, or place {model.name} at {model}.")
    return holistic.Holistic


# --- conversion ------------------------------------------------------------------------------------------------

def _landmark_array(landmarks: Any, with_visibility: bool) -> np.ndarray:
    """float64 [n, 3]: normalized x, y and visibility (1.0 for lists without a per-point score)."""
    points = landmarks.landmark
    if with_visibility:
        return np.array([(p.x, p.y, p.visibility) for p in points], dtype=np.float64).reshape(-1, 3)
    return np.array([(p.x, p.y, 1.0) for p in points], dtype=np.float64).reshape(-1, 3)


def _to_canvas(points: np.ndarray, width: int, height: int) -> np.ndarray:
    """Normalized landmarks -> canvas pixels; points outside the image (or not finite) become missing."""
    out = np.empty_like(points)
    out[:, 0] = points[:, 0] * width
    out[:, 1] = points[:, 1] * height
    out[:, 2] = np.clip(points[:, 2], 0.0, 1.0)
    # MediaPipe extrapolates landmarks beyond the frame (e.g. hips of a head-and-shoulders shot) with some
    # visibility; a pose drawn on this canvas cannot use them, so they count as missing
    inside = (np.isfinite(out).all(axis=1) & (out[:, 0] >= 0) & (out[:, 0] < width) & (out[:, 1] >= 0)
              & (out[:, 1] < height) & (out[:, 2] > 0))
    out[~inside] = 0.0
    return out


def results_to_human(results: Any, width: int, height: int) -> np.ndarray:
    """One Holistic result -> float32 [136, 3] on the ``HUMAN`` layout (all missing without a pose).

    ``results`` only needs MediaPipe's attributes (``pose_landmarks``, ``face_landmarks``, ``left_hand_landmarks``,
    ``right_hand_landmarks``, each None or with a ``.landmark`` list), so tests can feed stand-ins.
    """
    person = np.zeros((HUMAN.num_keypoints, 3), dtype=np.float64)
    if results.pose_landmarks is None:
        # Holistic finds face and hands from the pose; without one there is no person in this frame
        return person.astype(np.float32)

    pose = _to_canvas(_landmark_array(results.pose_landmarks, with_visibility=True), width, height)
    for human, mp_index in BODY18_FROM_POSE33:
        person[human] = pose[mp_index]
    left, right = pose[NECK_FROM_POSE33[0]], pose[NECK_FROM_POSE33[1]]
    if left[2] > 0 and right[2] > 0:
        person[NECK_INDEX] = ((left[0] + right[0]) / 2, (left[1] + right[1]) / 2, min(left[2], right[2]))
    for human, mp_index in FEET_FROM_POSE33:
        person[human] = pose[mp_index]

    if results.face_landmarks is not None:
        face = _to_canvas(_landmark_array(results.face_landmarks, with_visibility=False), width, height)
        person[FACE_START:FACE_START + 68] = face[list(FACE68_FROM_FACEMESH)]
        for face_index, mesh_index in PUPILS_FROM_FACEMESH:
            if mesh_index < len(face):  # only refined meshes (478 points) have irises
                person[FACE_START + face_index] = face[mesh_index]

    for start, hand in ((LEFT_HAND_START, results.left_hand_landmarks),
                        (RIGHT_HAND_START, results.right_hand_landmarks)):
        if hand is not None:
            person[start:start + HAND_POINTS] = _to_canvas(_landmark_array(hand, with_visibility=False), width,
                                                           height)[:HAND_POINTS]
    return person.astype(np.float32)


# --- extraction ------------------------------------------------------------------------------------------------

def _check_images(images: np.ndarray) -> None:
    if not isinstance(images, np.ndarray) or images.ndim != 4 or images.shape[3] != 3:
        raise PoseGenInputError("images", f"got {getattr(images, 'shape', type(images).__name__)}.",
                                "a uint8 RGB array [frames, height, width, 3]")
    if images.dtype != np.uint8:
        raise PoseGenInputError("images", f"dtype {images.dtype}.", "uint8 (0..255 RGB)")
    if min(images.shape[:3]) == 0:
        raise PoseGenInputError("images", f"shape {images.shape}.", "at least one non-empty frame")


def extract_poses(images: np.ndarray, *, progress: Callable[[int, int], None] | None = None,
                  should_stop: Callable[[], Any] | None = None, model_complexity: int = 1,
                  min_confidence: float = 0.5, refine_face: bool = True) -> PoseSequence:
    """Whole-body poses of the most prominent person in each frame, as a 1-person ``HUMAN`` PoseSequence.

    ``images`` is uint8 RGB [frames, H, W, 3]; the poses live on that W x H canvas. A clip runs through one
    Holistic graph in video mode so MediaPipe tracks and smooths across frames; a single frame uses static-image
    mode. Frames without a person are all-missing.

    ``progress(done, total)`` is called after each frame. ``should_stop()`` is called before each frame: whatever
    it raises stops extraction and propagates (ComfyUI's interrupt check raises); if it returns a true value
    instead, extraction stops with InterruptedError. ``model_complexity`` picks the pose landmark model (only 1
    is bundled with the wheel, see the module docs); ``min_confidence`` is Holistic's person detection and
    tracking threshold. ``refine_face`` runs the attention face model, which adds the irises used as pupils.
    """
    _check_images(images)
    if model_complexity not in POSE_LANDMARK_MODELS:
        raise PoseGenInputError("model_complexity", f"{model_complexity!r}.", "0, 1 or 2")
    if not 0.0 <= float(min_confidence) <= 1.0:
        raise PoseGenInputError("min_confidence", f"{min_confidence!r}.", "a value in [0, 1]")
    holistic_cls = _holistic_class(model_complexity)

    total, height, width = (int(v) for v in images.shape[:3])
    keypoints = np.zeros((total, 1, HUMAN.num_keypoints, 3), dtype=np.float32)
    options = dict(static_image_mode=total == 1, model_complexity=model_complexity, smooth_landmarks=True,
                   enable_segmentation=False, refine_face_landmarks=bool(refine_face),
                   min_detection_confidence=float(min_confidence), min_tracking_confidence=float(min_confidence))

    # The graph logs its start-up noise while being built and while the first frame initialises the models
    noise = _StartupNoiseFilter()
    noise.start()
    try:
        with holistic_cls(**options) as holistic:  # the context manager closes the graph on any exit
            for index in range(total):
                if should_stop is not None and should_stop():
                    raise InterruptedError(f"pose extraction stopped before frame {index + 1} of {total}")
                # MediaPipe wants a C-contiguous HxWx3 uint8 frame; slices of a strided batch may not be
                results = holistic.process(np.ascontiguousarray(images[index]))
                noise.stop()
                keypoints[index, 0] = results_to_human(results, width, height)
                if progress is not None:
                    progress(index + 1, total)
    finally:
        noise.stop()
    return PoseSequence(skeleton=HUMAN, keypoints=keypoints, width=width, height=height)


def assigned_human_indices() -> Sequence[int]:
    """Every HUMAN index the extractor can fill, in map order (repeats would mean two sources for one point)."""
    return (*(h for h, _ in BODY18_FROM_POSE33), NECK_INDEX, *(h for h, _ in FEET_FROM_POSE33),
            *(FACE_START + i for i in range(len(FACE68_FROM_FACEMESH))),
            *(FACE_START + f for f, _ in PUPILS_FROM_FACEMESH),
            *range(LEFT_HAND_START, LEFT_HAND_START + HAND_POINTS),
            *range(RIGHT_HAND_START, RIGHT_HAND_START + HAND_POINTS))
