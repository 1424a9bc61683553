"""The integration's own *Last event snapshot* image: its state is the time the daemon took the picture, so a
restart of Home Assistant does not change it; it is unavailable with the camera; it serves only a JPEG."""

from __future__ import annotations

from datetime import timedelta

from pytest_homeassistant_custom_component.common import async_fire_mqtt_message

from custom_components.babymon.image import snapshot_time
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from .conftest import CAMERA, payload_of, replay_retained
from .test_integration import snapshot_entity_id

SNAPSHOT = f"babymon/{CAMERA}/snapshot"


async def test_the_state_is_when_the_daemon_took_the_picture_across_restarts(hass: HomeAssistant, hass_client,
                                                                              loaded_entry, payloads) -> None:
    taken = payloads["retained"][f"babymon/{CAMERA}/snapshot_time"]["text"]
    entity = snapshot_entity_id(hass)
    assert dt_util.parse_datetime(hass.states.get(entity).state) == dt_util.parse_datetime(taken)
    client = await hass_client()
    response = await client.get(f"/api/image_proxy/{entity}")
    assert response.status == 200 and (await response.read()) == payload_of(payloads["retained"][SNAPSHOT])
    # Home Assistant restarts: the broker hands it the same retained picture again, later
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await replay_retained(hass, payloads)
    await hass.async_block_till_done()
    assert dt_util.parse_datetime(hass.states.get(entity).state) == dt_util.parse_datetime(taken)


async def test_a_new_snapshot_gets_its_own_time(hass: HomeAssistant, loaded_entry, payloads) -> None:
    entity = snapshot_entity_id(hass)
    later = (dt_util.utcnow() - timedelta(seconds=5)).replace(microsecond=0)
    async_fire_mqtt_message(hass, f"babymon/{CAMERA}/snapshot_time", later.isoformat(), qos=1)
    async_fire_mqtt_message(hass, SNAPSHOT, payload_of(payloads["retained"][SNAPSHOT]), qos=1)
    await hass.async_block_till_done()
    assert dt_util.parse_datetime(hass.states.get(entity).state) == later


async def test_unavailable_while_the_camera_or_the_daemon_is_down(hass: HomeAssistant, loaded_entry) -> None:
    entity = snapshot_entity_id(hass)
    async_fire_mqtt_message(hass, f"babymon/{CAMERA}/available", "offline", qos=1)
    await hass.async_block_till_done()
    assert hass.states.get(entity).state == "unavailable"
    async_fire_mqtt_message(hass, f"babymon/{CAMERA}/available", "online", qos=1)
    await hass.async_block_till_done()
    assert hass.states.get(entity).state != "unavailable"
    async_fire_mqtt_message(hass, "babymon/available", "offline", qos=1)
    await hass.async_block_till_done()
    assert hass.states.get(entity).state == "unavailable"


async def test_what_is_not_a_jpeg_is_not_shown(hass: HomeAssistant, hass_client, loaded_entry, payloads) -> None:
    entity = snapshot_entity_id(hass)
    before = hass.states.get(entity).state
    async_fire_mqtt_message(hass, SNAPSHOT, b"<html>not a picture</html>", qos=1)
    await hass.async_block_till_done()
    assert hass.states.get(entity).state == before
    response = await (await hass_client()).get(f"/api/image_proxy/{entity}")
    assert (await response.read()) == payload_of(payloads["retained"][SNAPSHOT])


def test_a_snapshot_time_must_be_a_time_the_daemon_could_have_written() -> None:
    now = dt_util.utcnow()
    assert snapshot_time((now - timedelta(hours=3)).isoformat(), now) == now - timedelta(hours=3)
    assert snapshot_time("2026-12-05T16:41:29.864+00:00", now) is not None
    for bad in (None, 17, "yesterday", "2026-12-05T16:41:29", (now + timedelta(hours=1)).isoformat(), "9" * 100):
        assert snapshot_time(bad, now) is None, bad
