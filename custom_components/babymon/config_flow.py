"""Set up babymon: found from MQTT when a daemon announces itself online, or added by hand."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import voluptuous as vol

from homeassistant.components import mqtt
from homeassistant.config_entries import ConfigEntry, ConfigFlow, ConfigFlowResult, OptionsFlow
from homeassistant.core import callback
from homeassistant.helpers import selector
from homeassistant.helpers.service_info.mqtt import MqttServiceInfo

from . import const
from .const import (
    ALERT_CONDITIONS,
    CONF_ALERT_CONDITIONS,
    CONF_HTTP_TOKEN,
    CONF_SNOOZE_MINUTES,
    CONF_TOPIC_PREFIX,
    CONF_WEB_URL,
    DEFAULT_ALERT_CONDITIONS,
    DEFAULT_SNOOZE_MINUTES,
    DOMAIN,
)
from .protocol import Topics, prefix_from_available_topic, web_address


def _clean_prefix(value: str) -> str | None:
    prefix = value.strip().strip("/")
    if not prefix or any(c in prefix for c in "#+") or len(prefix) > 100:
        return None
    return prefix


class BabymonConfigFlow(ConfigFlow, domain=DOMAIN):
    VERSION = 1

    _prefix: str = const.DEFAULT_TOPIC_PREFIX

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> OptionsFlow:
        return BabymonOptionsFlow()

    async def async_step_mqtt(self, discovery_info: MqttServiceInfo) -> ConfigFlowResult:
        """``<prefix>/available`` was seen (the manifest's ``mqtt`` topics)."""
        prefix = prefix_from_available_topic(discovery_info.topic)
        if prefix is None:
            return self.async_abort(reason="invalid_discovery_info")
        if discovery_info.payload != "online":
            return self.async_abort(reason="not_online")
        await self.async_set_unique_id(prefix)
        self._abort_if_unique_id_configured()
        self._prefix = prefix
        self.context["title_placeholders"] = {"prefix": prefix}
        return await self.async_step_confirm()

    async def async_step_confirm(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        if user_input is not None:
            return self._create(self._prefix)
        self._set_confirm_only()
        return self.async_show_form(step_id="confirm", description_placeholders={"prefix": self._prefix})

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None:
            prefix = _clean_prefix(user_input[CONF_TOPIC_PREFIX])
            if prefix is None:
                errors[CONF_TOPIC_PREFIX] = "invalid_prefix"
            else:
                await self.async_set_unique_id(prefix)
                self._abort_if_unique_id_configured()
                if not await mqtt.async_wait_for_mqtt_client(self.hass):
                    return self.async_abort(reason="mqtt_not_connected")
                if await self._daemon_online(prefix):
                    return self._create(prefix)
                errors["base"] = "cannot_connect"
        schema = vol.Schema({vol.Required(CONF_TOPIC_PREFIX, default=const.DEFAULT_TOPIC_PREFIX): str})
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(schema, user_input),
            errors=errors,
            description_placeholders={"timeout": f"{const.AVAILABILITY_TIMEOUT:.0f}"},
        )

    async def _daemon_online(self, prefix: str) -> bool:
        """Wait for the daemon's retained ``<prefix>/available`` to say ``online``."""
        online = asyncio.Event()

        @callback
        def on_message(message: mqtt.ReceiveMessage) -> None:
            if message.payload == "online":
                online.set()

        unsubscribe = await mqtt.async_subscribe(self.hass, Topics(prefix).available, on_message)
        try:
            async with asyncio.timeout(const.AVAILABILITY_TIMEOUT):
                await online.wait()
        except TimeoutError:
            return False
        finally:
            unsubscribe()
        return True

    def _create(self, prefix: str) -> ConfigFlowResult:
        return self.async_create_entry(
            title=f"babymon ({prefix})",
            data={CONF_TOPIC_PREFIX: prefix},
            options={CONF_SNOOZE_MINUTES: DEFAULT_SNOOZE_MINUTES, CONF_ALERT_CONDITIONS: DEFAULT_ALERT_CONDITIONS},
        )


class BabymonOptionsFlow(OptionsFlow):
    """Snooze length of the ``babymon.snooze`` action, which conditions raise the *alert* trigger, and the daemon's
    web address and token for the live camera (needed only when the daemon asks for a token)."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        options = self.config_entry.options
        schema = vol.Schema(
            {
                vol.Required(
                    CONF_SNOOZE_MINUTES, default=options.get(CONF_SNOOZE_MINUTES, DEFAULT_SNOOZE_MINUTES)
                ): selector.NumberSelector(
                    selector.NumberSelectorConfig(min=1, max=24 * 60, step=1, unit_of_measurement="min",
                                                  mode=selector.NumberSelectorMode.BOX)
                ),
                vol.Required(
                    CONF_ALERT_CONDITIONS, default=options.get(CONF_ALERT_CONDITIONS, DEFAULT_ALERT_CONDITIONS)
                ): selector.SelectSelector(
                    selector.SelectSelectorConfig(options=list(ALERT_CONDITIONS), multiple=True,
                                                  translation_key=CONF_ALERT_CONDITIONS)
                ),
                vol.Optional(CONF_WEB_URL): selector.TextSelector(
                    selector.TextSelectorConfig(type=selector.TextSelectorType.URL)),
                vol.Optional(CONF_HTTP_TOKEN): selector.TextSelector(
                    selector.TextSelectorConfig(type=selector.TextSelectorType.PASSWORD)),
            }
        )
        errors: dict[str, str] = {}
        if user_input is not None:
            url = (user_input.get(CONF_WEB_URL) or "").strip()
            if url and web_address(json.dumps({"url": url, "token": True})) is None:
                errors[CONF_WEB_URL] = "invalid_web_url"
            elif user_input.get(CONF_HTTP_TOKEN) and not url:
                errors[CONF_WEB_URL] = "web_url_for_token"
            else:
                return self.async_create_entry(data={**user_input, **({CONF_WEB_URL: url.rstrip("/")} if url else {})})
        return self.async_show_form(step_id="init", data_schema=self.add_suggested_values_to_schema(
            schema, user_input or {k: v for k, v in options.items() if k in (CONF_WEB_URL, CONF_HTTP_TOKEN)}),
            errors=errors)
