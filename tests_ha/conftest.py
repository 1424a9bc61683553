"""Fixtures for the babymon Home Assistant component: a Home Assistant with a test MQTT broker (the
pytest-homeassistant-custom-component harness) fed with payloads captured from a real daemon
(fixtures/daemon_payloads.json, written by scripts/capture_payloads.py)."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_mqtt_message

from custom_components.babymon.const import (
    CONF_ALERT_CONDITIONS,
    CONF_SNOOZE_MINUTES,
    CONF_TOPIC_PREFIX,
    DEFAULT_ALERT_CONDITIONS,
    DOMAIN,
)
from homeassistant.core import HomeAssistant

PAYLOADS_FILE = Path(__file__).parent / "fixtures" / "daemon_payloads.json"
CAMERA = "nursery"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/babymon."""


@pytest.fixture(autouse=True)
def config_dir(hass: HomeAssistant, tmp_path: Path) -> Path:
    """Each test gets its own config dir (blueprints are installed there)."""
    hass.config.config_dir = str(tmp_path)
    return tmp_path


@pytest.fixture
def expected_lingering_timers() -> bool:
    """The harness's MQTT client keeps its periodic housekeeping timer after a test (the mqtt_mock fixture
    never stops it); let the harness cancel it with a warning instead of failing every MQTT test."""
    return True


@pytest.fixture(scope="session")
def payloads() -> dict[str, Any]:
    return json.loads(PAYLOADS_FILE.read_text())


def payload_of(record: dict[str, str]) -> str | bytes:
    return base64.b64decode(record["base64"]) if "base64" in record else record["text"]


async def replay_retained(hass: HomeAssistant, payloads: dict[str, Any], *, only: str = "") -> None:
    """Every retained topic the daemon left on the broker, as Home Assistant receives them: discovery
    configs first; then, once the entities exist and have subscribed, the states they subscribed to."""
    retained = [(t, r) for t, r in payloads["retained"].items() if t.startswith(only)]
    for first in (True, False):
        for topic, record in retained:
            if topic.startswith("homeassistant/") == first:
                async_fire_mqtt_message(hass, topic, payload_of(record), qos=1, retain=True)
        await hass.async_block_till_done()


def entity_configs(messages: dict[str, str]) -> dict[str, dict]:
    """Discovery topic → config, either schema → ``platform/key`` → that entity's own discovery options."""
    configs: dict[str, dict] = {}
    for topic, text in messages.items():
        if not topic.startswith("homeassistant/") or not text:
            continue
        config = json.loads(text)
        if topic.split("/")[1] == "device":
            for key, component in config["components"].items():
                configs[f"{component['platform']}/{key}"] = {k: v for k, v in component.items() if k != "platform"}
        elif "migrate_discovery" not in config:
            configs[f"{topic.split('/')[1]}/{topic.split('/')[3]}"] = config
    return configs


def retained_configs(payloads: dict[str, Any]) -> dict[str, dict]:
    """The entities the daemon's retained discovery describes (``platform/key`` → options)."""
    return entity_configs({t: r.get("text", "") for t, r in payloads["retained"].items()})


def daemon_events(payloads: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for record in payloads["events"]:
        yield record["topic"], record["text"]


def replay_events(hass: HomeAssistant, payloads: dict[str, Any], kinds: set[str] | None = None) -> int:
    count = 0
    for topic, text in daemon_events(payloads):
        if kinds is None or json.loads(text)["type"] in kinds:
            async_fire_mqtt_message(hass, topic, text, qos=1)
            count += 1
    return count


def make_entry(**options: Any) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="babymon (babymon)",
        unique_id="babymon",
        data={CONF_TOPIC_PREFIX: "babymon"},
        options={CONF_SNOOZE_MINUTES: 30, CONF_ALERT_CONDITIONS: list(DEFAULT_ALERT_CONDITIONS)} | options,
    )


@pytest.fixture
async def loaded_entry(hass: HomeAssistant, mqtt_mock, payloads) -> MockConfigEntry:
    """The integration set up against a daemon whose retained topics (discovery included) are replayed."""
    entry = make_entry()
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await replay_retained(hass, payloads)
    await hass.async_block_till_done()
    return entry


class TokenGuardedApi:
    """A stand-in for the daemon's HTTP API that, like the daemon, answers 401 unless the request carries
    ``Authorization: Bearer <token>`` (no token set: every request passes); records every Authorization header."""

    def __init__(self, token: str | None = None) -> None:
        self.token = token
        self.authorizations: list[str | None] = []

    def refused(self, request):
        """The 401 answer when ``request`` lacks the token, else None."""
        from aiohttp import web

        self.authorizations.append(request.headers.get("Authorization"))
        if self.token is None or request.headers.get("Authorization") == f"Bearer {self.token}":
            return None
        return web.json_response({"error": "a valid token is required"}, status=401)


@asynccontextmanager
async def loopback_server(app) -> AsyncIterator[str]:
    """``app`` (an aiohttp web.Application standing in for the daemon's HTTP API) served on 127.0.0.1 → its URL."""
    from aiohttp import web

    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
    finally:
        await runner.cleanup()
