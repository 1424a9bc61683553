"""The daemon's evidence (alert snapshots and clips) in Home Assistant's Media panel: babymon → camera → night →
each alert's snapshot and clip.

The list comes from the daemon's ``/api/events`` (where :class:`.web.WebSource` says it answers, with the token
only for the confirmed address). The files are served through Home Assistant's own authenticated view
(:class:`EvidenceView`, ``/api/babymon/evidence/<entry>/<event>/<file>``), which fetches them from the daemon, so
the browser never needs the daemon's address or token. A night runs from noon to noon: an alert at 03:00 belongs
to the night that began the evening before.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re

import aiohttp
from aiohttp import web

from homeassistant.components.http import HomeAssistantView
from homeassistant.components.media_player import BrowseError, MediaClass
from homeassistant.components.media_source import BrowseMediaSource, MediaSource, MediaSourceItem, PlayMedia
from homeassistant.components.media_source.error import Unresolvable
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_aiohttp_proxy_web, async_get_clientsession
from homeassistant.util import dt as dt_util

from .const import DOMAIN
from .protocol import night_of, valid_camera_key

_LOGGER = logging.getLogger(__name__)

EVENTS_LIMIT = 1000  # events asked for per camera
EVENTS_TIMEOUT = 10.0
MAX_EVENTS_BYTES = 4 * 1024 * 1024
EVENT_ID = re.compile(r"[0-9a-f]{32}")
FILES = {"snapshot.jpg": "image/jpeg", "clip.mp4": "video/mp4"}


async def async_get_media_source(hass: HomeAssistant) -> MediaSource:
    hass.http.register_view(EvidenceView())
    return BabymonMediaSource(hass)


def _hubs(hass: HomeAssistant) -> dict:
    return {entry.entry_id: entry.runtime_data for entry in hass.config_entries.async_loaded_entries(DOMAIN)}


async def fetch_events(hass: HomeAssistant, hub, camera: str) -> list[dict]:
    """The daemon's stored events of ``camera`` that have a snapshot or a clip, newest first."""
    target = hub.web.target()
    if target is None:
        raise BrowseError("babymon's web address is not known yet, or needs a token in the integration's options")
    base, headers = target
    url = f"{base}/api/events"
    try:
        async with asyncio.timeout(EVENTS_TIMEOUT):
            response = await async_get_clientsession(hass).get(
                url, params={"camera": camera, "limit": str(EVENTS_LIMIT)}, headers=headers)
            body = await response.content.read(MAX_EVENTS_BYTES + 1)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise BrowseError(f"babymon's evidence at {base} cannot be read: {exc}") from None
    if response.status != 200 or len(body) > MAX_EVENTS_BYTES:
        raise BrowseError(f"babymon's evidence at {base} answered HTTP {response.status}")
    try:
        events = json.loads(body)["events"]
    except (ValueError, KeyError, TypeError):
        raise BrowseError(f"babymon's evidence at {base} is not the event list it should be") from None
    out = []
    for event in events if isinstance(events, list) else []:
        if not isinstance(event, dict) or not EVENT_ID.fullmatch(str(event.get("id", ""))):
            continue
        moment = dt_util.parse_datetime(str(event.get("time", ""))) if event.get("time") else None
        if moment is None or not (event.get("snapshot_url") or event.get("clip_url")):
            continue
        out.append({"id": event["id"], "type": str(event.get("type", "event"))[:60], "time": moment,
                    "snapshot": bool(event.get("snapshot_url")), "clip": bool(event.get("clip_url"))})
    return out


class BabymonMediaSource(MediaSource):
    name = "babymon"

    def __init__(self, hass: HomeAssistant) -> None:
        super().__init__(DOMAIN)
        self.hass = hass

    async def async_resolve_media(self, item: MediaSourceItem) -> PlayMedia:
        parts = (item.identifier or "").split("/")
        if len(parts) != 3 or parts[0] not in _hubs(self.hass) or not EVENT_ID.fullmatch(parts[1]) \
                or parts[2] not in FILES:
            raise Unresolvable(f"no babymon evidence '{item.identifier}'")
        return PlayMedia(f"/api/babymon/evidence/{parts[0]}/{parts[1]}/{parts[2]}", FILES[parts[2]])

    async def async_browse_media(self, item: MediaSourceItem) -> BrowseMediaSource:
        hubs = _hubs(self.hass)
        parts = [p for p in (item.identifier or "").split("/") if p]
        if not parts:
            cameras = [(entry_id, key) for entry_id, hub in hubs.items() for key in sorted(hub.cameras)]
            return self._folder("", "babymon", [self._folder(f"{e}/{k}", k.replace("_", " ").title(), None)
                                                for e, k in cameras])
        entry_id, camera = parts[0], parts[1] if len(parts) > 1 else ""
        hub = hubs.get(entry_id)
        if hub is None or not valid_camera_key(camera) or camera not in hub.cameras or len(parts) > 3:
            raise BrowseError(f"no babymon camera '{item.identifier}'")
        events = await fetch_events(self.hass, hub, camera)
        nights: dict[str, list[dict]] = {}
        for event in events:
            nights.setdefault(night_of(dt_util.as_local(event["time"])), []).append(event)
        if len(parts) == 2:
            return self._folder(f"{entry_id}/{camera}", camera.replace("_", " ").title(),
                                [self._folder(f"{entry_id}/{camera}/{night}", f"Night of {night}", None)
                                 for night in sorted(nights, reverse=True)])
        night = parts[2]
        children = []
        for event in nights.get(night, []):
            when = dt_util.as_local(event["time"]).strftime("%H:%M:%S")
            label = f"{when} {event['type'].replace('_', ' ')}"
            for file, kind, media_class in (("snapshot.jpg", "snapshot", MediaClass.IMAGE),
                                            ("clip.mp4", "clip", MediaClass.VIDEO)):
                if event[kind]:
                    children.append(BrowseMediaSource(
                        domain=DOMAIN, identifier=f"{entry_id}/{event['id']}/{file}", media_class=media_class,
                        media_content_type=FILES[file], title=f"{label} ({kind})", can_play=True, can_expand=False,
                        thumbnail=(f"/api/babymon/evidence/{entry_id}/{event['id']}/snapshot.jpg"
                                   if event["snapshot"] else None)))
        return self._folder(f"{entry_id}/{camera}/{night}", f"Night of {night}", children)

    @staticmethod
    def _folder(identifier: str, title: str, children: list[BrowseMediaSource] | None) -> BrowseMediaSource:
        return BrowseMediaSource(domain=DOMAIN, identifier=identifier, media_class=MediaClass.DIRECTORY,
                                 media_content_type="", title=title, can_play=False, can_expand=True,
                                 children=children, children_media_class=MediaClass.DIRECTORY)


class EvidenceView(HomeAssistantView):
    """``/api/babymon/evidence/<entry>/<event>/<file>``: an alert's snapshot or clip, fetched from the daemon
    (Home Assistant's own authentication; signed paths for the Media panel)."""

    url = "/api/babymon/evidence/{entry_id}/{event_id}/{file}"
    name = "api:babymon:evidence"
    requires_auth = True

    async def get(self, request: web.Request, entry_id: str, event_id: str, file: str) -> web.StreamResponse:
        hass: HomeAssistant = request.app["hass"]
        hub = _hubs(hass).get(entry_id)
        if hub is None or not EVENT_ID.fullmatch(event_id) or file not in FILES:
            return web.Response(status=404, text="no such babymon evidence")
        target = hub.web.target()
        if target is None:
            return web.Response(status=503, text="babymon's web address is not known (or needs a token)")
        base, headers = target
        stream = async_get_clientsession(hass).get(f"{base}/api/events/{event_id}/{file}", headers=headers)
        response = await async_aiohttp_proxy_web(hass, request, stream)
        return web.Response(status=502) if response is None else response  # None: the request was cancelled
