"""babymon for Home Assistant: device triggers, services, blueprints and diagnostics for a babymon daemon.

The entities come from the daemon's MQTT discovery (one device per camera); this integration attaches to those
same devices. It owns two entities per camera itself: the *Last event snapshot* image (``image.py``), because MQTT's
image takes the time Home Assistant received the picture as its state (the daemon no longer announces that one,
so none appears twice), and the *Live view* camera (``camera.py``), from the daemon's HTTP API, which MQTT
discovery cannot describe. The stored evidence is in the Media panel (``media_source.py``).
"""

from __future__ import annotations

from homeassistant.components import mqtt
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.typing import ConfigType

from .blueprints import async_install_blueprints
from .const import DOMAIN
from .hub import BabymonHub
from .services import async_register_services

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)
PLATFORMS = [Platform.CAMERA, Platform.IMAGE]

type BabymonConfigEntry = ConfigEntry[BabymonHub]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    async_register_services(hass)
    await async_install_blueprints(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: BabymonConfigEntry) -> bool:
    if not await mqtt.async_wait_for_mqtt_client(hass):
        raise ConfigEntryNotReady("the MQTT integration is not connected")
    hub = BabymonHub(hass, entry)
    entry.runtime_data = hub
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    await hub.async_start()
    entry.async_on_unload(entry.add_update_listener(_options_changed))
    return True


async def _options_changed(hass: HomeAssistant, entry: BabymonConfigEntry) -> None:
    """A new web address or token: the live cameras say again whether they can show anything."""
    entry.runtime_data.web.changed()


async def async_unload_entry(hass: HomeAssistant, entry: BabymonConfigEntry) -> bool:
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    entry.runtime_data.async_stop()
    return unloaded
