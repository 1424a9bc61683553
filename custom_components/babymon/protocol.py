"""The daemon's MQTT protocol as the integration sees it (pure: no Home Assistant, no I/O).

Mirrors babymon/mqtt/topics.py and the README's MQTT section: ``<prefix>/available``,
``<prefix>/_announced``, ``<prefix>/<camera>/{state,events,snapshot}`` and the command topics
``<prefix>/<camera>/{snooze,enabled}/set``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

# device trigger type → the daemon event type that fires it
TRIGGER_EVENT_TYPES: dict[str, str] = {
    "face_covered": "face_covered_started",
    "prone": "prone_started",
    "standing": "standing_started",
    "cry_started": "cry_started",
    "cry_stopped": "cry_stopped",
    "danger_started": "danger_started",
    "danger_cleared": "danger_cleared",
    "monitor_unavailable": "monitor_unavailable_started",
}
ALERT_TRIGGER = "alert"
TRIGGER_TYPES: tuple[str, ...] = (*TRIGGER_EVENT_TYPES, ALERT_TRIGGER)

# daemon event type → the condition it starts (for the options' "which conditions alert")
CONDITION_STARTS: dict[str, str] = {
    "face_covered_started": "face_covered",
    "prone_started": "prone",
    "standing_started": "standing",
    "cry_started": "crying",
    "monitor_unavailable_started": "monitor_unavailable",
}

MAX_SNOOZE_SECONDS = 24 * 3600  # the daemon refuses longer snoozes


@dataclass(frozen=True)
class Topics:
    prefix: str

    @property
    def available(self) -> str:
        return f"{self.prefix}/available"

    @property
    def registry(self) -> str:
        return f"{self.prefix}/_announced"

    def camera_filter(self, field: str) -> str:
        return f"{self.prefix}/+/{field}"

    def camera(self, camera: str, field: str) -> str:
        return f"{self.prefix}/{camera}/{field}"

    def camera_of(self, topic: str) -> str | None:
        """``babymon/nursery/events`` → ``nursery``."""
        head = f"{self.prefix}/"
        if not topic.startswith(head):
            return None
        parts = topic[len(head):].split("/")
        return parts[0] if len(parts) == 2 and parts[0] and not parts[0].startswith("_") else None

    def node_id(self, camera: str) -> str:
        """The device identifier the daemon's discovery uses (``Topics.node_id`` in the daemon)."""
        return f"{self.prefix.replace('/', '_')}_{camera}"


def prefix_from_available_topic(topic: str) -> str | None:
    """``babymon/available`` → ``babymon``; None for anything else."""
    prefix, sep, last = topic.rpartition("/")
    return prefix if sep and last == "available" and prefix else None


def parse_json_object(payload: str | bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(payload)
    except (ValueError, TypeError):
        return None
    return data if isinstance(data, dict) else None


def event_type(event: dict[str, Any]) -> str | None:
    kind = event.get("type") or event.get("event_type")
    return kind if isinstance(kind, str) else None


def announced_cameras(payload: str | bytes) -> list[str]:
    """The cameras in the retained ``_announced`` registry (``{"cameras": {name: [topics]}}``)."""
    data = parse_json_object(payload) or {}
    cameras = data.get("cameras")
    return [c for c in cameras if isinstance(c, str)] if isinstance(cameras, dict) else []


def snooze_payload(seconds: float) -> str:
    """The payload of ``<camera>/snooze/set`` for a snooze of ``seconds`` (0 cancels)."""
    if not 0 <= seconds <= MAX_SNOOZE_SECONDS:
        raise ValueError(f"snooze must be between 0 s and 24 h, got {seconds:.0f} s")
    return str(round(seconds)) if seconds else "OFF"
