"""Home Assistant MQTT discovery: one retained config message per entity, one device per camera (pure).

Entities that describe the baby (face, posture, crying, …) are available only while both the daemon and
the camera stream are up. Entities that describe the monitor itself (danger, monitor unavailable,
connected, the switch) need only the daemon, so a dead camera still shows up as *danger: monitor
unavailable* instead of disappearing into *unavailable*.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from babymon import __version__
from babymon.analyzers.base import FACE_STATES, POSTURES
from babymon.mqtt.topics import Topics
from babymon.state import EVENT_TYPES

ORIGIN = {"name": "babymon", "sw_version": __version__}


@dataclass(frozen=True)
class Entity:
    component: str  # binary_sensor, sensor, switch, button, event, image
    key: str  # object id, unique per camera
    name: str
    field: str | None = None  # per-field state topic (<prefix>/<camera>/<field>)
    needs_camera: bool = False  # unavailable while the camera stream is down
    extra: tuple[tuple[str, object], ...] = ()


def _entities(snooze_seconds: int) -> list[Entity]:
    safety = (("device_class", "safety"),)
    diagnostic = (("entity_category", "diagnostic"),)
    return [
        Entity("binary_sensor", "danger", "Danger", "danger", extra=safety + (("icon", "mdi:alert"),)),
        Entity("binary_sensor", "face_covered", "Face covered", "face_covered", True, safety),
        Entity("binary_sensor", "prone", "Lying on stomach", "prone", True, safety),
        Entity("binary_sensor", "standing", "Standing or climbing", "standing", True, safety),
        Entity("binary_sensor", "crying", "Crying", "crying", True, (("device_class", "sound"),)),
        Entity("binary_sensor", "baby_present", "Baby present", "baby_present", True, (("device_class", "occupancy"),)),
        Entity("binary_sensor", "monitor_unavailable", "Monitor unavailable", "monitor_unavailable",
               extra=(("device_class", "problem"),)),
        Entity("binary_sensor", "connected", "Camera connected", "connected",
               extra=(("device_class", "connectivity"),) + diagnostic),
        Entity("binary_sensor", "degraded", "Detection degraded", "degraded",
               extra=(("device_class", "problem"),) + diagnostic),
        Entity("binary_sensor", "evidence_problem", "Evidence storage problem", "evidence_problem",
               extra=(("device_class", "problem"),) + diagnostic),
        Entity("sensor", "posture", "Posture", "posture", True,
               (("device_class", "enum"), ("options", list(POSTURES)), ("icon", "mdi:human-child"))),
        Entity("sensor", "face", "Face state", "face", True,
               (("device_class", "enum"), ("options", list(FACE_STATES)), ("icon", "mdi:face-man-shimmer"))),
        Entity("sensor", "cry_probability", "Cry probability", "cry_probability", True,
               (("unit_of_measurement", "%"), ("state_class", "measurement"), ("icon", "mdi:emoticon-cry"))),
        Entity("sensor", "snoozed_until", "Alerts snoozed until", "snoozed_until",
               extra=(("device_class", "timestamp"), ("icon", "mdi:bell-sleep"))),
        Entity("sensor", "fps", "Analysed frames per second", "fps",
               extra=(("unit_of_measurement", "fps"), ("state_class", "measurement")) + diagnostic),
        Entity("sensor", "reconnects", "Stream reconnects", "reconnects",
               extra=(("state_class", "total_increasing"),) + diagnostic),
        Entity("sensor", "dropped_frames", "Dropped frames", "dropped_frames",
               extra=(("state_class", "total_increasing"),) + diagnostic),
        Entity("switch", "enabled", "Monitoring", "enabled", extra=(("icon", "mdi:baby-face-outline"),)),
        Entity("button", "snooze", f"Snooze alerts {snooze_seconds // 60} min",
               extra=(("payload_press", str(snooze_seconds)), ("icon", "mdi:bell-sleep"))),
        Entity("button", "snooze_cancel", "Cancel snooze", extra=(("payload_press", "0"), ("icon", "mdi:bell-ring"))),
        Entity("event", "events", "Danger events", extra=(("event_types", list(EVENT_TYPES)),)),
        Entity("image", "snapshot", "Last event snapshot", True, extra=(("content_type", "image/jpeg"),)),
    ]


def discovery_messages(topics: Topics, camera: str, name: str, snooze_seconds: int) -> dict[str, str]:
    """Discovery topic → JSON config, for every entity of one camera."""
    device = {
        "identifiers": [topics.node_id(camera)],
        "name": name,
        "manufacturer": "babymon",
        "model": "babymon camera monitor",
        "sw_version": __version__,
    }
    daemon_availability = {"topic": topics.available, "payload_available": "online", "payload_not_available": "offline"}
    camera_availability = {"topic": topics.camera(camera, "available"), "payload_available": "online",
                           "payload_not_available": "offline"}
    messages = {}
    for entity in _entities(snooze_seconds):
        config: dict[str, object] = {
            "name": entity.name,
            "unique_id": f"{topics.node_id(camera)}_{entity.key}",
            "device": device,
            "origin": ORIGIN,
            "availability": [daemon_availability, camera_availability] if entity.needs_camera else [daemon_availability],
            "availability_mode": "all",
        }
        if entity.field and entity.component == "switch":
            config["state_topic"] = topics.camera(camera, entity.field)
            config["command_topic"] = topics.camera(camera, "enabled/set")
        elif entity.field:
            config["state_topic"] = topics.camera(camera, entity.field)
        if entity.component == "binary_sensor":
            config |= {"payload_on": "ON", "payload_off": "OFF"}
        elif entity.component == "button":
            config["command_topic"] = topics.camera(camera, "snooze/set")
        elif entity.component == "event":
            config["state_topic"] = topics.camera(camera, "events")
        elif entity.component == "image":
            config["image_topic"] = topics.camera(camera, "snapshot")
        if entity.key == "danger":
            config["json_attributes_topic"] = topics.camera(camera, "state")
            config["json_attributes_template"] = (
                "{{ {'reasons': value_json.reasons, 'monitoring': value_json.monitoring,"
                " 'not_monitoring_reasons': value_json.not_monitoring_reasons,"
                " 'undetectable': value_json.undetectable} | tojson }}"
            )
        elif entity.key == "evidence_problem":
            config["json_attributes_topic"] = topics.camera(camera, "state")
            config["json_attributes_template"] = "{{ {'problem': value_json.health.evidence} | tojson }}"
        config |= dict(entity.extra)
        messages[topics.discovery(entity.component, camera, entity.key)] = json.dumps(config, sort_keys=True)
    return messages
