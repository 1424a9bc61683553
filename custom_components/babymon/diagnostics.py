"""Diagnostics download: what the integration knows about the daemon, with anything sensitive redacted."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant

from .hub import BabymonHub

# camera names and errors can carry addresses, user names or passwords (an RTSP URL in an error message)
TO_REDACT = {"url", "username", "password", "last_error", "host", "name", "title"}


async def async_get_config_entry_diagnostics(hass: HomeAssistant, entry: ConfigEntry[BabymonHub]) -> dict[str, Any]:
    hub = entry.runtime_data
    return async_redact_data(
        {
            "entry": {"title": entry.title, "data": dict(entry.data), "options": dict(entry.options)},
            "daemon_online": hub.daemon_online,
            "announced_cameras": hub.announced,
            "cameras": {
                key: {"device_id": camera.device_id, "state": camera.state, "last_event": camera.last_event}
                for key, camera in hub.cameras.items()
            },
        },
        TO_REDACT,
    )
