"""Follows one babymon daemon over MQTT and links its cameras to the devices its discovery created.

The daemon's MQTT discovery owns every entity (see README, "Home Assistant"). This hub only:

* learns the cameras (from the retained ``<prefix>/_announced`` registry and ``<prefix>/<camera>/state``),
* adds this config entry to each camera's device (identifiers ``("mqtt", "<prefix>_<camera>")``) so the
  device triggers and services below show up on that same device, and removes it again on unload,
* turns ``<prefix>/<camera>/events`` into ``babymon_event`` bus events (which the device triggers listen
  to) and, for the conditions chosen in the options, ``babymon_alert``,
* reports the daemon going offline as *monitor unavailable* on every camera.
"""

from __future__ import annotations

import collections
import logging
from dataclasses import dataclass, field
from typing import Any

from homeassistant.components import mqtt
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.util import dt as dt_util

from .const import (
    CONF_ALERT_CONDITIONS,
    CONF_TOPIC_PREFIX,
    DEFAULT_ALERT_CONDITIONS,
    EVENT_BABYMON,
    EVENT_BABYMON_ALERT,
    MQTT_DOMAIN,
)
from .protocol import CONDITION_STARTS, Topics, announced_cameras, event_type, parse_json_object

_LOGGER = logging.getLogger(__name__)

# bus event data copied from the daemon's event JSON
EVENT_FIELDS = ("id", "name", "condition", "reasons", "time", "face", "posture", "cry_probability")


@dataclass
class Camera:
    key: str
    device_id: str | None = None
    state: dict[str, Any] | None = None
    last_event: dict[str, Any] | None = None


@dataclass
class BabymonHub:
    hass: HomeAssistant
    entry: ConfigEntry
    topics: Topics = field(init=False)
    cameras: dict[str, Camera] = field(default_factory=dict)
    daemon_online: bool | None = None
    announced: list[str] = field(default_factory=list)
    _unsubscribe: list[CALLBACK_TYPE] = field(default_factory=list)
    _seen_ids: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=200))

    def __post_init__(self) -> None:
        self.topics = Topics(self.entry.data[CONF_TOPIC_PREFIX])

    # ------------------------------------------------------------------------------ lifecycle

    async def async_start(self) -> None:
        subscriptions = (
            (self.topics.available, self._on_available),
            (self.topics.registry, self._on_registry),
            (self.topics.camera_filter("state"), self._on_state),
            (self.topics.camera_filter("events"), self._on_event),
        )
        for topic, handler in subscriptions:
            self._unsubscribe.append(await mqtt.async_subscribe(self.hass, topic, handler, qos=1))
        self._unsubscribe.append(
            self.hass.bus.async_listen(dr.EVENT_DEVICE_REGISTRY_UPDATED, self._on_device_registry_updated)
        )

    @callback
    def async_stop(self) -> None:
        """Unsubscribe everything and take this entry off the devices it joined."""
        while self._unsubscribe:
            self._unsubscribe.pop()()
        registry = dr.async_get(self.hass)
        for camera in self.cameras.values():
            device = registry.async_get(camera.device_id) if camera.device_id else None
            if device is not None and self.entry.entry_id in device.config_entries:
                registry.async_update_device(device.id, remove_config_entry_id=self.entry.entry_id)
            camera.device_id = None

    # ------------------------------------------------------------------------------ lookups

    def camera_for_device(self, device_id: str) -> str | None:
        return next((c.key for c in self.cameras.values() if c.device_id == device_id), None)

    @property
    def alert_conditions(self) -> list[str]:
        return list(self.entry.options.get(CONF_ALERT_CONDITIONS, DEFAULT_ALERT_CONDITIONS))

    # ------------------------------------------------------------------------------ cameras and devices

    @callback
    def _camera(self, key: str) -> Camera:
        camera = self.cameras.get(key)
        if camera is None:
            camera = self.cameras[key] = Camera(key)
        if camera.device_id is None:
            self._link_device(camera)
        return camera

    @callback
    def _link_device(self, camera: Camera) -> None:
        registry = dr.async_get(self.hass)
        device = registry.async_get_device(identifiers={(MQTT_DOMAIN, self.topics.node_id(camera.key))})
        if device is None:
            return  # the discovery config has not been processed yet; _on_device_registry_updated links it
        camera.device_id = device.id
        if self.entry.entry_id not in device.config_entries:
            registry.async_update_device(device.id, add_config_entry_id=self.entry.entry_id)

    @callback
    def _on_device_registry_updated(self, event: Event[dr.EventDeviceRegistryUpdatedData]) -> None:
        if event.data["action"] == "remove":
            for camera in self.cameras.values():
                if camera.device_id == event.data["device_id"]:
                    camera.device_id = None
            return
        for camera in self.cameras.values():
            if camera.device_id is None:
                self._link_device(camera)

    # ------------------------------------------------------------------------------ MQTT handlers

    @callback
    def _on_available(self, message: mqtt.ReceiveMessage) -> None:
        online = message.payload == "online"
        was_online, self.daemon_online = self.daemon_online, online
        if was_online and not online:
            _LOGGER.warning("babymon daemon at %s went offline", self.topics.available)
            for camera in self.cameras.values():
                self._fire(camera, "monitor_unavailable_started",
                           {"reasons": ["daemon_offline"], "condition": "monitor_unavailable"})

    @callback
    def _on_registry(self, message: mqtt.ReceiveMessage) -> None:
        self.announced = announced_cameras(message.payload)
        for key in self.announced:
            self._camera(key)

    @callback
    def _on_state(self, message: mqtt.ReceiveMessage) -> None:
        key = self.topics.camera_of(message.topic)
        state = parse_json_object(message.payload)
        if key is None or state is None:
            return
        self._camera(key).state = state

    @callback
    def _on_event(self, message: mqtt.ReceiveMessage) -> None:
        key = self.topics.camera_of(message.topic)
        event = parse_json_object(message.payload)
        kind = event_type(event) if event else None
        if key is None or event is None or kind is None:
            _LOGGER.warning("ignored a babymon event on %s that is not JSON with a 'type'", message.topic)
            return
        event_id = event.get("id")
        if isinstance(event_id, str):
            if event_id in self._seen_ids:
                return  # QoS 1 may deliver an event twice; the daemon gives each an id for this
            self._seen_ids.append(event_id)
        camera = self._camera(key)
        camera.last_event = event
        self._fire(camera, kind, {k: event.get(k) for k in EVENT_FIELDS})

    @callback
    def _fire(self, camera: Camera, kind: str, details: dict[str, Any]) -> None:
        data = {"device_id": camera.device_id, "camera": camera.key, "type": kind, **details}
        self.hass.bus.async_fire(EVENT_BABYMON, data)
        condition = CONDITION_STARTS.get(kind)
        if condition in self.alert_conditions and not self._snoozed(camera):
            self.hass.bus.async_fire(EVENT_BABYMON_ALERT, data)

    @staticmethod
    def _snoozed(camera: Camera) -> bool:
        until = (camera.state or {}).get("snoozed_until")  # ISO 8601 or None
        parsed = dt_util.parse_datetime(until) if isinstance(until, str) else None
        return parsed is not None and parsed > dt_util.utcnow()
