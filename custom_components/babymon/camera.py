"""Each camera's *Live view*: the daemon's annotated live picture (baby and face boxes, face state, posture, the
cry meter) as a Home Assistant camera, with a still image and the MJPEG stream.

Owned by the integration, like the snapshot image: MQTT discovery has no camera that streams. The daemon
announces where its HTTP API answers on ``<prefix>/web`` (retained ``{"url", "token"}``); the integration fetches
``/api/cameras/<camera>/snapshot.jpg`` and proxies ``/api/cameras/<camera>/stream.mjpeg`` from there.

Where to ask and with what token is :class:`.web.WebSource`'s business (the token goes only to the address
the user confirmed).
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
from aiohttp import web

from homeassistant.components import mqtt
from homeassistant.components.camera import Camera
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_aiohttp_proxy_web, async_get_clientsession
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import BabymonConfigEntry
from .camera_entity import MAX_JPEG_BYTES, CameraAvailability, async_add_per_camera, is_jpeg
from .hub import BabymonHub
from .web import WebSource

_LOGGER = logging.getLogger(__name__)

PARALLEL_UPDATES = 0  # nothing is polled: stills are fetched when asked for
STILL_TIMEOUT = 10.0  # seconds for one still image


async def async_setup_entry(hass: HomeAssistant, entry: BabymonConfigEntry,
                            async_add_entities: AddConfigEntryEntitiesCallback) -> None:
    hub = entry.runtime_data
    async_add_per_camera(hass, entry, async_add_entities, lambda key: LiveCamera(hub, hub.web, key))


class LiveCamera(CameraAvailability, Camera):
    _attr_has_entity_name = True
    _attr_translation_key = "live"

    def __init__(self, hub: BabymonHub, web: WebSource, camera: str) -> None:
        super().__init__()
        self._init_camera(hub, camera, "live")
        self._web = web

    @property
    def available(self) -> bool:
        return self.online and self._web.target() is not None

    @property
    def is_streaming(self) -> bool:
        return self.available

    async def async_added_to_hass(self) -> None:
        for topic, handler, encoding in self.availability_subscriptions():
            self.async_on_remove(await mqtt.async_subscribe(self.hass, topic, handler, qos=1, encoding=encoding))
        self._web.listeners.append(self.async_write_ha_state)
        self.async_on_remove(lambda: self._web.listeners.remove(self.async_write_ha_state))

    def _url(self, what: str) -> tuple[str, dict[str, str]] | None:
        target = self._web.target()
        if target is None:
            return None
        base, headers = target
        return f"{base}/api/cameras/{self._camera}/{what}", headers

    async def async_camera_image(self, width: int | None = None, height: int | None = None) -> bytes | None:
        found = self._url("snapshot.jpg")
        if found is None:
            return None
        url, headers = found
        try:
            async with asyncio.timeout(STILL_TIMEOUT):
                response = await async_get_clientsession(self.hass).get(url, headers=headers)
                body = await response.content.read(MAX_JPEG_BYTES + 1)
        except (aiohttp.ClientError, TimeoutError) as exc:
            _LOGGER.debug("no live picture from %s: %s", url, exc)
            return None
        if response.status != 200 or not is_jpeg(body):
            _LOGGER.debug("no live picture from %s: HTTP %s, %d bytes", url, response.status, len(body))
            return None
        return body

    async def handle_async_mjpeg_stream(self, request: web.Request) -> web.StreamResponse | None:
        found = self._url("stream.mjpeg")
        if found is None:
            return None
        url, headers = found
        stream = async_get_clientsession(self.hass).get(url, headers=headers)
        return await async_aiohttp_proxy_web(self.hass, request, stream)
