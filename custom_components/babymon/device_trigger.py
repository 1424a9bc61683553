"""Device triggers on a babymon camera: face covered, prone, standing, crying, danger, monitor unavailable, alert."""

from __future__ import annotations

import voluptuous as vol

from homeassistant.components.device_automation import DEVICE_TRIGGER_BASE_SCHEMA
from homeassistant.components.homeassistant.triggers import event as event_trigger
from homeassistant.const import CONF_DEVICE_ID, CONF_DOMAIN, CONF_PLATFORM, CONF_TYPE
from homeassistant.core import CALLBACK_TYPE, HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.trigger import TriggerActionType, TriggerInfo
from homeassistant.helpers.typing import ConfigType

from .const import DOMAIN, EVENT_BABYMON, EVENT_BABYMON_ALERT
from .protocol import ALERT_TRIGGER, TRIGGER_EVENT_TYPES, TRIGGER_TYPES

TRIGGER_SCHEMA = DEVICE_TRIGGER_BASE_SCHEMA.extend({vol.Required(CONF_TYPE): vol.In(TRIGGER_TYPES)})


def _is_babymon_device(hass: HomeAssistant, device_id: str) -> bool:
    device = dr.async_get(hass).async_get(device_id)
    if device is None:
        return False
    return any(entry.domain == DOMAIN for entry in
               (hass.config_entries.async_get_entry(entry_id) for entry_id in device.config_entries) if entry)


async def async_get_triggers(hass: HomeAssistant, device_id: str) -> list[dict[str, str]]:
    if not _is_babymon_device(hass, device_id):
        return []
    return [
        {CONF_PLATFORM: "device", CONF_DOMAIN: DOMAIN, CONF_DEVICE_ID: device_id, CONF_TYPE: trigger_type}
        for trigger_type in TRIGGER_TYPES
    ]


async def async_attach_trigger(
    hass: HomeAssistant, config: ConfigType, action: TriggerActionType, trigger_info: TriggerInfo
) -> CALLBACK_TYPE:
    trigger_type = config[CONF_TYPE]
    if trigger_type == ALERT_TRIGGER:
        event_type, event_data = EVENT_BABYMON_ALERT, {CONF_DEVICE_ID: config[CONF_DEVICE_ID]}
    else:
        event_type = EVENT_BABYMON
        event_data = {CONF_DEVICE_ID: config[CONF_DEVICE_ID], CONF_TYPE: TRIGGER_EVENT_TYPES[trigger_type]}
    event_config = event_trigger.TRIGGER_SCHEMA(
        {
            event_trigger.CONF_PLATFORM: "event",
            event_trigger.CONF_EVENT_TYPE: event_type,
            event_trigger.CONF_EVENT_DATA: event_data,
        }
    )
    return await event_trigger.async_attach_trigger(hass, event_config, action, trigger_info, platform_type="device")
