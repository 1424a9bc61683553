"""Where the daemon's HTTP API answers, and with what token (for the live camera and the media source).

The daemon announces its address on ``<prefix>/web`` (retained ``{"url", "token"}``, never the token itself).
Anyone who may publish on the broker could announce another address, so the token (set in the integration's
options together with the address it belongs to) is sent only to that address. A daemon that needs a token whose
address and token are not in the options gives no target, and the log says so once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from homeassistant.components import mqtt
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback

from .const import CONF_HTTP_TOKEN, CONF_WEB_URL
from .protocol import WebAddress, web_address

_LOGGER = logging.getLogger(__name__)


class WebSource:
    """The daemon's announced address and the options' address and token: where to ask, and with what."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry) -> None:
        self.hass = hass
        self.entry = entry
        self.announced: WebAddress | None = None
        self.listeners: list[Callable[[], None]] = []
        self._warned = False

    @callback
    def on_message(self, message: mqtt.ReceiveMessage) -> None:
        address = web_address(message.payload)
        if address is None:
            _LOGGER.debug("ignored %r on %s: not {\"url\": \"http://host:port\", \"token\": bool}",
                          str(message.payload)[:100], message.topic)
            return
        self.announced = address
        self._warned = False
        self.changed()

    @callback
    def changed(self) -> None:
        for listener in self.listeners:
            listener()

    def target(self) -> tuple[str, dict[str, str]] | None:
        """(base URL, headers) to ask, or None when there is no usable address."""
        options = self.entry.options
        configured, token = options.get(CONF_WEB_URL), options.get(CONF_HTTP_TOKEN)
        if configured:
            return configured.rstrip("/"), ({"Authorization": f"Bearer {token}"} if token else {})
        if self.announced is None:
            return None
        if self.announced.token_required:
            if not self._warned:
                self._warned = True
                _LOGGER.warning("babymon's web page at %s needs a token: set its address and token in the "
                                "integration's options to see the live view", self.announced.url)
            return None
        return self.announced.url, {}
