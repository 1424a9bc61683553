"""What the integration's own per-camera entities (snapshot image, live view) share: one entity per camera as the
hub learns of cameras, joined to the camera's MQTT-discovered device, and unavailable while the daemon or the
camera stream is down (as the discovered baby entities are)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from homeassistant.components import mqtt
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import BabymonConfigEntry
from .const import MQTT_DOMAIN
from .hub import BabymonHub

MAX_JPEG_BYTES = 8 * 1024 * 1024  # a snapshot or still from the daemon; anything longer is not shown
JPEG_START = b"\xff\xd8"


def is_jpeg(data: object) -> bool:
    """Bytes that start as a JPEG and are at most :data:`MAX_JPEG_BYTES` long."""
    return isinstance(data, bytes) and len(data) <= MAX_JPEG_BYTES and data.startswith(JPEG_START)


def async_add_per_camera(hass: HomeAssistant, entry: BabymonConfigEntry,
                         async_add_entities: AddConfigEntryEntitiesCallback,
                         make: Callable[[str], Entity]) -> None:
    """``make(camera key)`` for every camera the hub follows now and every one it learns of later."""
    hub = entry.runtime_data
    added: set[str] = set()

    @callback
    def add_new_cameras() -> None:
        new = [key for key in hub.cameras if key not in added]
        added.update(new)
        if new:
            async_add_entities(make(key) for key in new)

    add_new_cameras()
    entry.async_on_unload(async_dispatcher_connect(hass, hub.signal_new_camera, add_new_cameras))


class CameraAvailability:
    """Mixin for an entity on one babymon camera's device: ``_attr_unique_id`` ``<node>_<suffix>``, the device
    link, and ``online`` from the retained ``<prefix>/available`` and ``<prefix>/<camera>/available``."""

    hass: HomeAssistant

    def _init_camera(self, hub: BabymonHub, camera: str, suffix: str) -> None:
        self._hub = hub
        self._camera = camera
        node = hub.topics.node_id(camera)
        self._attr_unique_id = f"{node}_{suffix}"
        self._attr_device_info = DeviceInfo(identifiers={(MQTT_DOMAIN, node)})
        self._daemon_online: bool | None = None
        self._camera_online: bool | None = None

    @property
    def online(self) -> bool:
        """Neither the daemon nor the camera stream is known to be down."""
        return self._daemon_online is not False and self._camera_online is not False

    def availability_subscriptions(self) -> Iterable[tuple[str, Callable[[mqtt.ReceiveMessage], None], str]]:
        """(topic, handler, encoding) for the two availability topics."""
        topics = self._hub.topics
        return ((topics.camera(self._camera, "available"), self._on_camera_available, "utf-8"),
                (topics.available, self._on_daemon_available, "utf-8"))

    @callback
    def _on_camera_available(self, message: mqtt.ReceiveMessage) -> None:
        if message.payload in ("online", "offline"):
            self._camera_online = message.payload == "online"
            self.async_write_ha_state()

    @callback
    def _on_daemon_available(self, message: mqtt.ReceiveMessage) -> None:
        if message.payload in ("online", "offline"):
            self._daemon_online = message.payload == "online"
            self.async_write_ha_state()
