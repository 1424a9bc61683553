"""The vision path for one frame: locate the baby → find the face → face state → posture.

    location = locator.locate(image, region)          baby finder, then pose model: is a baby here, where is it
    faces    = face_detector.detect(image, focus)     YuNet (default) or RetinaFace, at quarter turns, where the
                                                      finder saw the baby (else the crib region)
    face     = the best face on the baby (inside its body box when there is one)
    no baby and no confident face → face_state "no_baby", no posture
    otherwise face_state_probs   = face-state classifier on the face (or, when none was found, the head box,
                                   else the body box, else the whole frame: see head_region)
              posture_probs      = posture classifier on the body (and the face found, if any)

"No face found" is not "no baby": a baby whose face is hidden is still located by its body, and its head crop is
classified (covered / face not visible). One frame in, one :class:`VisionResult` out; no state across frames
(temporal smoothing is ``babymon.vision.smoothing``, applied by the analyzer). Not thread-safe: one pipeline
per camera thread.
"""

from __future__ import annotations

import time
from pathlib import Path
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np

from babymon.vision.face import CONFIDENT_SCORE, Face, FaceDetector, Region, check_image
from babymon.vision.geometry import Box, centre, contains, region_pixels
from babymon.vision.face_state import face_unseen

if TYPE_CHECKING:
    from babymon.vision.pose import Location


class Locator(Protocol):
    def locate(self, image: np.ndarray, region: Region | None = None) -> Location: ...


class FaceStateModel(Protocol):
    def predict(self, image: np.ndarray, face: Face | None, head_box: Box | None) -> dict[str, float]: ...


class PostureModel(Protocol):
    def predict(self, image: np.ndarray, location: Location, face: Face | None = None) -> dict[str, float]: ...


@dataclass
class VisionResult:
    baby_present: bool
    presence_score: float
    baby_box: Box | None = None
    head_box: Box | None = None
    face: Face | None = None
    face_state: str = "no_baby"
    face_state_probs: dict[str, float] = field(default_factory=dict)
    posture: str | None = None
    posture_probs: dict[str, float] = field(default_factory=dict)
    keypoints: np.ndarray | None = None  # (17, 2) pixels, when the locator gives a pose
    keypoint_scores: np.ndarray | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)


def best_face(faces: list[Face], baby_box: Box | None) -> Face | None:
    """The highest-scoring face whose centre is on the baby (any face when the baby's body was not found)."""
    if baby_box is not None:
        on_baby = [f for f in faces if contains(baby_box, centre(f.box))]
        faces = on_baby or faces
    return max(faces, key=lambda f: f.score, default=None)


def head_region(location: Location, image: np.ndarray, region: Region | None = None) -> Box:
    """Where the face-state classifier looks when no face was found: the pose's head box, else the body box,
    else the crib region (fractions of the frame) or the whole frame (a close-up whose face is covered gives
    the pose model too few keypoints for a head box, and the presence model still sees a baby there)."""
    if location.head_box or location.baby_box:
        return location.head_box or location.baby_box
    height, width = image.shape[:2]
    if region is not None:
        return tuple(float(v) for v in region_pixels(region, width, height))
    return (0.0, 0.0, float(width), float(height))


def argmax(probs: dict[str, float]) -> str:
    return max(probs, key=probs.__getitem__)


class VisionPipeline:
    """Components are injected (tests, benchmarks, other detectors) or built with their defaults."""

    def __init__(self, locator: Locator | None = None, face_detector: FaceDetector | None = None,
                 face_state: FaceStateModel | None = None, posture: PostureModel | None = None,
                 region: Region | None = None, models: Path | None = None, use_finder: bool = True):
        """``models``: a heads folder (``vision.models``, see :mod:`babymon.nursery.heads`) for the components
        built here, loaded once; None = the shipped heads. ``use_finder``: the baby finder in the locator built
        here (off: the path before it, to compare)."""
        heads = None
        if models is not None and (locator is None or face_state is None or posture is None):
            from babymon.nursery.heads import load_heads

            heads = load_heads(models)
        if locator is None:
            from babymon.vision.pose import BabyLocator

            locator = BabyLocator(presence=None if heads is None else heads.presence, use_finder=use_finder)
        if face_detector is None:
            from babymon.vision.face import YuNetDetector

            face_detector = YuNetDetector()
        if face_state is None:
            from babymon.vision.face_state import FaceStateClassifier

            face_state = FaceStateClassifier(head=None if heads is None else heads.face_state)
        if posture is None:
            from babymon.vision.posture import PostureClassifier

            posture = (PostureClassifier() if heads is None
                       else PostureClassifier(model=heads.posture, side=heads.side))
        self.locator = locator
        self.face_detector = face_detector
        self.face_state = face_state
        self.posture = posture
        self.region = region

    def find(self, image: np.ndarray, timings: dict[str, float] | None = None) -> tuple[Location, Face | None]:
        """Locate the baby, then its best face: where the finder saw the baby (else the crib region)."""
        timings = {} if timings is None else timings
        started = time.perf_counter()
        location = self.locator.locate(image, self.region)
        timings["locate"] = _ms_since(started)
        started = time.perf_counter()
        face = best_face(self.face_detector.detect(image, location.focus or self.region), location.baby_box)
        timings["face"] = _ms_since(started)
        return location, face

    def analyze(self, image: np.ndarray) -> VisionResult:
        image = check_image(image)
        timings: dict[str, float] = {}

        location, face = self.find(image, timings)

        # Presence comes from the baby's body (the presence model); a face alone counts only when it is a
        # confident one (a close-up whose body is out of view), never a weak one: on crib_cam, YuNet found faces
        # of score 0.68 and 0.70 in two empty bassinets.
        present = location.baby_present or (face is not None and face.score >= CONFIDENT_SCORE)
        pose = location.pose
        result = VisionResult(baby_present=present, presence_score=float(location.presence_score),
                              baby_box=location.baby_box, head_box=location.head_box, face=face,
                              keypoints=None if pose is None else pose.keypoints,
                              keypoint_scores=None if pose is None else pose.scores, timings_ms=timings)
        if not present:
            return result

        started = time.perf_counter()
        result.face_state_probs = self.face_state.predict(image, face, head_region(location, image, self.region))
        if face is None:  # the detector found no face: it is not seen, so it is not "clear" (face_state.face_unseen)
            result.face_state_probs = face_unseen(result.face_state_probs)
        result.face_state = argmax(result.face_state_probs)
        timings["face_state"] = _ms_since(started)

        started = time.perf_counter()
        result.posture_probs = self.posture.predict(image, location, face=face)
        result.posture = argmax(result.posture_probs)
        timings["posture"] = _ms_since(started)
        return result


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
