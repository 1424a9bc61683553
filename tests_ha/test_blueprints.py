"""The shipped blueprints: installed on setup, valid, and doing their job on the daemon's real events."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml
from pytest_homeassistant_custom_component.common import async_fire_mqtt_message, async_mock_service

from custom_components.babymon.const import DOMAIN
from homeassistant.components.blueprint import models
from homeassistant.components.automation.config import AUTOMATION_BLUEPRINT_SCHEMA
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util.yaml import load_yaml_dict

from .conftest import replay_events
from .test_integration import camera_device, snapshot_entity_id

BUNDLED = Path(__file__).parents[1] / "custom_components" / DOMAIN / "blueprints" / "automation" / DOMAIN
NAMES = ("danger_light.yaml", "announce_crying.yaml", "notify_snapshot.yaml")


@pytest.mark.parametrize("name", NAMES)
def test_blueprint_schema(name: str) -> None:
    blueprint = models.Blueprint(load_yaml_dict(str(BUNDLED / name)), expected_domain="automation",
                                 schema=AUTOMATION_BLUEPRINT_SCHEMA)
    assert blueprint.inputs["camera"]["selector"]["device"]["integration"] == DOMAIN


async def _automation(hass: HomeAssistant, name: str, inputs: dict) -> str:
    assert await async_setup_component(hass, "automation", {"automation": [
        {"alias": name.removesuffix(".yaml"), "use_blueprint": {"path": f"{DOMAIN}/{name}", "input": inputs}}]})
    await hass.async_block_till_done()
    state = hass.states.get(f"automation.{name.removesuffix('.yaml')}")
    assert state is not None and state.state == "on", f"{name} did not load: {state}"
    return state.entity_id


async def test_setup_installs_the_blueprints(hass: HomeAssistant, loaded_entry, config_dir: Path) -> None:
    installed = config_dir / "blueprints" / "automation" / DOMAIN
    assert sorted(p.name for p in installed.iterdir()) == sorted(NAMES)
    assert (installed / "danger_light.yaml").read_text() == (BUNDLED / "danger_light.yaml").read_text()


async def test_danger_turns_the_light_on(hass: HomeAssistant, loaded_entry, payloads) -> None:
    assert await async_setup_component(hass, "input_boolean", {"input_boolean": {"nursery_lamp": {}}})
    assert await async_setup_component(hass, "light", {"light": [{"platform": "template", "lights": {"nursery": {
        "value_template": "{{ is_state('input_boolean.nursery_lamp', 'on') }}",
        "turn_on": {"action": "input_boolean.turn_on", "target": {"entity_id": "input_boolean.nursery_lamp"}},
        "turn_off": {"action": "input_boolean.turn_off", "target": {"entity_id": "input_boolean.nursery_lamp"}},
    }}}]})
    await hass.async_block_till_done()
    assert hass.states.get("light.nursery").state == "off"
    await _automation(hass, "danger_light.yaml", {"camera": camera_device(hass).id,
                                                  "light_target": {"entity_id": "light.nursery"}})
    events = [(r["topic"], r["text"]) for r in payloads["events"]]
    face_covered = next(i for i, (_, text) in enumerate(events) if '"face_covered_started"' in text)
    for topic, text in events[face_covered:face_covered + 2]:  # face covered, then the danger it starts
        async_fire_mqtt_message(hass, topic, text, qos=1)
    for _ in range(50):  # the template light's script finishes a little after the automation's call
        await hass.async_block_till_done()
        if hass.states.get("light.nursery").state == "on":
            break
        await asyncio.sleep(0.05)
    assert hass.states.get("light.nursery").state == "on"


async def test_crying_is_announced(hass: HomeAssistant, loaded_entry, payloads) -> None:
    speak = async_mock_service(hass, "tts", "speak")  # stands in for a speaker, which a test does not have
    await _automation(hass, "announce_crying.yaml", {"camera": camera_device(hass).id,
                                                     "speaker": "media_player.nursery", "tts_engine": "tts.piper"})
    replay_events(hass, payloads, {"danger_started", "cry_stopped"})
    await hass.async_block_till_done()
    assert speak == []
    replay_events(hass, payloads, {"cry_started"})
    await hass.async_block_till_done()
    assert len(speak) == 1
    assert speak[0].data["message"] == "The baby is crying in the Nursery."
    assert speak[0].data["media_player_entity_id"] == "media_player.nursery"


async def test_alert_notification_carries_the_snapshot(hass: HomeAssistant, loaded_entry, payloads) -> None:
    phone = async_mock_service(hass, "notify", "mobile_app_phone")  # stands in for the phone
    snapshot = snapshot_entity_id(hass)
    await _automation(hass, "notify_snapshot.yaml", {"camera": camera_device(hass).id, "snapshot": snapshot,
                                                     "notify_action": "notify.mobile_app_phone",
                                                     "wait_for_snapshot": 0})
    replay_events(hass, payloads, {"face_covered_started"})
    await hass.async_block_till_done()
    assert len(phone) == 1
    assert phone[0].data["message"] == "Face covered"
    assert phone[0].data["title"] == "babymon: Nursery"
    assert phone[0].data["data"]["image"] == f"/api/image_proxy/{snapshot}"
    # a tap opens the night's snapshots and clips in the Media panel (iOS reads url, Android clickAction)
    link = phone[0].data["data"]["url"]
    assert link == phone[0].data["data"]["clickAction"]
    assert link.startswith("/media-browser/browser/app%2Cmedia-source%3A%2F%2Fbabymon/")


def test_blueprints_are_plain_yaml_for_import() -> None:
    """Importing by URL (without the integration) needs files that any YAML loader reads apart from !input."""
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_constructor("!input", lambda loader, node: loader.construct_scalar(node))
    for name in NAMES:
        data = yaml.load((BUNDLED / name).read_text(), Loader=Loader)  # noqa: S506 - SafeLoader subclass
        assert data["blueprint"]["domain"] == "automation" and data["blueprint"]["source_url"].endswith(name)
