"""Pure face features for the posture head (numpy only, no models, no I/O).

A face the detector finds confidently is strong evidence against "prone" (prone babies show the back of the
head or a face pressed into the mattress), and how the face sits on the body tells lying on the back from
sitting or tummy time: a supine baby's face points "up" along its body axis, away from the hips.
:func:`face_features` turns the pipeline's best face (``babymon.vision.face.Face`` or None = no face found)
and the locator's pose into a fixed-length vector; :func:`mirror_face` is the same face in a mirrored frame
(data augmentation).
"""

from __future__ import annotations

import numpy as np

from babymon.vision.face import CONFIDENT_SCORE, Face
from babymon.vision.geometry import Box
from babymon.vision.pose import KEYPOINT_THRESHOLD, LEFT_HIP, LEFT_SHOULDER, RIGHT_HIP, RIGHT_SHOULDER, Pose

FACE_FEATURE_NAMES: tuple[str, ...] = (
    "score",            # detector score, 0 when no face
    "found",            # score >= 0.6 (the detector's default threshold)
    "confident",        # score >= 0.85
    "relative_size",    # sqrt(face box area / body box area), capped at 2
    "up_vs_torso",      # cos(face up, hips → shoulders); 0 when the torso is not confidently seen
    "torso_seen",       # 1 when that torso direction exists (and a face was found)
    "up_vs_outward",    # cos(face up, body-box centre → face centre); 0 when they coincide
    "distance",         # |face centre - body-box centre| / body box size
    "profile",          # |nose offset from the eyes' midline| / eye distance (0 frontal, large in profile)
)
N_FACE_FEATURES = len(FACE_FEATURE_NAMES)
FOUND_SCORE = 0.6


def _unit(v: np.ndarray) -> np.ndarray | None:
    n = float(np.linalg.norm(v))
    return v / n if n > 1e-6 else None


def face_up(face: Face) -> np.ndarray:
    """Unit vector (image x right, y down) from the mouth towards the eyes; from the detector's rotation angle
    when there are no landmarks (the copy turned ``angle`` clockwise showed the face upright)."""
    if len(face.landmarks) >= 5:
        marks = np.asarray(face.landmarks, dtype=np.float64)
        up = _unit(marks[:2].mean(axis=0) - marks[3:5].mean(axis=0))
        if up is not None:
            return up
    a = np.radians(face.angle)
    return np.array([-np.sin(a), -np.cos(a)])


def face_features(face: Face | None, pose: Pose | None, body: Box | None, width: float, height: float,
                  threshold: float = KEYPOINT_THRESHOLD) -> np.ndarray:
    """(N_FACE_FEATURES,) vector, see :data:`FACE_FEATURE_NAMES`. ``body``: the body box (the whole frame
    when None)."""
    out = np.zeros(N_FACE_FEATURES)
    if face is None:
        return out
    score = float(face.score)
    out[0], out[1], out[2] = score, float(score >= FOUND_SCORE), float(score >= CONFIDENT_SCORE)
    bx1, by1, bx2, by2 = body if body is not None else (0.0, 0.0, float(width), float(height))
    fx1, fy1, fx2, fy2 = face.box
    body_area = max((bx2 - bx1) * (by2 - by1), 1.0)
    out[3] = min(float(np.sqrt(max((fx2 - fx1) * (fy2 - fy1), 0.0) / body_area)), 2.0)
    up = face_up(face)
    if pose is not None:
        ok = np.asarray(pose.scores) >= threshold
        shoulders = [i for i in (LEFT_SHOULDER, RIGHT_SHOULDER) if ok[i]]
        hips = [i for i in (LEFT_HIP, RIGHT_HIP) if ok[i]]
        if shoulders and hips:
            torso = _unit(pose.keypoints[shoulders].mean(axis=0) - pose.keypoints[hips].mean(axis=0))
            if torso is not None:
                out[4], out[5] = float(up @ torso), 1.0
    centre = np.array([(fx1 + fx2) / 2, (fy1 + fy2) / 2])
    offset = centre - np.array([(bx1 + bx2) / 2, (by1 + by2) / 2])
    outward = _unit(offset)
    if outward is not None:
        out[6] = float(up @ outward)
    out[7] = min(float(np.linalg.norm(offset)) / max(bx2 - bx1, by2 - by1, 1.0), 2.0)
    if len(face.landmarks) >= 5:
        marks = np.asarray(face.landmarks, dtype=np.float64)
        eyes = marks[0] - marks[1]
        eye_distance = float(np.linalg.norm(eyes))
        if eye_distance > 1e-6:
            across = eyes / eye_distance
            out[8] = min(abs(float((marks[2] - marks[:2].mean(axis=0)) @ across)) / eye_distance, 2.0)
    return out


def mirror_face(face: Face, width: float) -> Face:
    """``face`` in the horizontally mirrored frame: box and landmarks mirrored, right/left landmarks swapped,
    the rotation angle mirrored."""
    x1, y1, x2, y2 = face.box
    marks = tuple((width - x, y) for x, y in face.landmarks)
    if len(marks) >= 5:
        marks = (marks[1], marks[0], marks[2], marks[4], marks[3]) + marks[5:]
    return Face(box=(width - x2, y1, width - x1, y2), score=face.score, landmarks=marks,
                angle=(360.0 - face.angle) % 360.0)
