"""Types shared by every analyzer. Analyzers are blocking and run in a worker thread, one instance per camera
(so they may keep per-camera state such as temporal smoothing)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from babymon.audio_windows import AudioWindow
from babymon.config import CameraConfig
from babymon.vocabulary import FACE_STATES, POSTURES  # noqa: F401 - analyzers import them from here

Box = tuple[float, float, float, float]  # x1, y1, x2, y2 in pixels of VideoFrame.image


@dataclass(frozen=True)
class VideoFrame:
    camera: str
    image: np.ndarray  # BGR, uint8, H×W×3, already scaled to the camera's detect size
    timestamp: float  # seconds since the epoch: when the frame was received (or file start + pts when replaying)
    pts: float  # seconds into the stream
    index: int  # how many frames of this stream were sampled before this one


@dataclass
class Observation:
    """What one analyzer saw in one frame or window. ``None`` means "this analyzer says nothing about it"."""

    baby_present: bool | None = None
    face_state: str | None = None  # one of FACE_STATES
    posture: str | None = None  # one of POSTURES
    face_state_since: float | None = None  # when the evidence for face_state began (frame time), if known
    posture_since: float | None = None  # the same for posture: the rules time a condition from there
    cry_probability: float | None = None
    crying: bool | None = None  # the analyzer's own on/off decision (with its hysteresis), if it makes one
    baby_box: Box | None = None
    face_box: Box | None = None
    scores: dict[str, float] = field(default_factory=dict)
    timings_ms: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.face_state is not None and self.face_state not in FACE_STATES:
            raise ValueError(f"face_state '{self.face_state}' is not one of {FACE_STATES}")
        if self.posture is not None and self.posture not in POSTURES:
            raise ValueError(f"posture '{self.posture}' is not one of {POSTURES}")

    def merged_with(self, other: Observation) -> Observation:
        """Fields of ``other`` that are set win over this one's."""
        merged = Observation(**{k: v for k, v in vars(self).items()})
        for key, value in vars(other).items():
            if key in ("scores", "timings_ms"):
                getattr(merged, key).update(value)
            elif value is not None:
                setattr(merged, key, value)
        return merged


class AnalyzerUnavailable(Exception):
    """The analyzer cannot run here (not installed, model file missing or corrupt). Says why."""


class _Analyzer(ABC):
    name: ClassVar[str]
    #: the danger conditions this analyzer makes detectable, e.g. ("face_covered", "prone")
    conditions: ClassVar[tuple[str, ...]] = ()

    def __init__(self, camera: str, config: CameraConfig):
        self.camera = camera
        self.config = config

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release models and threads."""


class VideoAnalyzer(_Analyzer):
    @abstractmethod
    def analyze(self, frame: VideoFrame) -> Observation: ...


class AudioAnalyzer(_Analyzer):
    window_seconds: ClassVar[float] = 1.0
    hop_seconds: ClassVar[float] = 0.5

    @abstractmethod
    def analyze(self, window: AudioWindow) -> Observation: ...
