"""Home Assistant MQTT discovery: one retained config message per entity of the entity table
(:mod:`babymon.mqtt.entities`), one device per camera, and an empty one per retired entity (pure).

Entities that describe the baby (face, posture, crying, …) are available only while both the daemon and
the camera stream are up. Entities that describe the monitor itself (danger, monitor unavailable,
connected, the switch) need only the daemon, so a dead camera still shows up as *danger: monitor
unavailable* instead of disappearing into *unavailable*.
"""

from __future__ import annotations

import json

from babymon import __version__
from babymon.mqtt.entities import RETIRED, entities
from babymon.mqtt.topics import Topics

ORIGIN = {"name": "babymon", "sw_version": __version__}


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
    for entity in entities(snooze_seconds):
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
    for component, key in RETIRED:  # an empty retained config: Home Assistant removes the entity
        messages[topics.discovery(component, camera, key)] = ""
    return messages
