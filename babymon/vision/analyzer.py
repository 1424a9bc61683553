"""The ``vision`` analyzer: the vision pipeline on each sampled frame, smoothed over time, as an Observation.

Per frame it reports whether a baby is here, its body and face boxes, the face state (clear, pacifier,
covered, face_not_visible, no_baby) and the posture (supine, prone, side, sitting, standing), each smoothed
(``babymon.vision.smoothing``) so a single bad frame does not flip them. ``scores`` carry the per-frame
probabilities (``face.<state>``, ``posture.<posture>``, ``presence``) and ``timings_ms`` the cost of each stage.
A model that is missing or corrupt makes the analyzer unavailable (the daemon then says which conditions it
cannot detect), never silently "fine".

A frame whose crib region has not changed since the last full analysis, less than
``vision.reuse_unchanged_seconds`` ago, carries that analysis forward instead of running the models
(:mod:`babymon.vision.change_gate`); its ``timings_ms`` then hold only ``gate``.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import ClassVar

from babymon.analyzers.base import FACE_STATES, AnalyzerUnavailable, POSTURES, Observation, VideoAnalyzer, VideoFrame
from babymon.config import CameraConfig
from babymon.vision.change_gate import ChangeGate, thumbnail
from babymon.vision.face import FaceTracker
from babymon.vision.pipeline import VisionPipeline, VisionResult
from babymon.vision.pose import BabyLocator
from babymon.vision.smoothing import LabelSmoother, PresenceSmoother

FACE_CLASSES = tuple(s for s in FACE_STATES if s != "no_baby")


def one_opencv_thread() -> None:
    """OpenCV's own thread pool off: each camera's analysis is one thread already (the daemon's executor), and
    OpenCV's workers spinning beside them cost CPU for nothing (``babymon bench``: see README Performance)."""
    import cv2

    cv2.setNumThreads(1)


def build_face_detector(name: str):
    if name == "retinaface":
        from babymon.vision.retinaface import RetinaFaceDetector

        return RetinaFaceDetector()
    from babymon.vision.face import YuNetDetector

    return YuNetDetector()


class VisionAnalyzer(VideoAnalyzer):
    name: ClassVar[str] = "vision"
    conditions: ClassVar[tuple[str, ...]] = ("face_covered", "prone", "standing")

    def __init__(self, camera: str, config: CameraConfig, pipeline: VisionPipeline | None = None):
        super().__init__(camera, config)
        one_opencv_thread()
        if pipeline is None:
            try:
                # one camera's frames, in order: the face and the body's turn are followed between frames
                detector = FaceTracker(build_face_detector(config.vision.face_detector))
                pipeline = VisionPipeline(face_detector=detector,
                                          region=config.crib_region, models=config.vision.models)
            except ModuleNotFoundError as exc:
                raise AnalyzerUnavailable(f"a vision component is not installed: {exc.name}") from None
            if isinstance(pipeline.locator, BabyLocator):
                pipeline.locator.follow()
        self.pipeline = pipeline
        tau = config.vision.smoothing_seconds
        self.presence = PresenceSmoother(time_constant=tau)
        self.face_smoother = LabelSmoother(FACE_CLASSES, time_constant=tau)
        self.posture_smoother = LabelSmoother(POSTURES, time_constant=tau)
        self.last_result: VisionResult | None = None
        self.gate = ChangeGate(max_reuse_seconds=config.vision.reuse_unchanged_seconds)
        self.region = config.crib_region

    def analyze(self, frame: VideoFrame) -> Observation:
        now = frame.timestamp
        started = time.perf_counter()
        thumb = thumbnail(frame.image, self.region)
        if self.last_result is not None and not self.gate.needs_analysis(thumb, now):
            # nothing changed since the last full analysis, and it is recent: its decisions still hold
            result = replace(self.last_result, timings_ms={"gate": (time.perf_counter() - started) * 1000.0})
        else:
            result = self.pipeline.analyze(frame.image)
            self.gate.analysed(thumb, now)
            self.last_result = result
        present = self.presence.update(1.0 if result.baby_present else 0.0, now)
        scores = {"presence": result.presence_score}
        scores.update({f"face.{k}": v for k, v in result.face_state_probs.items()})
        scores.update({f"posture.{k}": v for k, v in result.posture_probs.items()})
        face_state: str = "no_baby"
        posture: str | None = None
        if present and result.baby_present:
            face_state = self.face_smoother.update(result.face_state_probs, now)
            posture = self.posture_smoother.update(result.posture_probs, now)
        elif present:  # a frame without the baby, but not yet long enough to say it left: keep the last states
            face_state = self.face_smoother.label or "face_not_visible"
            posture = self.posture_smoother.label
        else:
            self.face_smoother.reset()
            self.posture_smoother.reset()
        return Observation(
            baby_present=present,
            face_state=face_state,
            posture=posture,
            face_state_since=self.face_smoother.since if present else None,
            posture_since=self.posture_smoother.since if posture is not None else None,
            baby_box=result.baby_box,
            face_box=None if result.face is None else result.face.box,
            scores=scores,
            timings_ms=dict(result.timings_ms),
        )
