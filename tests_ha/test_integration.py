"""The integration against a real daemon's payloads: one device per camera, entities once, device triggers,
actions, diagnostics, and unload/reload."""

from __future__ import annotations

import json

import pytest
from pytest_homeassistant_custom_component.common import async_capture_events, async_fire_mqtt_message
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_config_entry

from custom_components.babymon.const import CONF_ALERT_CONDITIONS, DOMAIN, EVENT_BABYMON
from custom_components.babymon.protocol import TRIGGER_TYPES
from homeassistant.components.device_automation import DeviceAutomationType, async_get_device_automations
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.setup import async_setup_component

from .conftest import CAMERA, replay_events, replay_retained, retained_configs

FIRED = "babymon_test_trigger_fired"


def camera_device(hass: HomeAssistant) -> dr.DeviceEntry:
    device = dr.async_get(hass).async_get_device(identifiers={("mqtt", f"babymon_{CAMERA}")})
    assert device is not None, "the daemon's discovery did not create the camera device"
    return device


def snapshot_entity_id(hass: HomeAssistant) -> str:
    found = er.async_get(hass).async_get_entity_id("image", DOMAIN, f"babymon_{CAMERA}_snapshot")
    assert found, "no snapshot image"
    return found


def entity_id(hass: HomeAssistant, component: str, key: str) -> str:
    found = er.async_get(hass).async_get_entity_id(component, "mqtt", f"babymon_{CAMERA}_{key}")
    assert found, f"no {component} entity for {key}"
    return found


async def test_entities_come_from_discovery_once_on_one_device(hass: HomeAssistant, loaded_entry, payloads) -> None:
    device = camera_device(hass)
    assert device.name == "Nursery" and device.manufacturer == "babymon"
    assert loaded_entry.entry_id in device.config_entries  # the integration joined the discovered device
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), loaded_entry.entry_id)
    assert [d.id for d in devices] == [device.id]
    entities = er.async_entries_for_device(er.async_get(hass), device.id)
    configs = retained_configs(payloads)
    discovered = [e for e in entities if e.platform == "mqtt"]
    assert len(discovered) == len(configs) == 21
    # the integration's own: the snapshot image, whose state is the time the daemon took the picture, and the live
    # view from the daemon's HTTP API
    assert sorted((e.domain, e.unique_id) for e in entities if e.platform == DOMAIN) == [
        ("camera", "babymon_nursery_live"), ("image", "babymon_nursery_snapshot")]
    assert len({e.unique_id for e in entities}) == len(entities)
    # states from the daemon's retained payloads (captured with the scene clear and the camera connected)
    assert hass.states.get(entity_id(hass, "binary_sensor", "danger")).state == "off"
    assert hass.states.get(entity_id(hass, "binary_sensor", "connected")).state == "on"
    assert hass.states.get(entity_id(hass, "sensor", "posture")).state == "supine"
    assert hass.states.get(entity_id(hass, "switch", "enabled")).state == "on"
    snapshot = hass.states.get(snapshot_entity_id(hass))
    assert snapshot is not None and snapshot.state not in ("unavailable", "unknown")  # the daemon's JPEG arrived


async def test_reload_and_rediscovery_do_not_duplicate(hass: HomeAssistant, loaded_entry, payloads) -> None:
    device = camera_device(hass)
    before = sorted(e.entity_id for e in er.async_entries_for_device(er.async_get(hass), device.id))
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await replay_retained(hass, payloads)  # the daemon re-sends discovery when Home Assistant restarts
    await hass.async_block_till_done()
    after = sorted(e.entity_id for e in er.async_entries_for_device(er.async_get(hass), device.id))
    assert after == before
    assert len(dr.async_get(hass).devices) == 1


async def test_every_device_trigger_fires_an_automation(hass: HomeAssistant, loaded_entry, payloads) -> None:
    device = camera_device(hass)
    offered = await async_get_device_automations(hass, DeviceAutomationType.TRIGGER, [device.id])
    assert sorted(t["type"] for t in offered[device.id] if t["domain"] == DOMAIN) == sorted(TRIGGER_TYPES)
    automations = [
        {
            "alias": f"on {kind}",
            "triggers": [{"trigger": "device", "domain": DOMAIN, "device_id": device.id, "type": kind}],
            "actions": [{"event": FIRED, "event_data": {"kind": kind, "camera": "{{ trigger.event.data.camera }}"}}],
        }
        for kind in TRIGGER_TYPES
    ]
    assert await async_setup_component(hass, "automation", {"automation": automations})
    fired = async_capture_events(hass, FIRED)
    replay_events(hass, payloads)  # every event the real daemon sent, in order
    await hass.async_block_till_done()
    counts = {kind: sum(1 for e in fired if e.data["kind"] == kind) for kind in TRIGGER_TYPES}
    assert counts == {
        "face_covered": 1, "prone": 1, "standing": 1, "cry_started": 1, "cry_stopped": 1,
        "danger_started": 6, "danger_cleared": 6, "monitor_unavailable": 2,
        "alert": 6,  # face, prone, standing, crying and twice monitor unavailable: all chosen by default
    }
    assert {e.data["camera"] for e in fired} == {CAMERA}
    # the same event delivered twice (QoS 1) fires once
    topic, text = payloads["events"][0]["topic"], payloads["events"][0]["text"]
    async_fire_mqtt_message(hass, topic, text, qos=1)
    await hass.async_block_till_done()
    assert len(fired) == sum(counts.values())
    # the daemon going away (its last will) is "monitor unavailable" too; a broker forwards a retained
    # publish to existing subscribers without the retain flag
    async_fire_mqtt_message(hass, payloads["offline"]["topic"], payloads["offline"]["text"])
    await hass.async_block_till_done()
    assert [e.data["kind"] for e in fired[-3:]] == ["monitor_unavailable", "alert", "danger_started"]


async def test_the_daemon_going_offline_is_danger_too_and_its_return_clears_it(hass: HomeAssistant, loaded_entry,
                                                                                 payloads) -> None:
    """A parent's automation on "danger started" must hear that nothing is being watched any more, and the
    light it turned on must go off again when the daemon is back."""
    events = async_capture_events(hass, EVENT_BABYMON)
    alerts = async_capture_events(hass, "babymon_alert")
    async_fire_mqtt_message(hass, payloads["offline"]["topic"], payloads["offline"]["text"])
    await hass.async_block_till_done()
    assert [(e.data["type"], e.data["reasons"]) for e in events] == [
        ("monitor_unavailable_started", ["daemon_offline"]), ("danger_started", ["monitor_unavailable"])]
    assert [e.data["condition"] for e in alerts] == ["monitor_unavailable"]
    async_fire_mqtt_message(hass, payloads["offline"]["topic"], payloads["offline"]["text"])  # said twice: once
    await hass.async_block_till_done()
    assert len(events) == 2
    async_fire_mqtt_message(hass, "babymon/available", "online")
    await hass.async_block_till_done()
    assert [e.data["type"] for e in events[2:]] == ["monitor_unavailable_cleared", "danger_cleared"]
    assert len(alerts) == 1


async def test_an_offline_daemon_does_not_start_a_danger_that_is_already_on(hass: HomeAssistant, loaded_entry,
                                                                             payloads) -> None:
    state = json.loads(payloads["retained"][f"babymon/{CAMERA}/state"]["text"]) | {"danger": True, "reasons": ["prone"]}
    async_fire_mqtt_message(hass, f"babymon/{CAMERA}/state", json.dumps(state), qos=1)
    await hass.async_block_till_done()
    events = async_capture_events(hass, EVENT_BABYMON)
    async_fire_mqtt_message(hass, payloads["offline"]["topic"], payloads["offline"]["text"])
    async_fire_mqtt_message(hass, "babymon/available", "online")
    await hass.async_block_till_done()
    assert [e.data["type"] for e in events] == ["monitor_unavailable_started", "monitor_unavailable_cleared"]


async def test_alert_follows_the_options(hass: HomeAssistant, loaded_entry, payloads) -> None:
    hass.config_entries.async_update_entry(loaded_entry, options=loaded_entry.options | {
        CONF_ALERT_CONDITIONS: ["crying"]})
    alerts = async_capture_events(hass, "babymon_alert")
    replay_events(hass, payloads)
    await hass.async_block_till_done()
    assert [e.data["type"] for e in alerts] == ["cry_started"]


async def test_snooze_and_resume_publish_the_daemon_commands(hass: HomeAssistant, loaded_entry, mqtt_mock) -> None:
    device = camera_device(hass)
    mqtt_mock.async_publish.reset_mock()
    await hass.services.async_call(DOMAIN, "snooze", {"device_id": device.id, "duration": {"minutes": 10}},
                                   blocking=True)
    mqtt_mock.async_publish.assert_called_once_with("babymon/nursery/snooze/set", "600", 1, False)
    mqtt_mock.async_publish.reset_mock()
    await hass.services.async_call(DOMAIN, "snooze", {"device_id": device.id}, blocking=True)
    mqtt_mock.async_publish.assert_called_once_with("babymon/nursery/snooze/set", "1800", 1, False)  # options
    mqtt_mock.async_publish.reset_mock()
    await hass.services.async_call(DOMAIN, "resume", {"device_id": [device.id]}, blocking=True)
    assert [c.args for c in mqtt_mock.async_publish.call_args_list] == [
        ("babymon/nursery/snooze/set", "OFF", 1, False), ("babymon/nursery/enabled/set", "ON", 1, False)]
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(DOMAIN, "snooze", {"device_id": "not-a-camera"}, blocking=True)


async def test_diagnostics_redact_names_and_errors(hass: HomeAssistant, hass_client, loaded_entry, payloads) -> None:
    replay_events(hass, payloads, {"danger_started"})
    await hass.async_block_till_done()
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, loaded_entry)
    assert diagnostics["daemon_online"] is True and diagnostics["announced_cameras"] == [CAMERA]
    camera = diagnostics["cameras"][CAMERA]
    assert camera["state"]["danger"] is False and camera["last_event"]["type"] == "danger_started"
    assert camera["state"]["name"] == "**REDACTED**" and camera["state"]["health"]["last_error"] in (None, "**REDACTED**")
    assert "Nursery" not in json.dumps(diagnostics)


async def test_unload_leaves_nothing_behind(hass: HomeAssistant, loaded_entry, payloads) -> None:
    device = camera_device(hass)
    events = async_capture_events(hass, EVENT_BABYMON)
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert loaded_entry.state is ConfigEntryState.NOT_LOADED
    assert loaded_entry.entry_id not in camera_device(hass).config_entries  # MQTT still owns the device
    replay_events(hass, payloads)
    await hass.async_block_till_done()
    assert events == []  # no subscription is left
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(DOMAIN, "snooze", {"device_id": device.id}, blocking=True)
    # and it comes back whole
    assert await hass.config_entries.async_setup(loaded_entry.entry_id)
    await replay_retained(hass, payloads, only="babymon/")
    await hass.async_block_till_done()
    assert loaded_entry.entry_id in camera_device(hass).config_entries
    replay_events(hass, payloads, {"cry_started"})
    await hass.async_block_till_done()
    assert [e.data["type"] for e in events] == ["cry_started"]


def _snoozed_state(payloads, minutes: float = 10) -> str:
    from datetime import timedelta

    from homeassistant.util import dt as dt_util

    state = json.loads(payloads["retained"][f"babymon/{CAMERA}/state"]["text"])
    state["snoozed_until"] = (dt_util.utcnow() + timedelta(minutes=minutes)).isoformat()
    return json.dumps(state)


async def test_a_snooze_never_silences_a_camera_that_stopped_watching(hass: HomeAssistant, loaded_entry,
                                                                      payloads) -> None:
    """Snoozed: the baby alerts stay quiet, but the camera dying still raises the alert (the trigger the
    notification blueprint uses), as the daemon and the README promise."""
    # a live publish reaches an existing subscriber without the retain flag (a retained one would be a repeat)
    async_fire_mqtt_message(hass, f"babymon/{CAMERA}/state", _snoozed_state(payloads), qos=1)
    await hass.async_block_till_done()
    alerts = async_capture_events(hass, "babymon_alert")
    events = async_capture_events(hass, EVENT_BABYMON)
    replay_events(hass, payloads, {"prone_started", "face_covered_started", "monitor_unavailable_started",
                                   "danger_started"})
    await hass.async_block_till_done()
    assert {e.data["type"] for e in events} >= {"prone_started", "monitor_unavailable_started", "danger_started"}
    assert [e.data["condition"] for e in alerts] == ["monitor_unavailable", "monitor_unavailable"]  # twice recorded
    # and the daemon itself going away during the snooze
    async_fire_mqtt_message(hass, payloads["offline"]["topic"], payloads["offline"]["text"])
    await hass.async_block_till_done()
    assert alerts[-1].data["condition"] == "monitor_unavailable" and len(alerts) == 3
