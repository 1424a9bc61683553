"""Config flow: found from MQTT, added by hand, duplicates refused, an unreachable daemon reported; options."""

from __future__ import annotations

import asyncio

from pytest_homeassistant_custom_component.common import async_fire_mqtt_message

from custom_components.babymon import const
from custom_components.babymon.const import CONF_ALERT_CONDITIONS, CONF_SNOOZE_MINUTES, CONF_TOPIC_PREFIX, DOMAIN
from homeassistant.config_entries import SOURCE_MQTT, SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.service_info.mqtt import MqttServiceInfo

from .conftest import make_entry, payload_of


def _available(payloads) -> tuple[str, str]:
    return "babymon/available", payload_of(payloads["retained"]["babymon/available"])


async def test_daemon_online_on_mqtt_starts_a_discovery_flow(hass: HomeAssistant, mqtt_mock, payloads) -> None:
    topic, online = _available(payloads)
    assert online == "online"
    async_fire_mqtt_message(hass, topic, online, retain=True)  # the manifest's "mqtt" topic
    await hass.async_block_till_done(wait_background_tasks=True)
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert len(flows) == 1 and flows[0]["step_id"] == "confirm"
    assert flows[0]["context"]["unique_id"] == "babymon"
    result = await hass.config_entries.flow.async_configure(flows[0]["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {CONF_TOPIC_PREFIX: "babymon"}
    assert result["options"][CONF_SNOOZE_MINUTES] == 30


async def test_discovery_of_an_offline_daemon_is_ignored(hass: HomeAssistant, mqtt_mock, payloads) -> None:
    offline = payloads["offline"]
    info = MqttServiceInfo(topic=offline["topic"], payload=offline["text"], qos=1, retain=True,
                           subscribed_topic="babymon/available", timestamp=0)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_MQTT}, data=info)
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "not_online"


async def test_manual_setup_waits_for_the_daemon(hass: HomeAssistant, mqtt_mock, payloads) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "user"
    configure = hass.async_create_task(
        hass.config_entries.flow.async_configure(result["flow_id"], {CONF_TOPIC_PREFIX: "babymon/"})
    )
    await asyncio.sleep(0.1)  # the flow subscribed; the broker now delivers the retained "online"
    async_fire_mqtt_message(hass, *_available(payloads), retain=True)
    result = await configure
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {CONF_TOPIC_PREFIX: "babymon"}  # the trailing slash is cleaned up


async def test_duplicates_are_refused(hass: HomeAssistant, mqtt_mock, payloads) -> None:
    make_entry().add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_TOPIC_PREFIX: "babymon"})
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "already_configured"
    topic, online = _available(payloads)
    info = MqttServiceInfo(topic=topic, payload=online, qos=1, retain=True, subscribed_topic=topic, timestamp=0)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_MQTT}, data=info)
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "already_configured"


async def test_unreachable_daemon_is_reported(hass: HomeAssistant, mqtt_mock, payloads, monkeypatch) -> None:
    monkeypatch.setattr(const, "AVAILABILITY_TIMEOUT", 0.3)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    # nothing answers under this prefix
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_TOPIC_PREFIX: "elsewhere"})
    assert result["type"] is FlowResultType.FORM and result["errors"] == {"base": "cannot_connect"}
    # a daemon that left "offline" as its last will is not reachable either
    configure = hass.async_create_task(
        hass.config_entries.flow.async_configure(result["flow_id"], {CONF_TOPIC_PREFIX: "babymon"})
    )
    await asyncio.sleep(0.05)
    async_fire_mqtt_message(hass, payloads["offline"]["topic"], payloads["offline"]["text"], retain=True)
    result = await configure
    assert result["errors"] == {"base": "cannot_connect"}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_TOPIC_PREFIX: "a/#"})
    assert result["errors"] == {CONF_TOPIC_PREFIX: "invalid_prefix"}


async def test_options_flow_sets_snooze_length_and_alert_conditions(hass: HomeAssistant, loaded_entry) -> None:
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "init"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SNOOZE_MINUTES: 10, CONF_ALERT_CONDITIONS: ["face_covered", "crying"]}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert loaded_entry.options == {CONF_SNOOZE_MINUTES: 10, CONF_ALERT_CONDITIONS: ["face_covered", "crying"]}
    assert loaded_entry.runtime_data.alert_conditions == ["face_covered", "crying"]


async def test_a_user_flow_while_a_discovered_one_is_pending_says_why(hass: HomeAssistant, mqtt_mock, payloads) -> None:
    async_fire_mqtt_message(hass, *_available(payloads), retain=True)  # discovery: a "confirm" flow waits
    await hass.async_block_till_done(wait_background_tasks=True)
    assert len(hass.config_entries.flow.async_progress_by_handler(DOMAIN)) == 1
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    configure = hass.async_create_task(
        hass.config_entries.flow.async_configure(result["flow_id"], {CONF_TOPIC_PREFIX: "babymon"}))
    await asyncio.sleep(0.1)
    async_fire_mqtt_message(hass, *_available(payloads), retain=True)
    result = await configure
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "already_in_progress"


def test_every_abort_and_error_reason_has_a_text() -> None:
    """A reason without a text shows the raw key to the user (HA's own helpers abort with already_configured
    and already_in_progress)."""
    import json
    import re
    from pathlib import Path

    component = Path(const.__file__).parent
    source = (component / "config_flow.py").read_text()
    used_aborts = set(re.findall(r'async_abort\(reason="([a-z_]+)"', source)) | {"already_configured", "already_in_progress"}
    used_errors = set(re.findall(r'errors\["base"\] = "([a-z_]+)"', source))
    for name in ("strings.json", "translations/en.json"):
        config = json.loads((component / name).read_text())["config"]
        assert used_aborts <= set(config["abort"]), (name, used_aborts - set(config["abort"]))
        assert used_errors <= set(config["error"]), (name, used_errors - set(config["error"]))


async def test_a_discovery_on_a_topic_that_is_not_an_availability_topic_is_refused(hass: HomeAssistant,
                                                                                   mqtt_mock) -> None:
    info = MqttServiceInfo(topic="babymon/nursery/state", payload="online", qos=1, retain=True,
                           subscribed_topic="babymon/available", timestamp=0)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_MQTT}, data=info)
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "invalid_discovery_info"


async def test_manual_setup_without_a_connected_mqtt_says_so(hass: HomeAssistant, mqtt_mock, monkeypatch) -> None:
    from custom_components.babymon import config_flow

    async def not_connected(hass) -> bool:
        return False

    monkeypatch.setattr(config_flow.mqtt, "async_wait_for_mqtt_client", not_connected)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_TOPIC_PREFIX: "babymon"})
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "mqtt_not_connected"
