"""Actions: ``babymon.snooze`` (silence a camera's alerts for a while) and ``babymon.resume``.

Both publish the daemon's command topics: ``<prefix>/<camera>/snooze/set`` with the seconds (``OFF``
cancels) and ``<prefix>/<camera>/enabled/set`` with ``ON``.
"""

from __future__ import annotations

from datetime import timedelta

import voluptuous as vol

from homeassistant.components import mqtt
from homeassistant.const import ATTR_DEVICE_ID
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv

from .const import ATTR_DURATION, CONF_SNOOZE_MINUTES, DEFAULT_SNOOZE_MINUTES, DOMAIN, SERVICE_RESUME, SERVICE_SNOOZE
from .hub import BabymonHub
from .protocol import MAX_SNOOZE_SECONDS, Topics, snooze_payload

DEVICES = vol.All(cv.ensure_list, [cv.string])
SNOOZE_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_DEVICE_ID): DEVICES,
        vol.Optional(ATTR_DURATION): vol.All(
            cv.positive_time_period, vol.Range(min=timedelta(seconds=1), max=timedelta(seconds=MAX_SNOOZE_SECONDS))
        ),
    }
)
RESUME_SCHEMA = vol.Schema({vol.Required(ATTR_DEVICE_ID): DEVICES})


def _targets(hass: HomeAssistant, call: ServiceCall) -> list[tuple[BabymonHub, str]]:
    """(hub, camera) for every device in the call; refuses devices that are not babymon cameras."""
    hubs: list[BabymonHub] = [entry.runtime_data for entry in hass.config_entries.async_loaded_entries(DOMAIN)]
    targets = []
    for device_id in call.data[ATTR_DEVICE_ID]:
        found = next(((hub, cam) for hub in hubs if (cam := hub.camera_for_device(device_id))), None)
        if found is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key="not_a_camera", translation_placeholders={"device_id": device_id}
            )
        targets.append(found)
    return targets


async def _publish(hass: HomeAssistant, topics: Topics, camera: str, field: str, payload: str) -> None:
    await mqtt.async_publish(hass, topics.camera(camera, f"{field}/set"), payload, qos=1, retain=False)


async def _snooze(call: ServiceCall) -> None:
    hass = call.hass
    for hub, camera in _targets(hass, call):
        duration: timedelta | None = call.data.get(ATTR_DURATION)
        if duration is None:
            duration = timedelta(minutes=hub.entry.options.get(CONF_SNOOZE_MINUTES, DEFAULT_SNOOZE_MINUTES))
        await _publish(hass, hub.topics, camera, "snooze", snooze_payload(duration.total_seconds()))


async def _resume(call: ServiceCall) -> None:
    hass = call.hass
    for hub, camera in _targets(hass, call):
        await _publish(hass, hub.topics, camera, "snooze", snooze_payload(0))
        await _publish(hass, hub.topics, camera, "enabled", "ON")


def async_register_services(hass: HomeAssistant) -> None:
    hass.services.async_register(DOMAIN, SERVICE_SNOOZE, _snooze, schema=SNOOZE_SCHEMA)
    hass.services.async_register(DOMAIN, SERVICE_RESUME, _resume, schema=RESUME_SCHEMA)
