"""The integration's *Live view* camera: found from the daemon's ``<prefix>/web`` announcement, a still image and
the MJPEG stream fetched from a real HTTP server on loopback standing in for the daemon's API, the token sent only
to the address the user confirmed, unavailable with the daemon or the camera, bad announcements ignored."""

from __future__ import annotations

import json

import pytest
from aiohttp import web
from pytest_homeassistant_custom_component.common import async_fire_mqtt_message

from custom_components.babymon.const import CONF_HTTP_TOKEN, CONF_WEB_URL
from homeassistant.components.camera import async_get_image
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er

from .conftest import CAMERA, TokenGuardedApi, loopback_server

JPEG = b"\xff\xd8\xff\xe0" + b"live picture" * 50 + b"\xff\xd9"
TOKEN = "a-token-of-twenty-chars"
BOUNDARY = "babymonframe"


class DaemonApi(TokenGuardedApi):
    """The daemon's two camera routes on a real loopback server; records the Authorization headers it saw."""

    async def snapshot(self, request: web.Request) -> web.Response:
        if (refusal := self.refused(request)) is not None:
            return refusal
        return web.Response(body=JPEG, content_type="image/jpeg")

    async def stream(self, request: web.Request) -> web.StreamResponse:
        if (refusal := self.refused(request)) is not None:
            return refusal
        response = web.StreamResponse(headers={"Content-Type": f"multipart/x-mixed-replace; boundary={BOUNDARY}"})
        await response.prepare(request)
        for _ in range(2):
            await response.write(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(JPEG)}\r\n\r\n"
                                 .encode() + JPEG + b"\r\n")
        return response


@pytest.fixture
async def daemon_api(socket_enabled):
    api = DaemonApi()
    app = web.Application()
    app.router.add_get(f"/api/cameras/{CAMERA}/snapshot.jpg", api.snapshot)
    app.router.add_get(f"/api/cameras/{CAMERA}/stream.mjpeg", api.stream)
    async with loopback_server(app) as api.url:
        yield api


def live_entity_id(hass: HomeAssistant) -> str:
    registry = er.async_get(hass)
    found = [e.entity_id for e in registry.entities.values() if e.unique_id.endswith(f"{CAMERA}_live")]
    assert len(found) == 1, found
    return found[0]


async def announce(hass: HomeAssistant, payload: str) -> None:
    async_fire_mqtt_message(hass, "babymon/web", payload, qos=1, retain=True)
    await hass.async_block_till_done()


async def test_the_live_view_appears_once_the_daemon_says_where_it_is(hass: HomeAssistant, hass_client, loaded_entry,
                                                                      daemon_api) -> None:
    entity = live_entity_id(hass)
    assert hass.states.get(entity).state == "unavailable"  # no address yet
    await announce(hass, json.dumps({"url": daemon_api.url, "token": False}))
    assert hass.states.get(entity).state == "streaming"
    assert (await async_get_image(hass, entity)).content == JPEG
    client = await hass_client()
    response = await client.get(f"/api/camera_proxy_stream/{entity}")
    assert response.status == 200
    body = await response.read()
    assert body.count(JPEG) == 2 and f"--{BOUNDARY}".encode() in body
    assert daemon_api.authorizations == [None, None]  # no token to an announced address


async def test_unavailable_while_the_camera_or_the_daemon_is_down(hass: HomeAssistant, loaded_entry,
                                                                   daemon_api) -> None:
    entity = live_entity_id(hass)
    await announce(hass, json.dumps({"url": daemon_api.url, "token": False}))
    async_fire_mqtt_message(hass, f"babymon/{CAMERA}/available", "offline", qos=1)
    await hass.async_block_till_done()
    assert hass.states.get(entity).state == "unavailable"
    async_fire_mqtt_message(hass, f"babymon/{CAMERA}/available", "online", qos=1)
    await hass.async_block_till_done()
    assert hass.states.get(entity).state == "streaming"
    async_fire_mqtt_message(hass, "babymon/available", "offline", qos=1)
    await hass.async_block_till_done()
    assert hass.states.get(entity).state == "unavailable"


async def test_a_daemon_that_needs_a_token_gets_it_only_at_the_confirmed_address(hass: HomeAssistant, loaded_entry,
                                                                                  daemon_api, caplog) -> None:
    daemon_api.token = TOKEN
    entity = live_entity_id(hass)
    await announce(hass, json.dumps({"url": daemon_api.url, "token": True}))
    assert hass.states.get(entity).state == "unavailable"
    assert "needs a token" in caplog.text
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**loaded_entry.options, CONF_WEB_URL: daemon_api.url + "/", CONF_HTTP_TOKEN: TOKEN})
    assert result["type"] == "create_entry"
    await hass.async_block_till_done()
    assert loaded_entry.options[CONF_WEB_URL] == daemon_api.url
    assert hass.states.get(entity).state == "streaming"
    assert (await async_get_image(hass, entity)).content == JPEG
    assert daemon_api.authorizations[-1] == f"Bearer {TOKEN}"
    # someone on the broker announces another address: the confirmed one is still the one asked, token and all
    await announce(hass, json.dumps({"url": "http://203.0.113.9:8765", "token": False}))
    assert (await async_get_image(hass, entity)).content == JPEG
    assert daemon_api.authorizations[-1] == f"Bearer {TOKEN}"


async def test_a_wrong_token_gives_no_picture(hass: HomeAssistant, loaded_entry, daemon_api) -> None:
    daemon_api.token = TOKEN
    hass.config_entries.async_update_entry(loaded_entry, options={**loaded_entry.options,
                                                                  CONF_WEB_URL: daemon_api.url,
                                                                  CONF_HTTP_TOKEN: "not-the-right-token"})
    await hass.async_block_till_done()
    entity = live_entity_id(hass)
    with pytest.raises(HomeAssistantError):
        await async_get_image(hass, entity)


@pytest.mark.parametrize("payload", [
    "not json", json.dumps({"url": "ftp://host:21", "token": False}), json.dumps({"url": "http://host/path",
                                                                                  "token": False}),
    json.dumps({"url": "http://user:pw@host:1", "token": False}), json.dumps({"url": "http://host:8765"}),
    json.dumps({"url": "http://" + "h" * 400, "token": False}), json.dumps({"url": "http://host:99999", "token": False}),
])
async def test_what_is_not_an_address_is_ignored(hass: HomeAssistant, loaded_entry, payload) -> None:
    entity = live_entity_id(hass)
    await announce(hass, payload)
    assert hass.states.get(entity).state == "unavailable"


async def test_the_options_refuse_a_bad_address_or_a_token_without_one(hass: HomeAssistant, loaded_entry) -> None:
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**loaded_entry.options, CONF_WEB_URL: "babymon.local:8765"})
    assert result["type"] == "form" and result["errors"] == {CONF_WEB_URL: "invalid_web_url"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**loaded_entry.options, CONF_HTTP_TOKEN: TOKEN})
    assert result["type"] == "form" and result["errors"] == {CONF_WEB_URL: "web_url_for_token"}
