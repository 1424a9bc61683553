"""The MQTT output and the whole daemon run in this process against a real mosquitto, so that coverage and
debuggers see ``mqtt/client.py``, ``http/server.py`` and ``daemon.py`` (the other integration tests run
``babymon run`` as a subprocess, which is what a user runs)."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from babymon.config import MqttConfig, parse_config
from babymon.daemon import Daemon
from babymon.mqtt.client import MqttPublisher
from babymon.state import build_event
from tests.support.services import free_port

pytestmark = pytest.mark.integration


class Commands:
    def __init__(self):
        self.calls: list[tuple[str, str, object]] = []

    def set_enabled(self, camera: str, enabled: bool) -> None:
        self.calls.append(("enabled", camera, enabled))

    def snooze(self, camera: str, seconds: float) -> None:
        self.calls.append(("snooze", camera, seconds))


async def until(predicate, timeout: float = 15.0, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {message}")


async def stop_and_expect_offline(task: asyncio.Task, watcher) -> None:
    """Cancel ``task`` (as SIGTERM does) and wait for ``babymon/available: offline`` published after that."""
    t = time.time()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await until(lambda: [m for m in watcher.on("babymon/available") if m.at >= t and m.text == "offline"],
                message="offline on stop")


async def test_the_mqtt_output_publishes_retained_state_delivers_events_and_takes_commands(broker, watcher):
    commands = Commands()
    output = MqttPublisher(MqttConfig(host=broker.host, port=broker.port, reconnect_initial=0.2),
                           {"nursery": "Nursery"}, {"nursery": 1800}, commands=commands)
    task = asyncio.create_task(output.run())
    try:
        await until(lambda: watcher.on("babymon/available"), message="online")
        assert watcher.on("babymon/available")[-1].text == "online"
        config = await until(lambda: watcher.on("homeassistant/device/babymon_nursery/config"))
        assert config[-1].json()["components"]["enabled"]["command_topic"] == "babymon/nursery/enabled/set"
        event = build_event("danger_started", camera="nursery", name="Nursery", at=time.time(),
                            reasons=["face_covered"])
        output.camera_event("nursery", event)
        received = await until(lambda: watcher.on("babymon/nursery/events"), message="the event")
        assert received[-1].json()["id"] == event["id"] and not received[-1].retain
        watcher.client.publish("babymon/nursery/snooze/set", "10m", qos=1)
        watcher.client.publish("babymon/nursery/snooze/set", '{"minutes": null}', qos=1)  # refused, not fatal
        watcher.client.publish("babymon/nursery/enabled/set", "OFF", qos=1)
        await until(lambda: len(commands.calls) == 2, message="two commands")
        assert commands.calls == [("snooze", "nursery", 600.0), ("enabled", "nursery", False)]
        assert output.messages_rejected == 1 and not task.done()
    finally:
        await stop_and_expect_offline(task, watcher)


async def test_the_daemon_in_process_monitors_serves_health_and_says_offline_when_stopped(broker, watcher, clip,
                                                                                       tmp_path):
    port = free_port()
    config = parse_config({
        "mqtt": {"host": broker.host, "port": broker.port, "reconnect_initial": 0.2},
        "defaults": {"analyzers": [], "detect": {"fps": 5, "width": 320}, "state_interval": 1},
        "cameras": {"nursery": {"url": str(clip), "loop": True}},
        "http": {"port": port, "evidence": {"path": str(tmp_path / "evidence")}},
    })
    daemon = Daemon(config)
    task = asyncio.create_task(daemon.run())
    try:
        await until(lambda: any(m.json()["health"]["connected"] for m in watcher.on("babymon/nursery/state")),
                    message="a connected state")
        async with aiohttp.ClientSession() as session:
            async def health() -> dict:
                async with session.get(f"http://127.0.0.1:{port}/api/health") as response:
                    return await response.json()

            report = await health()
            assert report["cameras"]["nursery"]["enabled"] is True
            daemon.set_enabled("nursery", False)  # what an MQTT command does
            report = await health()
            assert report["status"] == "degraded" and report["cameras"]["nursery"]["enabled"] is False
            async with session.get(f"http://127.0.0.1:{port}/api/cameras/nursery/snapshot.jpg") as response:
                assert response.status == 200 and (await response.read()).startswith(b"\xff\xd8")
        await until(lambda: [m for m in watcher.on("babymon/nursery/enabled") if m.text == "OFF"], message="OFF")
    finally:
        await stop_and_expect_offline(task, watcher)
    # the camera's offline follows the daemon's on the same connection: wait for its delivery too
    await until(lambda: [m.text for m in watcher.on("babymon/nursery/available")][-1] == "offline",
                message="the camera offline on stop")
