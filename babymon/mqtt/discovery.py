"""Home Assistant MQTT discovery of the entity table (:mod:`babymon.mqtt.entities`), one device per camera (pure).

Two schemas, chosen by ``mqtt.discovery_schema``:

* ``device`` (default; Home Assistant 2024.11 and newer): one retained ``<discovery>/device/<node>/config`` per
  camera that lists every component;
* ``entity``: one retained ``<discovery>/<component>/<node>/<key>/config`` per entity, for older Home Assistant.

Both give every entity the same discovery id (``<node> <key>``) and unique id, so moving from one to the other
keeps the entity ids. :func:`announce_messages` writes the move along Home Assistant's migration path
(``migrate_discovery`` on the old topics, the old topics emptied, then the new config), so that Home Assistant
unloads the old entities without deleting them from its registry and binds the new config to them.

Entities that describe the baby (face, posture, crying, …) are available only while both the daemon and
the camera stream are up. Entities that describe the monitor itself (danger, monitor unavailable,
connected, the switch) need only the daemon, so a dead camera still shows up as *danger: monitor
unavailable* instead of disappearing into *unavailable*.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Literal

from babymon import __version__
from babymon.mqtt.entities import RETIRED, entities
from babymon.mqtt.topics import Topics

ORIGIN = {"name": "babymon", "sw_version": __version__}
Schema = Literal["device", "entity"]
SCHEMAS: tuple[Schema, ...] = ("device", "entity")
MIGRATE = json.dumps({"migrate_discovery": True})


def _device(topics: Topics, camera: str, name: str) -> dict[str, object]:
    return {
        "identifiers": [topics.node_id(camera)],
        "name": name,
        "manufacturer": "babymon",
        "model": "babymon camera monitor",
        "sw_version": __version__,
    }


def component_configs(topics: Topics, camera: str, snooze_seconds: int) -> dict[str, tuple[str, dict[str, object]]]:
    """Entity key → (platform, its discovery options without device and origin), for one camera."""
    daemon_availability = {"topic": topics.available, "payload_available": "online", "payload_not_available": "offline"}
    camera_availability = {"topic": topics.camera(camera, "available"), "payload_available": "online",
                           "payload_not_available": "offline"}
    configs = {}
    for entity in entities(snooze_seconds):
        config: dict[str, object] = {
            "name": entity.name,
            "unique_id": f"{topics.node_id(camera)}_{entity.key}",
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
        configs[entity.key] = (entity.component, config)
    return configs


def discovery_messages(topics: Topics, camera: str, name: str, snooze_seconds: int,
                       schema: Schema = "device") -> dict[str, str]:
    """Discovery topic → retained JSON config, for every entity of one camera; an empty config for each entity an
    earlier version announced and this one does not (Home Assistant removes it)."""
    device, configs = _device(topics, camera, name), component_configs(topics, camera, snooze_seconds)
    messages: dict[str, str] = {}
    if schema == "device":
        components = {key: {"platform": platform, **config} for key, (platform, config) in configs.items()}
        payload = {"device": device, "origin": ORIGIN, "components": components}
        messages[topics.device_discovery(camera)] = json.dumps(payload, sort_keys=True)
    else:
        for key, (platform, config) in configs.items():
            payload = {**config, "device": device, "origin": ORIGIN}
            messages[topics.discovery(platform, camera, key)] = json.dumps(payload, sort_keys=True)
    for platform, key in RETIRED:  # announced one entity at a time by earlier versions
        messages[topics.discovery(platform, camera, key)] = ""
    return messages


def schema_topics(topics: Topics, camera: str, schema: Schema) -> list[str]:
    """The discovery topics that hold a config for ``camera`` in ``schema`` (not the retired ones)."""
    return [t for t, payload in discovery_messages(topics, camera, camera, 60, schema).items() if payload]


def announce_messages(topics: Topics, camera: str, current: dict[str, str], schema: Schema,
                      previously: Iterable[str] = ()) -> list[tuple[str, str, bool]]:
    """What to publish for one camera, in order, as (topic, payload, retain). ``current``: its
    :func:`discovery_messages` in ``schema``.

    ``previously`` is what the daemon announced for this camera last time (its retained registry). Where that was
    the other schema, the move follows Home Assistant's migration path:

    1. ``{"migrate_discovery": true}`` on every old config topic: Home Assistant unloads those entities but keeps
       them in its registry, with the entity ids, names and settings a user gave them;
    2. the old topics emptied, so a Home Assistant that starts later does not find them;
    3. the new config, which binds to the same registry entries (same discovery ids, same unique ids).

    Home Assistant's documentation empties the old topics last; emptying them before the new config arrives is just
    as safe (Home Assistant handles each entity's messages in order, and an empty config for an unloaded entity is
    ignored) and spares one "conflicting discovery message" warning per entity in its log. The migrate messages are
    not retained: a Home Assistant that is not listening needs no migration, since it finds only the new config
    when it starts and matches its entities by unique id.
    """
    other: Schema = "entity" if schema == "device" else "device"
    listed = set(previously)
    old = [t for t in schema_topics(topics, camera, other) if t in listed]
    messages = [(t, MIGRATE, False) for t in old] + [(t, "", True) for t in old]
    return messages + [(t, payload, True) for t, payload in current.items()]
