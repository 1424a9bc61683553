"""Face detection at any in-plane rotation.

Babies seen from above lie at any angle, and face detectors are trained on upright faces. A
:class:`RotatingDetector` runs a plain upright detector on the frame and on rotated copies of it, maps every
box back to the original frame and merges them with non-maximum suppression. :class:`YuNetDetector` is that,
around OpenCV's ``cv2.FaceDetectorYN`` (YuNet, an SSD-class detector) with the model from
``babymon.models.model_path("yunet")`` (sha256 checked).

Usage::

    detector = YuNetDetector()                       # default angles: DEFAULT_ANGLES
    faces = detector.detect(bgr_frame, region=(0.2, 0.1, 0.8, 0.9))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from babymon.vision.geometry import Box, Rotation, clip_box, nms, region_view

# Upright plus the three quarter turns: measured on infant_face_parts (see babymon/vision/README.md).
DEFAULT_ANGLES: tuple[float, ...] = (0.0, 90.0, 180.0, 270.0)
# Frames are shrunk to this longer side before detecting: same recall, fewer false alarms, 1/4 of the cost
# of 640x480 on infant_face_parts (README). Faces under ~20 px after shrinking are missed: crop to the crib.
DEFAULT_MAX_SIDE = 320
FACE_DETECTORS = ("yunet", "retinaface")  # the names `vision.face_detector` takes
# a face this sure is trusted: by the posture's face features, by presence (a close-up without a body), and to
# follow a face between frames (FaceTracker)
CONFIDENT_SCORE = 0.85
Region = tuple[float, float, float, float]


@dataclass(frozen=True)
class Face:
    """A face in original-frame pixels. ``landmarks``: right eye, left eye, nose tip, right and left mouth
    corners as (x, y), when the detector gives them. ``angle``: the rotation (degrees, clockwise) of the copy
    in which it was found."""

    box: Box
    score: float
    landmarks: tuple[tuple[float, float], ...] = ()
    angle: float = 0.0


class FaceDetector(Protocol):
    """Anything that finds faces in a BGR ``uint8`` image (H×W×3), in that image's pixels."""

    def detect(self, image: np.ndarray, region: Region | None = None) -> list[Face]: ...


class UprightDetector(Protocol):
    """A detector for roughly upright faces only (one pass, no rotation, no region)."""

    def detect_upright(self, image: np.ndarray) -> list[Face]: ...


def check_image(image: object) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        shape = getattr(image, "shape", None)
        dtype = getattr(image, "dtype", type(image).__name__)
        raise ValueError(f"image: expected a BGR uint8 array of shape (H, W, 3), got shape {shape} dtype {dtype}")
    if image.shape[0] < 2 or image.shape[1] < 2:
        raise ValueError(f"image: too small ({image.shape[1]}x{image.shape[0]})")
    return image


def rotate_image(image: np.ndarray, rotation: Rotation) -> np.ndarray:
    """``image`` rotated as ``rotation`` describes (cv2.rotate for quarter turns, else warpAffine, black fill)."""
    import cv2

    quarter = {90.0: cv2.ROTATE_90_CLOCKWISE, 180.0: cv2.ROTATE_180, 270.0: cv2.ROTATE_90_COUNTERCLOCKWISE}
    code = quarter.get(rotation.angle % 360.0)
    if rotation.angle % 360.0 == 0.0:
        return image
    if code is not None:
        return cv2.rotate(image, code)
    return cv2.warpAffine(image, rotation.pixel_matrix(), rotation.size, flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))


class RotatingDetector:
    """Runs an upright detector at several in-plane rotations and merges the results.

    ``angles``: degrees clockwise; 0 is the frame as it is. ``nms_iou``: boxes from different rotations that
    overlap more than this are one face (the best-scoring one is kept). Not thread-safe (OpenCV's network
    keeps state): use one detector per thread, as analyzers do (one instance per camera).
    """

    def __init__(self, upright: UprightDetector, angles: Sequence[float] = DEFAULT_ANGLES, nms_iou: float = 0.3):
        if not angles:
            raise ValueError("angles: give at least one rotation angle (0 = upright)")
        self.upright = upright
        self.angles = tuple(dict.fromkeys(float(a) % 360.0 for a in angles))  # 360 is 0; each angle once
        self.nms_iou = nms_iou

    def detect(self, image: np.ndarray, region: Region | None = None,
               angles: Sequence[float] | None = None) -> list[Face]:
        """Faces in ``image`` (within ``region``), at ``angles`` (default: this detector's)."""
        image = check_image(image)
        height, width = image.shape[:2]
        image, ox, oy = region_view(image, region)
        sub_h, sub_w = image.shape[:2]
        found: list[Face] = []
        for angle in self.angles if angles is None else angles:
            rotation = Rotation(angle, sub_w, sub_h)
            for face in self.upright.detect_upright(rotate_image(image, rotation)):
                found.append(_map_back(face, rotation, ox, oy, width, height))
        kept = nms([f.box for f in found], [f.score for f in found], self.nms_iou)
        return [found[i] for i in kept]


class FaceTracker:
    """One camera's face detection that follows the face between frames, so that a frame costs one turn, not four.

    Where the last search found a confident face (score ≥ ``min_score``) at one quarter turn, the next frame is
    searched at that turn only. Every turn is searched again, on the same frame, whenever that finds no confident
    face (the baby rolled, the face got covered, or it left), and at the latest on every ``recheck_every``-th
    search. So a frame that loses the face is answered exactly as without tracking; only frames whose face is still
    found where it was skip the other turns. Stateful: one per camera (the vision analyzer makes one).
    """

    def __init__(self, detector: RotatingDetector, recheck_every: int = 10, min_score: float = CONFIDENT_SCORE):
        if recheck_every < 1:
            raise ValueError("recheck_every must be at least 1")
        self.detector = detector
        self.recheck_every = recheck_every
        self.min_score = min_score
        self.angle: float | None = None  # the turn the face was last found at, while it is followed
        self._tracked_searches = 0  # one-turn searches since the last full one
        self.full_searches = 0
        self.tracked_searches = 0

    def detect(self, image: np.ndarray, region: Region | None = None) -> list[Face]:
        if self.angle is not None and self._tracked_searches < self.recheck_every - 1:
            faces = self.detector.detect(image, region, angles=(self.angle,))
            if self._confident(faces) is not None:
                self._tracked_searches += 1
                self.tracked_searches += 1
                return faces
        faces = self.detector.detect(image, region)
        self.full_searches += 1
        self._tracked_searches = 0
        best = self._confident(faces)
        self.angle = None if best is None else best.angle
        return faces

    def _confident(self, faces: list[Face]) -> Face | None:
        best = max(faces, key=lambda f: f.score, default=None)
        return best if best is not None and best.score >= self.min_score else None


def _map_back(face: Face, rotation: Rotation, ox: int, oy: int, width: int, height: int) -> Face:
    bx1, by1, bx2, by2 = rotation.box_back(face.box)
    box = clip_box((bx1 + ox, by1 + oy, bx2 + ox, by2 + oy), width, height)
    marks: tuple[tuple[float, float], ...] = ()
    if face.landmarks:
        back = rotation.backward(np.array(face.landmarks)) + np.array([ox, oy])
        marks = tuple((float(x), float(y)) for x, y in back)
    return Face(box=box, score=face.score, landmarks=marks, angle=rotation.angle)


class YuNetUpright:
    """One upright pass of OpenCV's YuNet (``cv2.FaceDetectorYN``) at the image's own size.

    Images whose longer side is below ``min_side`` are enlarged first (YuNet misses faces in tiny images), and
    with ``max_side`` set, larger ones are shrunk to it (cost grows with pixels); boxes are given back in the
    image's own pixels.
    """

    def __init__(self, model: Path, score_threshold: float = 0.6, nms_threshold: float = 0.3, top_k: int = 50,
                 min_side: int = 320, max_side: int | None = None):
        if max_side is not None and max_side < min_side:
            raise ValueError(f"max_side ({max_side}) must be at least min_side ({min_side})")
        import cv2

        try:
            self._net = cv2.FaceDetectorYN.create(str(model), "", (320, 320), score_threshold, nms_threshold, top_k)
        except cv2.error as exc:
            raise ValueError(f"YuNet model {model} could not be loaded by OpenCV: {exc}") from None
        self.min_side = min_side
        self.max_side = max_side

    def detect_upright(self, image: np.ndarray) -> list[Face]:
        import cv2

        height, width = image.shape[:2]
        longest = max(width, height)
        scale = 1.0
        if longest < self.min_side:
            scale = self.min_side / longest
        elif self.max_side is not None and longest > self.max_side:
            scale = self.max_side / longest
        if scale != 1.0:
            interpolation = cv2.INTER_LINEAR if scale > 1 else cv2.INTER_AREA
            image = cv2.resize(image, (round(width * scale), round(height * scale)), interpolation=interpolation)
        self._net.setInputSize((image.shape[1], image.shape[0]))
        _, rows = self._net.detect(image)
        if rows is None:
            return []
        faces = []
        for row in rows:
            x, y, w, h = (float(v) / scale for v in row[:4])
            marks = tuple((float(row[4 + 2 * k]) / scale, float(row[5 + 2 * k]) / scale) for k in range(5))
            faces.append(Face(box=(x, y, x + w, y + h), score=float(row[14]), landmarks=marks))
        return faces


class YuNetDetector(RotatingDetector):
    """YuNet at several rotations. The model comes from ``babymon.models`` (raises ``ModelError``, naming the
    model and the fix, when it is missing or its sha256 is wrong). ``max_side=None`` detects at full size."""

    def __init__(self, angles: Sequence[float] = DEFAULT_ANGLES, score_threshold: float = 0.6,
                 model: Path | None = None, nms_iou: float = 0.3, min_side: int = 320,
                 max_side: int | None = DEFAULT_MAX_SIDE):
        from babymon.models import model_path

        upright = YuNetUpright(model or model_path("yunet"), score_threshold, min_side=min_side, max_side=max_side)
        super().__init__(upright, angles, nms_iou)
