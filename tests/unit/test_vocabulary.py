"""The conditions, face states, postures and event types are declared once (babymon/vocabulary.py) and
everything else follows from them."""

from __future__ import annotations

from babymon.config import RulesConfig
from babymon.mqtt.discovery import discovery_messages
from babymon.mqtt.entities import entities
from babymon.mqtt.payloads import FIELDS
from babymon.mqtt.topics import Topics
from babymon.rules import DangerRules
from babymon.vocabulary import (
    BABY_CONDITIONS,
    CONDITIONS,
    EVENT_TYPES,
    SNAPSHOT_EVENTS,
    condition_event,
)


def test_event_types_are_the_published_ones():
    # what Home Assistant automations, the integration and stored events already use: never renamed
    assert EVENT_TYPES == (
        "danger_started", "danger_cleared", "face_covered_started", "face_covered_cleared", "prone_started",
        "prone_cleared", "standing_started", "standing_cleared", "cry_started", "cry_stopped",
        "monitor_unavailable_started", "monitor_unavailable_cleared", "snoozed", "snooze_cancelled",
        "monitoring_enabled", "monitoring_disabled")
    assert condition_event("crying", True) == "cry_started" and condition_event("danger", False) == "danger_cleared"
    assert SNAPSHOT_EVENTS == {"danger_started", "face_covered_started", "prone_started", "standing_started",
                               "cry_started"}


def test_every_condition_has_its_rule_setting_its_entity_and_its_topic():
    assert tuple(RulesConfig.model_fields) == CONDITIONS
    rules = DangerRules(RulesConfig())
    assert tuple(rules.update({}, 0.0).conditions) == CONDITIONS
    shown = {e.field for e in entities(1800)}
    assert set(CONDITIONS) <= shown and set(CONDITIONS) <= set(FIELDS)
    assert "monitor_unavailable" not in BABY_CONDITIONS and BABY_CONDITIONS < set(CONDITIONS)


def test_every_entity_with_a_field_has_a_payload_and_a_discovery_config():
    table = entities(1800)
    assert all(e.show is not None for e in table if e.field)
    assert len({e.key for e in table}) == len(table)
    messages = discovery_messages(Topics("babymon", "homeassistant"), "nursery", "Nursery", 1800, "entity")
    assert len([p for p in messages.values() if p]) == len(table)  # and an empty one per retired entity
    # baby entities need the camera; the monitor's own (danger, monitor unavailable, switch) only the daemon
    needs_camera = {e.key for e in table if e.needs_camera}
    assert BABY_CONDITIONS <= needs_camera and "monitor_unavailable" not in needs_camera
