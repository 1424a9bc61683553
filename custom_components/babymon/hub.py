"""Follows one babymon daemon over MQTT and links its cameras to the devices its discovery created.

The daemon's MQTT discovery owns every entity but the snapshot image (``image.py``). This hub only:

* learns the cameras (from the retained ``<prefix>/_announced`` registry and ``<prefix>/<camera>/state``),
* adds this config entry to each camera's device (identifiers ``("mqtt", "<prefix>_<camera>")``) so the
  device triggers and services below show up on that same device, and removes it again on unload,
* turns ``<prefix>/<camera>/events`` into ``babymon_event`` bus events (which the device triggers listen
  to) and, for the conditions chosen in the options, ``babymon_alert``,
* reports the daemon going offline as *monitor unavailable* and *danger* on every camera (and their end when it
  comes back).

Anyone who may publish on the broker may publish on these topics: every payload goes through the checks in
``protocol`` (bounded size and depth, the daemon's camera keys, typed event fields, a plausible snooze), and
at most ``MAX_CAMERAS`` cameras are followed, those the daemon announced first.
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
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.util import dt as dt_util

from .const import (
    CONF_ALERT_CONDITIONS,
    CONF_TOPIC_PREFIX,
    DEFAULT_ALERT_CONDITIONS,
    EVENT_BABYMON,
    EVENT_BABYMON_ALERT,
    MQTT_DOMAIN,
)
from .protocol import (
    CONDITION_STARTS,
    MAX_CAMERAS,
    UNSNOOZABLE_CONDITIONS,
    Topics,
    announced_cameras,
    event_fields,
    event_type,
    media_browser_path,
    night_of,
    parse_json_object,
    snooze_active,
    valid_camera_key,
)
from .web import WebSource

_LOGGER = logging.getLogger(__name__)


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
    web: WebSource = field(init=False)  # where the daemon's HTTP API answers (live camera, media source)
    cameras: dict[str, Camera] = field(default_factory=dict)
    daemon_online: bool | None = None
    announced: list[str] = field(default_factory=list)
    _unsubscribe: list[CALLBACK_TYPE] = field(default_factory=list)
    _seen_ids: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=200))
    _warned_full: bool = False
    _offline_danger: set[str] = field(default_factory=set)  # cameras whose danger this hub raised for an offline daemon

    def __post_init__(self) -> None:
        self.topics = Topics(self.entry.data[CONF_TOPIC_PREFIX])
        self.web = WebSource(self.hass, self.entry)

    @property
    def signal_new_camera(self) -> str:
        """Sent on the dispatcher when this hub starts following a camera (the image platform adds its entity)."""
        return f"babymon_new_camera_{self.entry.entry_id}"

    # ------------------------------------------------------------------------------ lifecycle

    async def async_start(self) -> None:
        subscriptions = (
            (self.topics.available, self._on_available),
            (self.topics.registry, self._on_registry),
            (self.topics.web, self.web.on_message),
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
        for camera in self.cameras.values():
            self._unlink_device(camera)

    # ------------------------------------------------------------------------------ lookups

    def camera_for_device(self, device_id: str) -> str | None:
        return next((c.key for c in self.cameras.values() if c.device_id == device_id), None)

    @property
    def alert_conditions(self) -> list[str]:
        return list(self.entry.options.get(CONF_ALERT_CONDITIONS, DEFAULT_ALERT_CONDITIONS))

    # ------------------------------------------------------------------------------ cameras and devices

    @callback
    def _camera(self, key: str) -> Camera | None:
        """The camera ``key``, followed from now on if there is room; None for a key the daemon would refuse,
        or when ``MAX_CAMERAS`` are followed already and none of them can make way (see ``_make_room``)."""
        if not valid_camera_key(key):
            return None
        camera = self.cameras.get(key)
        if camera is None:
            if len(self.cameras) >= MAX_CAMERAS and not self._make_room(key):
                if not self._warned_full:
                    self._warned_full = True
                    _LOGGER.warning(
                        "babymon at %s: more than %d cameras publish; ignoring %s and any further ones (is "
                        "someone else publishing on the broker?)", self.topics.prefix, MAX_CAMERAS, key)
                return None
            camera = self.cameras[key] = Camera(key)
            async_dispatcher_send(self.hass, self.signal_new_camera)
        if camera.device_id is None:
            self._link_device(camera)
        return camera

    @callback
    def _make_room(self, key: str) -> bool:
        """Room for an announced camera: forget the oldest camera that the daemon did not announce."""
        if key not in self.announced:
            return False
        victim = next((c for c in self.cameras.values() if c.key not in self.announced), None)
        if victim is None:
            return False
        self._unlink_device(victim)
        del self.cameras[victim.key]
        return True

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
    def _unlink_device(self, camera: Camera) -> None:
        registry = dr.async_get(self.hass)
        device = registry.async_get(camera.device_id) if camera.device_id else None
        if device is not None and self.entry.entry_id in device.config_entries:
            registry.async_update_device(device.id, remove_config_entry_id=self.entry.entry_id)
        camera.device_id = None

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
        # The daemon publishes exactly "online" and "offline" (its last will). Anything else is not from it, or
        # a cleared retained topic (empty): it says nothing about the daemon, so the last known state stands.
        # Taking it for "offline" would let any client on the broker raise "monitor unavailable" alerts on
        # every camera at will (and a real outage still arrives, as the broker publishes the daemon's will).
        if message.payload == "online":
            online = True
        elif message.payload == "offline":
            online = False
        else:
            _LOGGER.debug("ignored %r on %s: neither online nor offline", message.payload[:100], message.topic)
            return
        was_online, self.daemon_online = self.daemon_online, online
        if was_online and not online:
            # The daemon cannot say so itself: raise what it would have raised for a camera that stopped
            # watching, so automations on "danger" hear it too, not only those on "monitor unavailable".
            _LOGGER.warning("babymon daemon at %s went offline: no camera is being watched", self.topics.available)
            for camera in self.cameras.values():
                self._fire(camera, "monitor_unavailable_started",
                           {"reasons": ["daemon_offline"], "condition": "monitor_unavailable"})
                if (camera.state or {}).get("danger") is not True:
                    self._fire(camera, "danger_started", {"reasons": ["monitor_unavailable"], "condition": None})
                    self._offline_danger.add(camera.key)
        elif was_online is False and online:
            _LOGGER.info("babymon daemon at %s is back online", self.topics.available)
            for camera in self.cameras.values():
                self._fire(camera, "monitor_unavailable_cleared",
                           {"reasons": ["daemon_online"], "condition": "monitor_unavailable"})
                if camera.key in self._offline_danger:
                    self._fire(camera, "danger_cleared", {"reasons": [], "condition": None})
            self._offline_danger.clear()

    @callback
    def _on_registry(self, message: mqtt.ReceiveMessage) -> None:
        announced = announced_cameras(message.payload)
        if announced is None:
            _LOGGER.debug("ignored a camera registry on %s that is not {\"cameras\": {...}}", message.topic)
            return
        if len(announced) > MAX_CAMERAS:
            _LOGGER.warning("babymon at %s announces %d cameras; following the first %d",
                            self.topics.prefix, len(announced), MAX_CAMERAS)
            announced = announced[:MAX_CAMERAS]
        self.announced = announced
        for key in self.announced:
            self._camera(key)

    @callback
    def _on_state(self, message: mqtt.ReceiveMessage) -> None:
        key = self.topics.camera_of(message.topic)
        if key is None:
            return
        state = parse_json_object(message.payload)
        if state is None:
            _LOGGER.debug("ignored a babymon state on %s that is not a JSON object (of bounded size)", message.topic)
            return
        if (camera := self._camera(key)) is not None:
            camera.state = state

    @callback
    def _on_event(self, message: mqtt.ReceiveMessage) -> None:
        key = self.topics.camera_of(message.topic)
        event = parse_json_object(message.payload) if key is not None else None
        kind = event_type(event) if event else None
        if key is None or event is None or kind is None:
            _LOGGER.warning("ignored a babymon event on %s that is not JSON with a known 'type'", message.topic[:200])
            return
        details = event_fields(event)  # each of the type the daemon sends, or None
        event_id = details["id"]
        if event_id is not None and event_id in self._seen_ids:
            return  # QoS 1 may deliver an event twice; the daemon gives each an id for this
        camera = self._camera(key)
        if camera is None:
            return
        if event_id is not None:
            self._seen_ids.append(event_id)
        camera.last_event = {"type": kind, **details}
        self._fire(camera, kind, details)

    @callback
    def _fire(self, camera: Camera, kind: str, details: dict[str, Any]) -> None:
        data = {"device_id": camera.device_id, "camera": camera.key, "type": kind, **details}
        self.hass.bus.async_fire(EVENT_BABYMON, data)
        condition = CONDITION_STARTS.get(kind)
        if condition not in self.alert_conditions:
            return
        if condition in UNSNOOZABLE_CONDITIONS or not self._snoozed(camera):
            # the condition alerted on follows from the type, whatever the payload's "condition" said
            self.hass.bus.async_fire(EVENT_BABYMON_ALERT, data | {"condition": condition,
                                                                   "evidence_url": self._evidence_url(camera, data)})

    def _evidence_url(self, camera: Camera, data: dict[str, Any]) -> str:
        """Where the alert's snapshot and clip will be in the Media panel: that camera's night of the alert."""
        moment = dt_util.parse_datetime(data["time"]) if data.get("time") else None
        night = night_of(dt_util.as_local(moment if moment is not None else dt_util.utcnow()))
        return media_browser_path(self.entry.entry_id, camera.key, night)

    @staticmethod
    def _snoozed(camera: Camera) -> bool:
        """A snooze from the camera's state, if the daemon could have set it (at most 24 h ahead)."""
        return snooze_active((camera.state or {}).get("snoozed_until"), dt_util.utcnow())
