"""Pure feature code for the posture classifiers (numpy only, no models, no I/O).

* :func:`keypoint_features`: MoveNet keypoints (frame pixels) and confidences → a fixed-length vector that does
  not depend on where the baby is in the frame or how big it is (centred on the torso, scaled by the body's
  extent); keypoints below the confidence threshold are zeroed and their confidences kept (a hidden face is
  itself a clue: prone babies show no nose or eyes).
* :func:`mirror_keypoints`: the same pose seen in a mirror (data augmentation).
* :func:`side_features`: rotation-, scale- and mirror-invariant ratios of a fully visible skeleton (how wide the
  shoulders and hips look against the torso's length, where the nose sits against the torso's axis): the
  side-lying model is trained on these, from MediaPipe landmark rows that have no confidences.
"""

from __future__ import annotations

import numpy as np

from babymon.vision.pose import (
    HEAD_POINTS,
    KEYPOINT_THRESHOLD,
    LEFT_HIP,
    LEFT_SHOULDER,
    NOSE,
    RIGHT_HIP,
    RIGHT_SHOULDER,
)

TORSO = (LEFT_SHOULDER, RIGHT_SHOULDER, LEFT_HIP, RIGHT_HIP)
# COCO index of each keypoint's mirror image (left ↔ right).
MIRROR = (0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15)
KEYPOINT_FEATURES = 17 * 2 + 17 + 6
SIDE_FEATURES = 9


def _check(keypoints: np.ndarray, scores: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    keypoints = np.asarray(keypoints, dtype=np.float64)
    if keypoints.shape != (17, 2):
        raise ValueError(f"keypoints: expected shape (17, 2), got {keypoints.shape}")
    scores = np.ones(17) if scores is None else np.asarray(scores, dtype=np.float64)
    if scores.shape != (17,):
        raise ValueError(f"scores: expected shape (17,), got {scores.shape}")
    return keypoints, scores


def keypoint_features(keypoints: np.ndarray, scores: np.ndarray, threshold: float = KEYPOINT_THRESHOLD) -> np.ndarray:
    """(KEYPOINT_FEATURES,) vector: 17 normalised x, y (0 where not confident), 17 confidences, the fraction
    of confident keypoints, log aspect ratio (width / height) of the confident keypoints, the torso's direction
    (unit vector hips → shoulders, image axes, with a found flag) and head-above-hips (+1 / -1 / 0)."""
    keypoints, scores = _check(keypoints, scores)
    ok = scores >= threshold
    out = np.zeros(KEYPOINT_FEATURES)
    out[34:51] = scores
    if ok.sum() < 2:
        return out
    confident = keypoints[ok]
    torso = [i for i in TORSO if ok[i]]
    centre = keypoints[torso].mean(axis=0) if len(torso) >= 2 else confident.mean(axis=0)
    extent = np.ptp(confident, axis=0)
    scale = max(float(extent.max()), 1e-6)
    normalised = (keypoints - centre) / scale
    normalised[~ok] = 0.0
    out[:34] = normalised.reshape(-1)
    out[51] = ok.mean()
    out[52] = float(np.log((extent[0] + 1e-3 * scale) / (extent[1] + 1e-3 * scale)))
    shoulders = [i for i in (LEFT_SHOULDER, RIGHT_SHOULDER) if ok[i]]
    hips = [i for i in (LEFT_HIP, RIGHT_HIP) if ok[i]]
    if shoulders and hips:
        direction = keypoints[shoulders].mean(axis=0) - keypoints[hips].mean(axis=0)
        length = float(np.linalg.norm(direction))
        if length > 1e-6:
            out[53:55] = direction / length
            out[55] = 1.0
    head = [i for i in HEAD_POINTS if ok[i]]
    if head and hips:
        out[56] = float(np.sign(keypoints[hips, 1].mean() - keypoints[head, 1].mean()))
    return out


def mirror_keypoints(keypoints: np.ndarray, scores: np.ndarray, width: float) -> tuple[np.ndarray, np.ndarray]:
    """The pose in the horizontally mirrored frame (x → width - x, left and right keypoints swapped)."""
    keypoints, scores = _check(keypoints, scores)
    mirrored = keypoints[list(MIRROR)].copy()
    mirrored[:, 0] = width - mirrored[:, 0]
    return mirrored, scores[list(MIRROR)].copy()


def side_features(keypoints: np.ndarray) -> np.ndarray:
    """(SIDE_FEATURES,) ratios of a skeleton, invariant to rotation, scale and mirroring: shoulder width, hip
    width, eye distance, ear distance, nose-to-neck distance and the nose's distance from the torso's axis,
    each over the torso length; |cos| of the angle between the shoulder line and the torso, and between the hip
    line and the torso; shoulder width over hip width. Side-lying shows narrow shoulders and hips."""
    kp, _ = _check(keypoints)
    neck = (kp[LEFT_SHOULDER] + kp[RIGHT_SHOULDER]) / 2
    pelvis = (kp[LEFT_HIP] + kp[RIGHT_HIP]) / 2
    axis = neck - pelvis
    length = max(float(np.linalg.norm(axis)), 1e-6)
    unit = axis / length

    def dist(a: int, b: int) -> float:
        return float(np.linalg.norm(kp[a] - kp[b]))

    shoulder_line = kp[LEFT_SHOULDER] - kp[RIGHT_SHOULDER]
    hip_line = kp[LEFT_HIP] - kp[RIGHT_HIP]
    nose = kp[NOSE] - neck
    off_axis = abs(float(nose[0] * unit[1] - nose[1] * unit[0]))
    shoulder_width, hip_width = dist(LEFT_SHOULDER, RIGHT_SHOULDER), dist(LEFT_HIP, RIGHT_HIP)

    def cos_to_axis(line: np.ndarray) -> float:
        norm = float(np.linalg.norm(line))
        return abs(float(line @ unit)) / norm if norm > 1e-6 else 1.0

    return np.array([shoulder_width / length, hip_width / length, dist(1, 2) / length, dist(3, 4) / length,
                     float(np.linalg.norm(nose)) / length, off_axis / length,
                     cos_to_axis(shoulder_line), cos_to_axis(hip_line),
                     min(shoulder_width / max(hip_width, 1e-6 * length), 10.0)])
