"""Evidence in the Media panel: babymon → camera → night → each alert's snapshot and clip, listed from the daemon's
``/api/events`` on a real loopback server standing in for its API, and served through Home Assistant's own
authenticated view (the browser never gets the daemon's address or token)."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import unquote

import pytest
from aiohttp import web
from pytest_homeassistant_custom_component.common import async_fire_mqtt_message

from custom_components.babymon.const import CONF_HTTP_TOKEN, CONF_WEB_URL
from custom_components.babymon.protocol import night_of
from homeassistant.components import media_source
from homeassistant.components.media_player import BrowseError
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util

from .conftest import CAMERA, TokenGuardedApi, loopback_server

JPEG = b"\xff\xd8\xff\xe0" + b"alert picture" * 40 + b"\xff\xd9"
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"clip" * 100
TOKEN = "a-token-of-twenty-chars"


def event(n: int, kind: str, when, snapshot: bool = True, clip: bool = False) -> dict:
    event_id = f"{n:032x}"
    return {"id": event_id, "type": kind, "camera": CAMERA, "time": when.isoformat(),
            "snapshot_url": f"/api/events/{event_id}/snapshot.jpg" if snapshot else None,
            "clip_url": f"/api/events/{event_id}/clip.mp4" if clip else None}


class EvidenceApi(TokenGuardedApi):
    """The daemon's evidence routes (event list, snapshots and clips) on a real loopback server."""

    def __init__(self) -> None:
        super().__init__()
        night = dt_util.now().replace(hour=3, minute=10, second=0, microsecond=0) - timedelta(days=1)
        self.events = [event(1, "face_covered_started", night, clip=True),
                       event(2, "prone_started", night + timedelta(minutes=20)),
                       event(3, "danger_cleared", night + timedelta(minutes=30), snapshot=False),
                       event(4, "cry_started", night - timedelta(days=1))]

    async def list_events(self, request: web.Request) -> web.Response:
        if (refusal := self.refused(request)) is not None:
            return refusal
        assert request.query["camera"] == CAMERA
        return web.json_response({"events": self.events})

    async def file(self, request: web.Request) -> web.Response:
        if (refusal := self.refused(request)) is not None:
            return refusal
        name = request.match_info["file"]
        return web.Response(body=JPEG if name == "snapshot.jpg" else MP4,
                            content_type="image/jpeg" if name == "snapshot.jpg" else "video/mp4")


@pytest.fixture
async def evidence_api(socket_enabled):
    api = EvidenceApi()
    app = web.Application()
    app.router.add_get("/api/events", api.list_events)
    app.router.add_get("/api/events/{event_id}/{file}", api.file)
    async with loopback_server(app) as api.url:
        yield api


@pytest.fixture
async def media(hass: HomeAssistant, loaded_entry, evidence_api):
    assert await async_setup_component(hass, "media_source", {})
    async_fire_mqtt_message(hass, "babymon/web", json.dumps({"url": evidence_api.url, "token": False}), qos=1,
                            retain=True)
    await hass.async_block_till_done()
    return loaded_entry


def test_a_night_runs_from_noon_to_noon():
    evening = dt_util.parse_datetime("2026-12-04T21:00:00+01:00")
    assert night_of(evening) == night_of(evening + timedelta(hours=9)) == "2026-12-04"
    assert night_of(evening + timedelta(hours=15)) == "2026-12-05"


async def test_browse_camera_nights_and_alerts_then_play_the_snapshot(hass: HomeAssistant, hass_client, media,
                                                                      evidence_api) -> None:
    root = await media_source.async_browse_media(hass, "media-source://babymon")
    [camera] = root.children
    assert camera.title == "Nursery"
    nights = await media_source.async_browse_media(hass, f"media-source://babymon/{camera.identifier}")
    last = night_of(dt_util.as_local(dt_util.parse_datetime(evidence_api.events[0]["time"])))
    assert [n.title for n in nights.children][0] == f"Night of {last}" and len(nights.children) == 2
    night = await media_source.async_browse_media(hass, f"media-source://babymon/{nights.children[0].identifier}")
    titles = [c.title for c in night.children]
    assert titles == ["03:10:00 face covered started (snapshot)", "03:10:00 face covered started (clip)",
                      "03:30:00 prone started (snapshot)"]  # danger_cleared has no file: not listed
    played = await media_source.async_resolve_media(hass, f"media-source://babymon/{night.children[0].identifier}",
                                                    None)
    assert played.mime_type == "image/jpeg" and evidence_api.url not in played.url
    client = await hass_client()
    response = await client.get(played.url)
    assert response.status == 200 and await response.read() == JPEG
    clip = await media_source.async_resolve_media(hass, f"media-source://babymon/{night.children[1].identifier}", None)
    response = await client.get(clip.url)
    assert clip.mime_type == "video/mp4" and await response.read() == MP4


async def test_an_alert_links_to_its_night_in_the_media_panel(hass: HomeAssistant, media, evidence_api,
                                                              payloads) -> None:
    """``evidence_url`` on ``babymon_alert`` (the notification blueprint's tap target) opens the Media panel at the
    camera's night of that alert: each level of its trail is a folder the media source browses, and the last one
    lists the alert's snapshot and clip."""
    alerts = []
    hass.bus.async_listen("babymon_alert", lambda e: alerts.append(e.data))
    recorded = next(json.loads(r["text"]) for r in payloads["events"] if '"face_covered_started"' in r["text"])
    alert = recorded | {"id": "ab" * 16, "time": evidence_api.events[0]["time"]}
    async_fire_mqtt_message(hass, f"babymon/{CAMERA}/events", json.dumps(alert), qos=1)
    await hass.async_block_till_done()
    [data] = alerts
    head = "/media-browser/browser/"
    assert data["evidence_url"].startswith(head)
    trail = [unquote(segment).split(",", 1) for segment in data["evidence_url"][len(head):].split("/")]
    assert [kind for kind, _ in trail] == ["app", "", ""]
    for _, content_id in trail:
        folder = await media_source.async_browse_media(hass, content_id)
    assert [c.title for c in folder.children][:2] == ["03:10:00 face covered started (snapshot)",
                                                      "03:10:00 face covered started (clip)"]


async def test_the_evidence_view_needs_home_assistant_login(hass: HomeAssistant, hass_client_no_auth, media,
                                                            evidence_api) -> None:
    client = await hass_client_no_auth()
    response = await client.get(f"/api/babymon/evidence/{media.entry_id}/{evidence_api.events[0]['id']}/snapshot.jpg")
    assert response.status == 401


async def test_the_token_goes_only_to_the_confirmed_address(hass: HomeAssistant, hass_client, media,
                                                             evidence_api) -> None:
    evidence_api.token = TOKEN
    with pytest.raises(BrowseError):  # the announced address refuses without a token, and none is sent to it
        await media_source.async_browse_media(hass, f"media-source://babymon/{media.entry_id}/{CAMERA}")
    assert evidence_api.authorizations == [None]
    hass.config_entries.async_update_entry(media, options={**media.options, CONF_WEB_URL: evidence_api.url,
                                                           CONF_HTTP_TOKEN: TOKEN})
    await hass.async_block_till_done()
    nights = await media_source.async_browse_media(hass, f"media-source://babymon/{media.entry_id}/{CAMERA}")
    assert len(nights.children) == 2 and evidence_api.authorizations[-1] == f"Bearer {TOKEN}"
    client = await hass_client()
    response = await client.get(f"/api/babymon/evidence/{media.entry_id}/{evidence_api.events[0]['id']}/snapshot.jpg")
    assert await response.read() == JPEG and evidence_api.authorizations[-1] == f"Bearer {TOKEN}"


async def test_unknown_things_are_refused(hass: HomeAssistant, hass_client, media) -> None:
    with pytest.raises(BrowseError):
        await media_source.async_browse_media(hass, "media-source://babymon/nope/nursery")
    with pytest.raises(media_source.Unresolvable):
        await media_source.async_resolve_media(hass, f"media-source://babymon/{media.entry_id}/../../etc", None)
    client = await hass_client()
    for path in (f"/api/babymon/evidence/{media.entry_id}/not-an-id/snapshot.jpg",
                 f"/api/babymon/evidence/{media.entry_id}/{1:032x}/passwd", f"/api/babymon/evidence/nope/{1:032x}/clip.mp4"):
        assert (await client.get(path)).status == 404, path
