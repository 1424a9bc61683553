"""The daemon's two MQTT discovery schemas in a real Home Assistant MQTT integration, and the move between them.

``mqtt.discovery_schema: device`` (the default) sends one config per camera, ``entity`` one per entity. The moves
are replayed exactly as the daemon published them when its config was switched (``migrations`` in the recorded
fixture): whatever the direction, the same entities stay, with the entity ids and names a user gave them, none is
added twice, none is left behind, and they still follow the daemon's states."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_homeassistant_custom_component.common import async_fire_mqtt_message

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er

from .conftest import CAMERA, make_entry, payload_of, replay_retained

NODE = f"babymon_{CAMERA}"


async def replay(hass: HomeAssistant, messages: list[dict[str, str]]) -> None:
    """Messages in the order the daemon sent them (Home Assistant queues each entity's updates while it works)."""
    for message in messages:
        async_fire_mqtt_message(hass, message["topic"], payload_of(message), qos=1)
    await hass.async_block_till_done()


def final_configs(messages: list[dict[str, str]]) -> list[dict[str, str]]:
    """What a move leaves retained on the broker: each topic's last message, where that is a config."""
    last = {m["topic"]: m for m in messages}
    return [m for m in last.values() if m.get("text") and "migrate_discovery" not in m["text"]]


def mqtt_entities(hass: HomeAssistant) -> dict[str, er.RegistryEntry]:
    """unique id → registry entry, for every MQTT entity babymon's discovery made."""
    entries = er.async_get(hass).entities.values()
    return {e.unique_id: e for e in entries if e.platform == "mqtt" and e.unique_id.startswith(NODE)}


async def start_with(hass: HomeAssistant, payloads: dict[str, Any], configs: list[dict[str, str]]) -> None:
    """The integration loaded against a daemon that announced ``configs``, with its states."""
    entry = make_entry()
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await replay(hass, configs)
    await replay_retained(hass, payloads, only="babymon/")


async def customise(hass: HomeAssistant) -> str:
    """What a user does to an entity: a new entity id and a name of their own."""
    registry = er.async_get(hass)
    danger = mqtt_entities(hass)[f"{NODE}_danger"].entity_id
    registry.async_update_entity(danger, new_entity_id="binary_sensor.baby_in_danger", name="Baby in danger")
    await hass.async_block_till_done()
    return "binary_sensor.baby_in_danger"


async def check_moved(hass: HomeAssistant, payloads: dict[str, Any], before: dict[str, er.RegistryEntry],
                      renamed: str) -> None:
    after = mqtt_entities(hass)
    assert {u: e.entity_id for u, e in after.items()} == {u: e.entity_id for u, e in before.items()}
    assert len(after) == 21
    devices = [d for d in dr.async_get(hass).devices.values() if ("mqtt", NODE) in d.identifiers]
    assert len(devices) == 1 and {e.device_id for e in after.values()} == {devices[0].id}
    assert er.async_get(hass).async_get(renamed).name == "Baby in danger"
    # the moved entities follow the daemon: a fresh state arrives and they show it
    await replay_retained(hass, payloads, only="babymon/")
    assert hass.states.get(renamed).state == "off"
    assert hass.states.get(after[f"{NODE}_posture"].entity_id).state == "supine"
    assert hass.states.get(after[f"{NODE}_connected"].entity_id).state == "on"
    danger = hass.states.get(renamed)
    async_fire_mqtt_message(hass, f"babymon/{CAMERA}/danger", "ON", qos=1)
    await hass.async_block_till_done()
    assert hass.states.get(renamed).state == "on" and danger.state == "off"


async def test_the_device_schema_makes_every_entity_on_one_device(hass: HomeAssistant, mqtt_mock, payloads) -> None:
    await start_with(hass, payloads, [{"topic": t, **r} for t, r in payloads["retained"].items()
                                      if t.startswith("homeassistant/")])
    entities = mqtt_entities(hass)
    assert len(entities) == 21
    assert len({e.device_id for e in entities.values()}) == 1
    assert hass.states.get(entities[f"{NODE}_posture"].entity_id).state == "supine"


@pytest.mark.parametrize(("start", "move", "logged"), [
    ("to_entity", "to_device", "Migration to MQTT device discovery schema started"),
    ("to_device", "to_entity", "Rollback to MQTT platform discovery schema started"),
], ids=["entity to device", "device back to entity"])
async def test_moving_between_the_schemas_keeps_every_entity(hass: HomeAssistant, mqtt_mock, payloads, caplog,
                                                             start: str, move: str, logged: str) -> None:
    """``start``: the recorded move that left the first schema's configs on the broker; ``move``: the other one."""
    await start_with(hass, payloads, final_configs(payloads["migrations"][start]))
    renamed = await customise(hass)
    before = mqtt_entities(hass)
    assert len(before) == 21
    await replay(hass, payloads["migrations"][move])
    await check_moved(hass, payloads, before, renamed)
    assert logged in caplog.text
    assert "conflicting MQTT discovery message" not in caplog.text


async def test_without_the_migration_messages_the_old_entities_would_be_deleted(hass: HomeAssistant, mqtt_mock,
                                                                                payloads) -> None:
    """Why the daemon sends ``migrate_discovery``: emptying the old configs alone removes the entities from Home
    Assistant's registry, and the user's entity ids and names with them."""
    await start_with(hass, payloads, final_configs(payloads["migrations"]["to_entity"]))
    renamed = await customise(hass)
    without = [m for m in payloads["migrations"]["to_device"] if "migrate_discovery" not in m.get("text", "")]
    await replay(hass, without)
    assert er.async_get(hass).async_get(renamed) is None
