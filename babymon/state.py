"""What a camera's state and events look like on the wire (pure functions, no I/O).

The same JSON goes to MQTT (``<prefix>/<camera>/state``), to ``babymon analyze --json`` and to the HTTP
API, so it is defined once here. How observations become conditions is :mod:`babymon.camera_step`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

from babymon.analyzers.base import Observation
from babymon.rules import RulesResult
from babymon.vocabulary import EVENT_TYPES

# fields of the state that change every frame and must not by themselves cause a re-publish
VOLATILE_FIELDS = frozenset({"time", "frame_time", "pts", "health", "cry_probability", "scores", "baby_box",
                             "face_box"})


@dataclass
class Health:
    connected: bool = False
    has_audio: bool | None = None
    fps: float = 0.0  # analysed frames per second, last 10 s
    last_frame_age: float | None = None  # seconds since the last analysed frame
    reconnects: int = 0
    decoded_frames: int = 0
    dropped_frames: int = 0
    dropped_audio_windows: int = 0
    analysis_errors: int = 0
    restarts: int = 0  # times this camera's monitor failed and was started again
    last_error: str | None = None
    evidence: str | None = None  # "ok", what is wrong with the evidence store, or None when it is off

    def as_dict(self) -> dict:
        return {
            "connected": self.connected,
            "audio": None if self.has_audio is None else ("ok" if self.has_audio else "no_audio_track"),
            "fps": round(self.fps, 2),
            "last_frame_age": None if self.last_frame_age is None else round(self.last_frame_age, 3),
            "reconnects": self.reconnects,
            "decoded_frames": self.decoded_frames,
            "dropped_frames": self.dropped_frames,
            "dropped_audio_windows": self.dropped_audio_windows,
            "analysis_errors": self.analysis_errors,
            "restarts": self.restarts,
            "last_error": self.last_error,
            "evidence": self.evidence,
        }


@dataclass
class Coverage:
    """Which analyzers this camera runs and what they cannot see."""

    missing: dict[str, str] = field(default_factory=dict)  # analyzer name → why
    undetectable: tuple[str, ...] = ()


def not_monitoring_reasons(*, enabled: bool, health: Health, stalled: bool) -> list[str]:
    reasons = []
    if not enabled:
        reasons.append("monitoring is switched off")
    if not health.connected:
        reasons.append("camera stream is down" + (f" ({health.last_error})" if health.last_error else ""))
    elif stalled:
        reasons.append("no frame analysed recently (analysis stalled)")
    return reasons


def build_state(
    *,
    camera: str,
    name: str,
    now: float,
    frame_time: float | None,
    pts: float | None,
    observation: Observation,
    rules: RulesResult,
    enabled: bool,
    snoozed_until: float | None,
    health: Health,
    stalled: bool,
    coverage: Coverage,
) -> dict:
    reasons = not_monitoring_reasons(enabled=enabled, health=health, stalled=stalled)
    return {
        "camera": camera,
        "name": name,
        "time": round(now, 3),
        "frame_time": None if frame_time is None else round(frame_time, 3),
        "pts": None if pts is None else round(pts, 3),
        "monitoring": not reasons,
        "not_monitoring_reasons": reasons,
        "enabled": enabled,
        "snoozed_until": None if snoozed_until is None else iso_time(snoozed_until),
        "danger": rules.danger,
        "reasons": list(rules.reasons),
        "conditions": rules.alerting,
        "detected": rules.conditions,
        "baby_present": observation.baby_present,
        "face": observation.face_state,
        "posture": observation.posture,
        "crying": None if "crying" in coverage.undetectable else rules.conditions["crying"],
        "cry_probability": None if observation.cry_probability is None else round(observation.cry_probability, 3),
        "baby_box": _box(observation.baby_box),
        "face_box": _box(observation.face_box),
        "scores": {k: round(v, 3) for k, v in observation.scores.items()},
        "analyzers_missing": coverage.missing,
        "undetectable": list(coverage.undetectable),
        "health": health.as_dict(),
    }


def significant(state: dict) -> dict:
    """The part of a state whose change is news (used to decide whether to publish)."""
    return {k: v for k, v in state.items() if k not in VOLATILE_FIELDS}


def _box(box) -> list[float] | None:
    return None if box is None else [round(float(v), 1) for v in box]


def iso_time(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat(timespec="milliseconds")


def build_event(kind: str, *, camera: str, name: str, at: float, reasons: list[str] | tuple[str, ...] = (),
                condition: str | None = None, details: dict | None = None) -> dict:
    if kind not in EVENT_TYPES:
        raise ValueError(f"unknown event type {kind}")
    return {
        "type": kind,
        "id": uuid.uuid4().hex,
        "camera": camera,
        "name": name,
        "condition": condition,
        "reasons": list(reasons),
        "timestamp": round(at, 3),
        "time": iso_time(at),
        **(details or {}),
    }
