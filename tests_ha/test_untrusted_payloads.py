"""Whoever can publish on the broker can publish on the daemon's topics: the integration must not trust them.

Deep or huge JSON, made-up cameras, a snooze far in the future, event fields of the wrong type, an unknown
event type or availability payload: none of them may raise in an MQTT callback, grow memory without bound,
silence alerts or break the shipped blueprints.

Live messages are fired without the retain flag, as a broker forwards them to existing subscribers (Home
Assistant hands a subscription only the first retained message of a topic)."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import timedelta

import pytest
from pytest_homeassistant_custom_component.common import (
    async_capture_events,
    async_fire_mqtt_message,
    async_mock_service,
)

from custom_components.babymon.const import EVENT_BABYMON, EVENT_BABYMON_ALERT
from custom_components.babymon.hub import BabymonHub
from custom_components.babymon.protocol import MAX_CAMERAS, MAX_PAYLOAD_BYTES, MAX_TEXT_LENGTH
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from .conftest import CAMERA, make_entry, replay_retained
from .test_blueprints import _automation
from .test_integration import camera_device, snapshot_entity_id

STATE_TOPIC = f"babymon/{CAMERA}/state"
EVENTS_TOPIC = f"babymon/{CAMERA}/events"
REGISTRY_TOPIC = "babymon/_announced"

DEEP_PAYLOADS = {
    "unterminated": "[" * 100_000,  # json.loads: RecursionError, which is no ValueError
    "objects": '{"a":' * 30_000 + "1" + "}" * 30_000,  # under the size bound: the depth bound refuses it
    "parses": '{"cameras": ' + "[" * 5_000 + "]" * 5_000 + ', "type": "cry_started"}',  # within the C limit
}


def hub_of(entry) -> BabymonHub:
    return entry.runtime_data


def daemon_event(payloads, kind: str, **changes) -> tuple[str, str]:
    """A real daemon event of that type, with a fresh id (the hub drops repeated ids) and ``changes``."""
    record = next(r for r in payloads["events"] if json.loads(r["text"])["type"] == kind)
    return record["topic"], json.dumps(json.loads(record["text"]) | {"id": uuid.uuid4().hex} | changes)


def daemon_state(payloads, **changes) -> str:
    return json.dumps(json.loads(payloads["retained"][STATE_TOPIC]["text"]) | changes)


def callback_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What the MQTT client logs when a subscriber's callback raises (not the discovered entities' own
    complaints about a state that is not what their templates expect)."""
    return [m for r in caplog.records if r.levelno >= logging.ERROR
            and ("Exception in" in (m := r.getMessage()) or "RecursionError" in m)]


@pytest.mark.parametrize("topic", [STATE_TOPIC, EVENTS_TOPIC, REGISTRY_TOPIC])
@pytest.mark.parametrize("payload", DEEP_PAYLOADS.values(), ids=DEEP_PAYLOADS.keys())
async def test_deep_json_does_not_raise_and_is_ignored(
    hass: HomeAssistant, loaded_entry, caplog: pytest.LogCaptureFixture, topic: str, payload: str
) -> None:
    hub = hub_of(loaded_entry)
    state_before, announced_before = hub.cameras[CAMERA].state, list(hub.announced)
    events = async_capture_events(hass, EVENT_BABYMON)
    async_fire_mqtt_message(hass, topic, payload, qos=1)
    await hass.async_block_till_done()
    assert callback_errors(caplog) == []  # the MQTT client logs a callback's exception, and goes on
    assert hub.cameras[CAMERA].state is state_before
    assert hub.announced == announced_before == [CAMERA]
    assert events == []
    assert list(hub.cameras) == [CAMERA]


async def test_oversized_payloads_are_ignored(hass: HomeAssistant, loaded_entry, payloads) -> None:
    hub = hub_of(loaded_entry)
    state_before = hub.cameras[CAMERA].state
    events = async_capture_events(hass, EVENT_BABYMON)
    async_fire_mqtt_message(hass, STATE_TOPIC, daemon_state(payloads, padding="x" * MAX_PAYLOAD_BYTES), qos=1)
    async_fire_mqtt_message(hass, *daemon_event(payloads, "cry_started", padding="x" * MAX_PAYLOAD_BYTES), qos=1)
    await hass.async_block_till_done()
    assert hub.cameras[CAMERA].state is state_before
    assert events == []
    # just under the limit still counts
    async_fire_mqtt_message(hass, STATE_TOPIC, daemon_state(payloads, padding="x" * (MAX_PAYLOAD_BYTES - 4000)))
    await hass.async_block_till_done()
    assert "padding" in hub.cameras[CAMERA].state


async def test_camera_count_is_bounded(hass: HomeAssistant, loaded_entry, payloads,
                                       caplog: pytest.LogCaptureFixture) -> None:
    hub = hub_of(loaded_entry)
    events = async_capture_events(hass, EVENT_BABYMON)
    for n in range(1000):
        async_fire_mqtt_message(hass, f"babymon/x{n}/state", "{}", qos=1)
    await hass.async_block_till_done()
    assert len(hub.cameras) == MAX_CAMERAS
    assert CAMERA in hub.cameras and hub.cameras[CAMERA].device_id == camera_device(hass).id  # the real one stays
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "more than" in r.getMessage()]
    assert len(warnings) == 1  # once, not 936 times
    # a camera beyond the bound is not followed: its events are dropped, the real camera's still arrive
    async_fire_mqtt_message(hass, "babymon/x999/events", daemon_event(payloads, "cry_started")[1], qos=1)
    async_fire_mqtt_message(hass, *daemon_event(payloads, "cry_started"), qos=1)
    await hass.async_block_till_done()
    assert [e.data["camera"] for e in events] == [CAMERA]
    assert len(hub.cameras) == MAX_CAMERAS


async def test_announced_cameras_take_precedence(hass: HomeAssistant, mqtt_mock, payloads) -> None:
    """Made-up cameras that filled every place before the daemon's registry arrived make way for its cameras."""
    entry = make_entry()
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    for n in range(2 * MAX_CAMERAS):
        async_fire_mqtt_message(hass, f"babymon/fake{n}/state", "{}", qos=1)
    await hass.async_block_till_done()
    hub = hub_of(entry)
    assert len(hub.cameras) == MAX_CAMERAS and CAMERA not in hub.cameras
    await replay_retained(hass, payloads)
    await hass.async_block_till_done()
    assert len(hub.cameras) == MAX_CAMERAS and hub.announced == [CAMERA]
    assert "fake0" not in hub.cameras  # the oldest made-up one went
    device = camera_device(hass)
    assert hub.cameras[CAMERA].device_id == device.id and entry.entry_id in device.config_entries
    assert hub.cameras[CAMERA].state is not None


@pytest.mark.parametrize("key", ["Nursery", "_hidden", "-x", "a" * 64, "baby room", "kinderzimmer\u00e4", "a\n"])
async def test_invalid_camera_key_is_ignored(hass: HomeAssistant, loaded_entry, payloads, key: str) -> None:
    hub = hub_of(loaded_entry)
    events = async_capture_events(hass, EVENT_BABYMON)
    async_fire_mqtt_message(hass, f"babymon/{key}/state", "{}", qos=1)
    async_fire_mqtt_message(hass, f"babymon/{key}/events", daemon_event(payloads, "cry_started")[1], qos=1)
    async_fire_mqtt_message(hass, REGISTRY_TOPIC, json.dumps({"cameras": {CAMERA: [], key: []}}), qos=1)
    await hass.async_block_till_done()
    assert list(hub.cameras) == [CAMERA]
    assert hub.announced == [CAMERA]
    assert events == []


async def test_registry_of_another_shape_is_ignored(hass: HomeAssistant, loaded_entry) -> None:
    hub = hub_of(loaded_entry)
    for payload in ('{"cameras": ["spare"]}', '{"cameras": "spare"}', '["spare"]', '"spare"', "not json"):
        async_fire_mqtt_message(hass, REGISTRY_TOPIC, payload, qos=1)
        await hass.async_block_till_done()
        assert hub.announced == [CAMERA], payload
    # entries of another shape are left out; the rest counts
    async_fire_mqtt_message(hass, REGISTRY_TOPIC, json.dumps({"cameras": {
        CAMERA: ["babymon/nursery/state"], "spare": "babymon/spare/state", "other": [1], "Bad": []}}), qos=1)
    await hass.async_block_till_done()
    assert hub.announced == [CAMERA]
    assert list(hub.cameras) == [CAMERA]


async def test_snooze_a_year_ahead_does_not_silence_face_covered(hass: HomeAssistant, loaded_entry, payloads) -> None:
    alerts = async_capture_events(hass, EVENT_BABYMON_ALERT)
    for until in ((dt_util.utcnow() + timedelta(days=365)).isoformat(), "9999-12-31T23:59:59+00:00",
                  (dt_util.utcnow() + timedelta(hours=1)).replace(tzinfo=None).isoformat(),  # no time zone
                  "soon", 12345):
        async_fire_mqtt_message(hass, STATE_TOPIC, daemon_state(payloads, snoozed_until=until), qos=1)
        async_fire_mqtt_message(hass, *daemon_event(payloads, "face_covered_started"), qos=1)
        await hass.async_block_till_done()
        assert [e.data["type"] for e in alerts] == ["face_covered_started"], until
        alerts.clear()


async def test_valid_snooze_silences_face_covered_but_not_monitor_unavailable(
    hass: HomeAssistant, loaded_entry, payloads
) -> None:
    alerts = async_capture_events(hass, EVENT_BABYMON_ALERT)
    events = async_capture_events(hass, EVENT_BABYMON)
    for ahead in (timedelta(minutes=10), timedelta(hours=24)):  # the daemon's longest snooze counts too
        until = (dt_util.utcnow() + ahead).isoformat(timespec="milliseconds")
        async_fire_mqtt_message(hass, STATE_TOPIC, daemon_state(payloads, snoozed_until=until), qos=1)
        for kind in ("face_covered_started", "prone_started", "standing_started", "cry_started"):
            async_fire_mqtt_message(hass, *daemon_event(payloads, kind), qos=1)
        await hass.async_block_till_done()
        assert alerts == [] and len(events) == 4  # still on the bus (device triggers), just no alert
        events.clear()
    # README: a snooze never hides monitor_unavailable, from the daemon or from the daemon going offline
    async_fire_mqtt_message(hass, *daemon_event(payloads, "monitor_unavailable_started"), qos=1)
    async_fire_mqtt_message(hass, "babymon/available", "offline")
    await hass.async_block_till_done()
    assert [e.data["type"] for e in alerts] == ["monitor_unavailable_started"] * 2
    assert [e.data["reasons"] for e in alerts] == [["monitor_unavailable"], ["daemon_offline"]]


async def test_event_fields_of_the_wrong_type_are_sanitized(hass: HomeAssistant, loaded_entry, payloads) -> None:
    events = async_capture_events(hass, EVENT_BABYMON)
    alerts = async_capture_events(hass, EVENT_BABYMON_ALERT)
    topic, text = daemon_event(
        payloads, "face_covered_started",
        condition=["face_covered"], reasons={"face_covered": True}, face={"state": "covered"}, posture=7,
        name="N" * (MAX_TEXT_LENGTH + 1), time=None, cry_probability="0.5",
    )
    async_fire_mqtt_message(hass, topic, text, qos=1)
    await hass.async_block_till_done()
    event_id = json.loads(text)["id"]
    assert len(events) == 1
    assert events[0].data == {
        "device_id": camera_device(hass).id, "camera": CAMERA, "type": "face_covered_started",
        "id": event_id, "name": None, "condition": None, "reasons": [], "time": None, "face": None,
        "posture": None, "cry_probability": None,
    }
    # the alert names the condition its type starts, whatever the payload said
    assert len(alerts) == 1 and alerts[0].data["condition"] == "face_covered"
    # items of the wrong type are dropped from reasons; out-of-range probabilities become None
    for probability, expected in ((1.5, None), (-0.1, None), (True, None), (10**400, None), (1, 1.0), (0.25, 0.25)):
        async_fire_mqtt_message(hass, *daemon_event(payloads, "cry_started", cry_probability=probability,
                                                    reasons=["crying", 3, None, ["x"], "r" * 1000]), qos=1)
        await hass.async_block_till_done()
        assert events[-1].data["cry_probability"] == expected, probability
        assert events[-1].data["reasons"] == ["crying"]


async def test_unknown_event_type_is_ignored(hass: HomeAssistant, loaded_entry, payloads) -> None:
    events = async_capture_events(hass, EVENT_BABYMON)
    for kind in ("bogus", ["cry_started"], None, "cry_started " * 30):
        async_fire_mqtt_message(hass, *daemon_event(payloads, "cry_started", type=kind, event_type=kind), qos=1)
    await hass.async_block_till_done()
    assert events == []


async def test_unknown_availability_payload_is_ignored(hass: HomeAssistant, loaded_entry) -> None:
    hub = hub_of(loaded_entry)
    events = async_capture_events(hass, EVENT_BABYMON)
    assert hub.daemon_online is True
    for payload in ("garbage", "", "Offline", "offline\n"):
        async_fire_mqtt_message(hass, "babymon/available", payload)
        await hass.async_block_till_done()
        assert hub.daemon_online is True, payload
    assert events == []
    async_fire_mqtt_message(hass, "babymon/available", "offline")
    await hass.async_block_till_done()
    assert hub.daemon_online is False
    assert [e.data["type"] for e in events] == ["monitor_unavailable_started", "danger_started"]


async def test_notification_blueprint_survives_a_list_valued_condition(
    hass: HomeAssistant, loaded_entry, payloads
) -> None:
    phone = async_mock_service(hass, "notify", "mobile_app_phone")
    await _automation(hass, "notify_snapshot.yaml", {"camera": camera_device(hass).id,
                                                     "snapshot": snapshot_entity_id(hass),
                                                     "notify_action": "notify.mobile_app_phone",
                                                     "wait_for_snapshot": 0})
    async_fire_mqtt_message(hass, *daemon_event(payloads, "face_covered_started", condition=["face_covered"]), qos=1)
    await hass.async_block_till_done()
    assert len(phone) == 1
    assert phone[0].data["message"] == "Face covered"
