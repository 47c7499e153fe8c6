"""Retargeting: move a driving pose sequence onto the reference subject's body proportions and canvas.

A driving video's poses belong to another person: longer legs, a smaller head, a different position in frame.
Feeding them unchanged makes the model stretch the reference subject to fit. :func:`retarget` keeps every joint
angle of the driving motion and swaps in the reference's bone lengths, then places the result where the reference
subject stands.

Kinematic tree (``human`` indices; ``openpose_body18`` uses the body part only), rooted at the neck (1)::

    neck 1 ─┬─ r-shoulder 2 ─ r-elbow 3 ─ r-wrist 4 ─ right hand wrist 115 ─ fingers (5 chains of 4, 116..135)
            ├─ l-shoulder 5 ─ l-elbow 6 ─ l-wrist 7 ─ left hand wrist 94 ─ fingers (5 chains of 4, 95..114)
            ├─ r-hip 8 ─ r-knee 9 ─ r-ankle 10 ─┬─ r big toe 21, r small toe 22, r heel 23
            ├─ l-hip 11 ─ l-knee 12 ─ l-ankle 13 ─┬─ l big toe 18, l small toe 19, l heel 20
            └─ nose 0 ─┬─ r-eye 14 ─ r-ear 16
                       ├─ l-eye 15 ─ l-ear 17
                       └─ face 24..93 (a group, not bones; see below)

Every tree link except the face is a bone: output child = output parent + L * unit(driving child - driving parent),
with L the reference's length of that bone (from its first frame) or, where the reference lacks the bone, the
driving length (median over frames, robust to foreshortening) times the global scale (median of reference/driving
length ratios over bones both have). So missing parts (legs of a half-body reference) stay in proportion.

The face is placed as a scaled copy about the nose, ``out = nose_out + s_face * (face - nose)``, with ``s_face`` the
median ratio of the reference's nose-to-landmark distances to the driving ones (global scale if the reference has no
face). Per-landmark bone lengths would freeze the face to the reference's expression (an open mouth would close);
a uniform scale keeps the driving expression at the reference's face size.

A present keypoint whose parent is missing in a frame hangs from its nearest present ancestor by the driving offset
times the global scale; with no present ancestor (neck missing) it maps like the root. Missing stays missing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import PoseGenInputError
from .sequence import PoseSequence
from .skeletons import BODY18, HAND_EDGES, HUMAN, Skeleton

ROOT = 1
NOSE = 0
R_ANKLE, L_ANKLE, R_HEEL, L_HEEL = 10, 13, 23, 20
R_HIP, L_HIP = 8, 11
R_SHOULDER, L_SHOULDER = 2, 5
FACE = tuple(range(24, 94))
# points whose lowest one defines the ground line (toes point down in front views and would bias it)
GROUND_POINTS = (R_ANKLE, L_ANKLE, R_HEEL, L_HEEL)
_BODY_PARENT = {2: 1, 3: 2, 4: 3, 5: 1, 6: 5, 7: 6, 8: 1, 9: 8, 10: 9, 11: 1, 12: 11, 13: 12, 0: 1, 14: 0, 15: 0,
                16: 14, 17: 15}


def _human_parents() -> dict[int, int]:
    parent = dict(_BODY_PARENT)
    parent.update({18: L_ANKLE, 19: L_ANKLE, 20: L_ANKLE, 21: R_ANKLE, 22: R_ANKLE, 23: R_ANKLE})
    parent.update({k: NOSE for k in FACE})
    for body_wrist, base in ((7, 94), (4, 115)):  # left hand 94.. hangs from the left wrist, right hand from the right
        parent[base] = body_wrist
        parent.update({base + b: base + a for a, b in HAND_EDGES})
    return parent


HUMAN_PARENT: dict[int, int] = _human_parents()
BODY18_PARENT: dict[int, int] = dict(_BODY_PARENT)


def parents_for(skeleton: Skeleton, *, input_name: str = "skeleton") -> dict[int, int]:
    """Child -> parent map of the kinematic tree for a supported skeleton (``human`` or ``openpose_body18``); any
    other is a PoseGenInputError about ``input_name`` (the poses that brought the skeleton)."""
    if skeleton.num_keypoints == HUMAN.num_keypoints and skeleton.keypoints == HUMAN.keypoints:
        return HUMAN_PARENT
    if skeleton.keypoints == BODY18.keypoints:
        return BODY18_PARENT
    raise PoseGenInputError(input_name, f"retargeting cannot use skeleton '{skeleton.name}'.",
                            "poses on the 'human' or 'openpose_body18' skeleton")


def _order(parent: dict[int, int]) -> list[int]:
    """Keypoints in root-first order, so every parent is placed before its children."""
    children: dict[int, list[int]] = {}
    for c, p in parent.items():
        children.setdefault(p, []).append(c)
    order, stack = [], [ROOT]
    while stack:
        k = stack.pop()
        order.append(k)
        stack.extend(sorted(children.get(k, ()), reverse=True))
    return order


def bones(skeleton: Skeleton) -> list[tuple[int, int]]:
    """The (parent, child) pairs that get reference lengths: every tree link except nose -> face landmarks."""
    face = set(FACE) if skeleton.num_keypoints == HUMAN.num_keypoints else set()
    return [(p, c) for c, p in parents_for(skeleton).items() if c not in face]


def _reference_frame(reference: PoseSequence, person: int, skeleton: Skeleton) -> np.ndarray:
    """[K, 3] reference keypoints in the driving layout (a body18 reference under a human driving pose gets the
    feet, face and hands as missing; a human reference under a body18 driving pose keeps its body part)."""
    if reference.num_frames < 1:
        raise PoseGenInputError("reference", "no frames.", "the reference subject's pose")
    if not 0 <= person < reference.num_people:
        raise PoseGenInputError("reference_person", f"{person} but the reference has {reference.num_people} people.",
                                f"a person slot from 0 to {reference.num_people - 1}")
    parents_for(reference.skeleton, input_name="reference")
    ref = reference.keypoints[0, person].astype(np.float64)
    k = skeleton.num_keypoints
    out = np.zeros((k, 3))
    n = min(k, ref.shape[0])
    out[:n] = ref[:n]
    return out


@dataclass(frozen=True)
class RetargetPlan:
    """What :func:`retarget` derived from the two inputs (exposed for reports and tests)."""

    lengths: dict[tuple[int, int], float]  # bone -> output length in reference pixels
    from_reference: frozenset[tuple[int, int]]  # bones whose length is the reference's own
    global_scale: float  # reference px per driving px
    face_scale: float


def _median_lengths(xy: np.ndarray, valid: np.ndarray, pairs: list[tuple[int, int]]) -> dict[tuple[int, int], float]:
    """Median driving length of each bone over all frames and people where both ends are present."""
    out = {}
    for p, c in pairs:
        both = valid[..., p] & valid[..., c]
        if both.any():
            d = np.linalg.norm(xy[..., c, :] - xy[..., p, :], axis=-1)[both]
            out[(p, c)] = float(np.median(d))
    return out


def plan_retarget(driving: PoseSequence, reference: PoseSequence, reference_person: int = 0) -> RetargetPlan:
    skeleton = driving.skeleton
    parents_for(skeleton, input_name="driving")
    pairs = bones(skeleton)
    ref = _reference_frame(reference, reference_person, skeleton)
    ref_valid = ref[:, 2] > 0
    xy = driving.xy.astype(np.float64)
    valid = driving.valid()
    drv_len = _median_lengths(xy, valid, pairs)
    ref_len = {(p, c): float(np.linalg.norm(ref[c, :2] - ref[p, :2])) for p, c in pairs
               if ref_valid[p] and ref_valid[c]}
    ratios = [ref_len[b] / drv_len[b] for b in ref_len if b in drv_len and drv_len[b] > 1e-6 and ref_len[b] > 1e-6]
    if ratios:
        g = float(np.median(ratios))
    else:
        # no bone seen in both (e.g. a legs-only clip onto a half-body reference): the canvas ratio is the only
        # size relation left
        g = reference.height / driving.height
    lengths = {b: ref_len.get(b, drv_len.get(b, 0.0) * g) for b in pairs}

    face_scale = g
    if skeleton.num_keypoints == HUMAN.num_keypoints and ref_valid[NOSE]:
        drv_face = _median_lengths(xy, valid, [(NOSE, k) for k in FACE])
        face_ratios = [float(np.linalg.norm(ref[k, :2] - ref[NOSE, :2])) / d
                       for (_, k), d in drv_face.items() if ref_valid[k] and d > 1e-6]
        if face_ratios:
            face_scale = float(np.median(face_ratios))
    return RetargetPlan(lengths=lengths, from_reference=frozenset(ref_len), global_scale=g, face_scale=face_scale)


def _rebuild(xy: np.ndarray, valid: np.ndarray, parent: dict[int, int], plan: RetargetPlan) -> np.ndarray:
    """Pose rebuilt root-outward with the plan's lengths, root at ``global_scale * driving root``; [F, P, K, 2]."""
    g = plan.global_scale
    out = np.zeros_like(xy)
    # nearest present ancestor-or-self of each keypoint, per frame and person: positions in both spaces
    anc_out = np.zeros_like(xy)
    anc_drv = np.zeros_like(xy)
    anc_ok = np.zeros(valid.shape, dtype=bool)
    face = set(FACE) if xy.shape[2] == HUMAN.num_keypoints else set()
    for k in _order(parent):
        v = valid[..., k]
        if k == ROOT:
            placed = g * xy[..., k, :]
        else:
            p = parent[k]
            vec = xy[..., k, :] - xy[..., p, :]
            if k in face:
                direct = out[..., p, :] + plan.face_scale * vec
            else:
                norm = np.linalg.norm(vec, axis=-1, keepdims=True)
                unit = np.divide(vec, norm, out=np.zeros_like(vec), where=norm > 0)
                direct = out[..., p, :] + plan.lengths[(p, k)] * unit
            hang = anc_out[..., p, :] + g * (xy[..., k, :] - anc_drv[..., p, :])
            placed = np.where(valid[..., p, None], direct, np.where(anc_ok[..., p, None], hang, g * xy[..., k, :]))
        out[..., k, :] = np.where(v[..., None], placed, 0.0)
        if k == ROOT:
            anc_out[..., k, :], anc_drv[..., k, :], anc_ok[..., k] = out[..., k, :], xy[..., k, :], v
        else:
            p = parent[k]
            anc_out[..., k, :] = np.where(v[..., None], out[..., k, :], anc_out[..., p, :])
            anc_drv[..., k, :] = np.where(v[..., None], xy[..., k, :], anc_drv[..., p, :])
            anc_ok[..., k] = v | anc_ok[..., p]
    return out


def _mean_of(xy: np.ndarray, valid: np.ndarray, idx: tuple[int, ...]) -> np.ndarray | None:
    pts = [xy[i] for i in idx if valid[i]]
    return np.mean(pts, axis=0) if pts else None


def _translation(out: np.ndarray, valid: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, float | None]:
    """Translation for all frames (from the first frame of driving person 0 that shows the anchor) and the ground
    line y (None in upper-body mode)."""
    ref_xy, ref_valid = ref[:, :2], ref[:, 2] > 0
    ground_ref = [ref_xy[i, 1] for i in GROUND_POINTS if i < len(ref_valid) and ref_valid[i]]
    hips_ref = ref_valid[R_HIP] or ref_valid[L_HIP]
    person = out[:, 0]
    pvalid = valid[:, 0]
    if ground_ref and hips_ref:
        # feet mode: the lowest ankle/heel lands on the reference's ground line, the hip centre on the reference's
        ground = float(max(ground_ref))
        hips = tuple(i for i in (R_HIP, L_HIP) if ref_valid[i])
        for f in range(person.shape[0]):
            feet = [person[f, i, 1] for i in GROUND_POINTS if i < person.shape[1] and pvalid[f, i]]
            shared_hips = tuple(i for i in hips if pvalid[f, i])
            if feet and shared_hips:
                dx = _mean_of(ref_xy, ref_valid, shared_hips)[0] - _mean_of(person[f], pvalid[f], shared_hips)[0]
                return np.array([dx, ground - max(feet)]), ground
    # upper-body mode (or a driving clip that never shows hips and feet): neck, else shoulder centre, else the
    # centroid of the shared body points
    for idx in ((ROOT,), (R_SHOULDER, L_SHOULDER), tuple(range(18))):
        for f in range(person.shape[0]):
            shared = tuple(i for i in idx if ref_valid[i] and pvalid[f, i])
            if shared and (len(idx) > 2 or len(shared) == len(idx)):
                return _mean_of(ref_xy, ref_valid, shared) - _mean_of(person[f], pvalid[f], shared), None
    raise PoseGenInputError("driving", "the driving poses and the reference share no body keypoint to align them by.",
                            "driving poses showing some of the reference's body points")


def retarget(driving: PoseSequence, reference: PoseSequence, reference_person: int = 0) -> PoseSequence:
    """The driving motion with the reference subject's bone lengths, on the reference's canvas.

    1. Bone lengths (see the module doc for the tree, the fallback scale and the face).
    2. Each driving frame is rebuilt from the neck outward, keeping every bone direction (joint angle) exactly.
       The neck follows the driving neck scaled by the global scale, so the motion's own travel (steps, jumps)
       keeps its size relative to the body.
    3. One translation for all frames: if the reference shows a hip and an ankle/heel, the lowest ankle/heel of the
       first driving frame (of person 0) that shows them lands on the reference's ground line (its lowest
       ankle/heel) and the hip centre on the reference's hip x; otherwise the neck (else shoulder centre) is put on
       the reference's. A person whose feet would sink below the ground line in a frame is lifted onto it.
    4. Missing driving keypoints stay missing; confidences, fps and inserted markers are the driving's.

    Every driving person gets the same reference proportions and the same translation (so their spacing scales
    with the body). The reference's first frame and ``reference_person`` are used.
    """
    skeleton = driving.skeleton
    parent = parents_for(skeleton, input_name="driving")
    if driving.num_people == 0:
        raise PoseGenInputError("driving", "the driving sequence has no people.", "at least one person slot")
    plan = plan_retarget(driving, reference, reference_person)
    ref = _reference_frame(reference, reference_person, skeleton)
    valid = driving.valid()
    out = _rebuild(driving.xy.astype(np.float64), valid, parent, plan)
    shift, ground = _translation(out, valid, ref)
    out = out + shift
    if ground is not None:
        # feet never below the ground line: lift the whole person in that frame (one shift, so angles and lengths
        # hold); per person, so one dancer stepping towards the camera does not lift the others off the floor
        pts = [i for i in GROUND_POINTS if i < skeleton.num_keypoints]
        ys = np.where(valid[..., pts], out[..., pts, 1], -np.inf)
        lowest = ys.max(axis=-1)  # [F, P]
        lift = np.where(np.isfinite(lowest), np.maximum(lowest - ground, 0.0), 0.0)
        out[..., 1] -= lift[..., None]
    kp = np.zeros(driving.keypoints.shape, dtype=np.float64)
    kp[..., :2] = np.where(valid[..., None], out, 0.0)
    kp[..., 2] = driving.confidence
    return driving.with_keypoints(kp.astype(np.float32), width=reference.width, height=reference.height)


# --- report -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetargetReport:
    max_bone_error_px: float  # |output length - reference length| over bones the reference has
    max_bone_error_rel: float  # the same relative to the reference length
    max_angle_change_rad: float | None  # bone direction change vs the driving pose (None without driving)
    bones_checked: int

    def summary(self) -> str:
        angle = "n/a" if self.max_angle_change_rad is None else f"{self.max_angle_change_rad:.2e} rad"
        return (f"retarget: max bone-length error {self.max_bone_error_px:.3g} px "
                f"({100 * self.max_bone_error_rel:.3g} %), max joint-angle change {angle}, "
                f"{self.bones_checked} bone measurements")


def retarget_report(result: PoseSequence, reference: PoseSequence, driving: PoseSequence | None = None,
                    reference_person: int = 0) -> RetargetReport:
    """How faithful a retarget was: the largest bone-length error against the reference (over bones the reference
    shows, in every output frame where both ends are present) and, given the driving sequence, the largest change
    of a bone's direction (the joint angle) against the driving pose."""
    skeleton = result.skeleton
    pairs = bones(skeleton)
    ref = _reference_frame(reference, reference_person, skeleton)
    ref_valid = ref[:, 2] > 0
    xy = result.xy.astype(np.float64)
    valid = result.valid()
    err_px, err_rel, count = 0.0, 0.0, 0
    for p, c in pairs:
        if not (ref_valid[p] and ref_valid[c]):
            continue
        both = valid[..., p] & valid[..., c]
        if not both.any():
            continue
        target = float(np.linalg.norm(ref[c, :2] - ref[p, :2]))
        err = np.abs(np.linalg.norm(xy[..., c, :] - xy[..., p, :], axis=-1)[both] - target)
        err_px = max(err_px, float(err.max()))
        err_rel = max(err_rel, float(err.max()) / target if target > 0 else 0.0)
        count += int(both.sum())
    angle: float | None = None
    if driving is not None:
        angle = 0.0
        dxy = driving.xy.astype(np.float64)
        dvalid = driving.valid()
        for p, c in pairs:
            both = valid[..., p] & valid[..., c] & dvalid[..., p] & dvalid[..., c]
            if not both.any():
                continue
            a = xy[..., c, :] - xy[..., p, :]
            b = dxy[..., c, :] - dxy[..., p, :]
            cross = a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
            dot = (a * b).sum(-1)
            angle = max(angle, float(np.abs(np.arctan2(cross, dot))[both].max()))
    return RetargetReport(max_bone_error_px=err_px, max_bone_error_rel=err_rel, max_angle_change_rad=angle,
                          bones_checked=count)
