"""babymon's words, declared once: the conditions, face states, postures and event types.

Rules, state, MQTT entities, evidence and (through a checked copy) the Home Assistant integration derive
from these. To add a condition, add it here; the rest follows or fails a test.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Condition:
    key: str  # in the config (rules.<key>), the state JSON, MQTT topics and entity ids
    title: str  # the Home Assistant entity's name
    about_baby: bool  # a snooze silences it, its entity needs the camera, its start stores a snapshot
    started: str  # event types
    cleared: str
    device_class: str  # Home Assistant binary_sensor device class


CONDITION_LIST: tuple[Condition, ...] = (
    Condition("face_covered", "Face covered", True, "face_covered_started", "face_covered_cleared", "safety"),
    Condition("prone", "Lying on stomach", True, "prone_started", "prone_cleared", "safety"),
    Condition("standing", "Standing or climbing", True, "standing_started", "standing_cleared", "safety"),
    Condition("crying", "Crying", True, "cry_started", "cry_stopped", "sound"),
    Condition("monitor_unavailable", "Monitor unavailable", False, "monitor_unavailable_started",
              "monitor_unavailable_cleared", "problem"),
)
CONDITIONS: tuple[str, ...] = tuple(c.key for c in CONDITION_LIST)
BY_KEY: dict[str, Condition] = {c.key: c for c in CONDITION_LIST}
# snoozing silences alerts about the baby; it never hides that the monitor itself is not working
BABY_CONDITIONS: frozenset[str] = frozenset(c.key for c in CONDITION_LIST if c.about_baby)

FACE_STATES: tuple[str, ...] = ("clear", "pacifier", "covered", "face_not_visible", "no_baby")
POSTURES: tuple[str, ...] = ("supine", "prone", "side", "sitting", "standing")

DANGER_STARTED, DANGER_CLEARED = "danger_started", "danger_cleared"
CONTROL_EVENTS: tuple[str, ...] = ("snoozed", "snooze_cancelled", "monitoring_enabled", "monitoring_disabled")
EVENT_TYPES: tuple[str, ...] = (
    DANGER_STARTED, DANGER_CLEARED, *(name for c in CONDITION_LIST for name in (c.started, c.cleared)), *CONTROL_EVENTS)
# the events that store the annotated frame as evidence: every alert about the baby, and danger
SNAPSHOT_EVENTS: frozenset[str] = frozenset({DANGER_STARTED, *(c.started for c in CONDITION_LIST if c.about_baby)})


def condition_event(condition: str, active: bool) -> str:
    """The event type of ``condition`` starting (``active``) or ending; ``danger`` for the overall state."""
    if condition == "danger":
        return DANGER_STARTED if active else DANGER_CLEARED
    entry = BY_KEY[condition]
    return entry.started if active else entry.cleared
