"""The ``cry`` analyzer: one cry probability per 1 s window (0.5 s hop) and a hysteresis ``crying`` decision.

Digital silence (a muted or disconnected microphone, far below any real room's noise floor) held for
``SILENT_SECONDS`` is reported as *no evidence* (``crying`` and ``cry_probability`` None, ``scores`` carry
``audio_rms_db`` and ``audio_silent``), never as "not crying". A stream without an audio track never reaches
this analyzer: the monitor reports ``health.audio = "no_audio_track"``.
"""

from __future__ import annotations

from typing import ClassVar

from babymon.analyzers.base import AudioAnalyzer, Observation
from babymon.audio_windows import SAMPLE_RATE, AudioWindow
from babymon.config import CameraConfig
from babymon.cry.hysteresis import CryHysteresis
from babymon.cry.model import CryModel
from babymon.cry.windows import HOP_SECONDS, WINDOW_SECONDS, rms_db

SILENT_DB = -90.0  # dBFS: below 16-bit dither and any real microphone's noise floor
SILENT_SECONDS = 5.0


class CryAnalyzer(AudioAnalyzer):
    name: ClassVar[str] = "cry"
    conditions: ClassVar[tuple[str, ...]] = ("crying",)
    window_seconds: ClassVar[float] = WINDOW_SECONDS
    hop_seconds: ClassVar[float] = HOP_SECONDS

    def __init__(self, camera: str, config: CameraConfig, model: CryModel | None = None):
        super().__init__(camera, config)
        self.model = model or CryModel(sensitivity=config.cry.sensitivity)
        self.hysteresis = CryHysteresis(self.model.hysteresis)
        self._silent_since: float | None = None

    def analyze(self, window: AudioWindow) -> Observation:
        samples = window.samples
        if window.sample_rate != SAMPLE_RATE:
            raise ValueError(f"cry analyzer needs {SAMPLE_RATE} Hz audio, got {window.sample_rate} Hz")
        level = rms_db(samples)
        scores = {"audio_rms_db": round(level, 1)}
        if level < SILENT_DB:
            if self._silent_since is None:
                self._silent_since = window.start_time
            if window.end_time - self._silent_since >= SILENT_SECONDS:
                self.hysteresis.reset()
                return Observation(scores={**scores, "audio_silent": 1.0})
        else:
            self._silent_since = None
        probabilities, elapsed_ms = self.model.timed_predict(samples[None, :])
        probability = float(probabilities[0])
        crying, smoothed = self.hysteresis.update(probability, window.end_time)
        return Observation(cry_probability=probability, crying=crying,
                           scores={**scores, "audio_silent": 0.0, "cry_smoothed": round(smoothed, 4)},
                           timings_ms={"cry": elapsed_ms})
