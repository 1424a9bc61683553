"""Each camera's *Last event snapshot*: the annotated picture the daemon took at its last alert.

This one entity belongs to the integration, not to MQTT discovery. Home Assistant's MQTT image takes the time it
received the picture as its state, so a retained snapshot got a new state at every restart of Home Assistant.
Here the state is the time the daemon took it (retained on ``<prefix>/<camera>/snapshot_time``). The entity
joins the camera's device, is unavailable while the daemon or the camera stream is down (as the baby entities
are), and accepts only a bounded JPEG: anyone who may publish on the broker may publish on these topics.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from homeassistant.components import mqtt
from homeassistant.components.image import ImageEntity
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from . import BabymonConfigEntry
from .camera_entity import MAX_JPEG_BYTES, CameraAvailability, async_add_per_camera, is_jpeg
from .hub import BabymonHub
from .protocol import aware_time

_LOGGER = logging.getLogger(__name__)

PARALLEL_UPDATES = 0  # pushed over MQTT, nothing is polled
MAX_FUTURE = timedelta(minutes=5)  # clocks differ a little; a snapshot from the future beyond this is not believed


def snapshot_time(payload: object, now: datetime) -> datetime | None:
    """The daemon's ``snapshot_time`` (ISO 8601 with a time zone, at most a few minutes ahead of ``now``), or None."""
    parsed = aware_time(payload)
    return None if parsed is None or parsed > now + MAX_FUTURE else parsed


async def async_setup_entry(hass: HomeAssistant, entry: BabymonConfigEntry,
                            async_add_entities: AddConfigEntryEntitiesCallback) -> None:
    hub = entry.runtime_data
    async_add_per_camera(hass, entry, async_add_entities, lambda key: SnapshotImage(hass, hub, key))


class SnapshotImage(CameraAvailability, ImageEntity):
    _attr_has_entity_name = True
    _attr_translation_key = "snapshot"
    _attr_content_type = "image/jpeg"

    def __init__(self, hass: HomeAssistant, hub: BabymonHub, camera: str) -> None:
        super().__init__(hass)
        self._init_camera(hub, camera, "snapshot")
        self._jpeg: bytes | None = None
        self._taken: datetime | None = None

    @property
    def available(self) -> bool:
        return self.online

    async def async_added_to_hass(self) -> None:
        topics = self._hub.topics
        subscriptions = (
            (topics.camera(self._camera, "snapshot"), self._on_snapshot, None),
            (topics.camera(self._camera, "snapshot_time"), self._on_time, "utf-8"),
            *self.availability_subscriptions(),
        )
        for topic, handler, encoding in subscriptions:
            self.async_on_remove(await mqtt.async_subscribe(self.hass, topic, handler, qos=1, encoding=encoding))

    async def async_image(self) -> bytes | None:
        return self._jpeg

    @callback
    def _on_snapshot(self, message: mqtt.ReceiveMessage) -> None:
        payload = message.payload
        if not is_jpeg(payload):
            _LOGGER.debug("ignored a snapshot on %s that is not a JPEG of at most %d bytes", message.topic,
                          MAX_JPEG_BYTES)
            return
        self._jpeg = payload
        self._cached_image = None
        # an older daemon sends no time: then the time it arrived is the best there is
        self._attr_image_last_updated = self._taken or dt_util.utcnow()
        self.async_write_ha_state()

    @callback
    def _on_time(self, message: mqtt.ReceiveMessage) -> None:
        taken = snapshot_time(message.payload, dt_util.utcnow())
        if taken is None:
            _LOGGER.debug("ignored a snapshot time on %s: %r", message.topic, str(message.payload)[:64])
            return
        self._taken = taken
        if self._jpeg is not None:
            self._attr_image_last_updated = taken
            self.async_write_ha_state()
