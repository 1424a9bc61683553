"""The daemon end to end, with a real mosquitto, a real GStreamer RTSP server and `babymon run` as a process."""

from __future__ import annotations

import io
import json
import time

import av

import pytest

from tests.conftest import daemon_config, wait_until
from tests.support.services import RtspServer, free_port
from tests.support.watcher import Watcher, retained

pytestmark = pytest.mark.integration

SCRIPTED = "tests.support.scripted:ScriptedAnalyzer"


def test_state_and_discovery_appear(broker, rtsp, watcher, run_daemon):
    run_daemon(daemon_config(broker, {"nursery": {"url": rtsp.url, "name": "Nursery"}}))
    config = watcher.wait_for("homeassistant/device/babymon_nursery/config").json()
    assert config["components"]["danger"]["unique_id"] == "babymon_nursery_danger"
    assert config["device"]["name"] == "Nursery"
    watcher.wait_text("babymon/available", "online")
    watcher.wait_text("babymon/nursery/connected", "ON")
    watcher.wait_text("babymon/nursery/available", "online")
    state = watcher.wait_for("babymon/nursery/state", lambda m: m.json()["health"]["connected"]).json()
    assert state["danger"] is False and state["monitoring"] is True
    assert state["health"]["audio"] == "ok"  # the clip's AAC track was found
    # no analyzers configured: the monitor says what it cannot detect instead of pretending all is well
    assert state["undetectable"] == ["face_covered", "prone", "standing", "crying"]
    assert watcher.wait_for("babymon/nursery/face_covered").text == "None"
    assert watcher.wait_for("babymon/nursery/degraded").text == "ON"
    connected = watcher.wait_text("babymon/nursery/connected", "ON").at
    fps = watcher.wait_for("babymon/nursery/state", after=connected + 5).json()["health"]["fps"]
    assert 3.5 <= fps <= 6  # sampled to the configured 5 fps from a 10 fps stream
    # a subscriber that comes later (Home Assistant restarting) gets everything retained
    late = Watcher(broker.host, broker.port, topics=("babymon/#", "homeassistant/#"), client_id="late")
    try:
        assert late.wait_text("babymon/available", "online").retain
        assert late.wait_for("babymon/nursery/state").retain
        assert late.wait_text("babymon/nursery/connected", "ON").retain
        assert late.wait_for("homeassistant/device/babymon_nursery/config").retain
    finally:
        late.close()


def test_rtsp_outage_gives_offline_unavailable_then_online(broker, clip, watcher, run_daemon):
    port = free_port()
    camera = RtspServer(clip, port=port).start()
    try:
        run_daemon(daemon_config(broker, {"nursery": camera.url}))
        watcher.wait_text("babymon/nursery/connected", "ON")
        camera.stop()
        down = time.time()
        watcher.wait_text("babymon/nursery/connected", "OFF", timeout=15, after=down)
        watcher.wait_text("babymon/nursery/available", "offline", after=down)
        watcher.wait_text("babymon/nursery/monitor_unavailable", "ON", after=down)
        watcher.wait_text("babymon/nursery/danger", "ON", after=down)
        started = watcher.wait_for("babymon/nursery/events", lambda m: m.json()["type"] == "danger_started").json()
        assert started["reasons"] == ["monitor_unavailable"] and started["event_type"] == "danger_started"
        state = watcher.wait_for("babymon/nursery/state", lambda m: not m.json()["monitoring"], after=down).json()
        assert any("stream is down" in r for r in state["not_monitoring_reasons"])

        camera.start()
        up = time.time()
        watcher.wait_text("babymon/nursery/connected", "ON", timeout=20, after=up)
        watcher.wait_text("babymon/nursery/monitor_unavailable", "OFF", after=up)
        watcher.wait_text("babymon/nursery/danger", "OFF", after=up)
        cleared = watcher.wait_for("babymon/nursery/events", lambda m: m.json()["type"] == "danger_cleared").json()
        assert cleared["timestamp"] > started["timestamp"]
        reconnects = watcher.wait_for("babymon/nursery/reconnects", lambda m: int(m.text) >= 1, after=up)
        assert int(reconnects.text) >= 1
    finally:
        camera.stop()


def test_broker_outage_loses_no_queued_event(broker, clip, watcher, run_daemon):
    camera = RtspServer(clip, port=free_port()).start()
    try:
        run_daemon(daemon_config(broker, {"nursery": camera.url}))
        watcher.wait_text("babymon/nursery/connected", "ON")
        broker.stop()
        # while the broker is away: the camera drops (danger_started) and comes back (danger_cleared)
        camera.stop()
        time.sleep(4)
        camera.start()
        time.sleep(4)
        broker.start()
        assert watcher.connected.wait(10)
        types = lambda: [e["type"] for e in watcher.events("babymon/nursery/events")]  # noqa: E731
        wait_until(lambda: "danger_cleared" in types(), timeout=20, message="queued events after the outage")
        seen = types()
        assert seen.index("monitor_unavailable_started") < seen.index("danger_started")
        assert seen.index("danger_started") < seen.index("danger_cleared")
        # retained state is current again: the camera is connected and there is no danger
        watcher.wait_text("babymon/nursery/connected", "ON")
        watcher.wait_text("babymon/available", "online")
    finally:
        camera.stop()


def test_unreachable_camera_does_not_disturb_a_working_one(broker, rtsp, watcher, run_daemon):
    dead = f"rtsp://127.0.0.1:{free_port()}/nothing"
    run_daemon(daemon_config(broker, {"nursery": rtsp.url, "attic": dead}))
    watcher.wait_text("babymon/nursery/connected", "ON")
    watcher.wait_text("babymon/attic/connected", "OFF")
    watcher.wait_text("babymon/attic/monitor_unavailable", "ON")
    assert int(watcher.wait_for("babymon/attic/reconnects", lambda m: int(m.text) >= 2).text) >= 2  # retrying
    start = time.time()
    time.sleep(4)
    states = [m.json() for m in watcher.on("babymon/nursery/state") if m.at >= start]
    assert states and all(s["health"]["connected"] for s in states)
    assert states[-1]["health"]["fps"] >= 3
    assert watcher.on("babymon/nursery/danger")[-1].text == "OFF"
    assert watcher.on("babymon/nursery/monitor_unavailable")[-1].text == "OFF"
    assert watcher.on("babymon/attic/danger")[-1].text == "ON"


def test_face_covered_alert_snooze_and_switch(broker, rtsp, watcher, run_daemon, tmp_path, monkeypatch):
    script = tmp_path / "script.json"
    monkeypatch.setenv("BABYMON_TEST_SCRIPT", str(script))
    run_daemon(daemon_config(broker, {"nursery": rtsp.url}, analyzers=[SCRIPTED]))
    watcher.wait_text("babymon/nursery/face", "clear")
    assert watcher.on("babymon/nursery/degraded")[-1].text == "ON"  # no cry analyzer: crying is undetectable
    assert watcher.on("babymon/nursery/face_covered")[-1].text == "OFF"  # detectable now, and clear
    script.write_text(json.dumps({"face_state": "covered"}))
    watcher.wait_text("babymon/nursery/face_covered", "ON")
    event = watcher.wait_for("babymon/nursery/events", lambda m: m.json()["type"] == "face_covered_started").json()
    assert event["reasons"] == ["face_covered"] and event["face"] == "covered"
    danger = watcher.wait_for("babymon/nursery/events", lambda m: m.json()["type"] == "danger_started"
                              and m.json()["reasons"] == ["face_covered"]).json()
    assert danger["camera"] == "nursery" and danger["time"].endswith("+00:00")
    snapshot = watcher.wait_for("babymon/nursery/snapshot")
    picture = next(av.open(io.BytesIO(snapshot.payload)).decode(video=0))  # a real JPEG of the analysed frame
    assert (picture.width, picture.height) == (320, 240)

    watcher.client.publish("babymon/nursery/snooze/set", "10m", qos=1)
    watcher.wait_for("babymon/nursery/events", lambda m: m.json()["type"] == "snoozed")
    watcher.wait_text("babymon/nursery/danger", "OFF", after=event["timestamp"])
    until = watcher.wait_for("babymon/nursery/snoozed_until", lambda m: m.text != "None").text
    assert until.endswith("+00:00")

    t = time.time()
    watcher.client.publish("babymon/nursery/snooze/set", "OFF", qos=1)
    watcher.wait_for("babymon/nursery/events", lambda m: m.json()["type"] == "snooze_cancelled")
    watcher.wait_text("babymon/nursery/danger", "ON", after=t)

    t = time.time()
    watcher.client.publish("babymon/nursery/enabled/set", "OFF", qos=1)
    watcher.wait_text("babymon/nursery/enabled", "OFF", after=t)
    watcher.wait_text("babymon/nursery/danger", "OFF", after=t)
    state = watcher.wait_for("babymon/nursery/state", lambda m: not m.json()["enabled"]).json()
    assert state["monitoring"] is False and "monitoring is switched off" in state["not_monitoring_reasons"]
    t = time.time()
    watcher.client.publish("babymon/nursery/enabled/set", "ON", qos=1)
    watcher.wait_text("babymon/nursery/danger", "ON", after=t)


def test_home_assistant_restart_gets_discovery_again(broker, rtsp, watcher, run_daemon):
    run_daemon(daemon_config(broker, {"nursery": rtsp.url}))
    topic = "homeassistant/device/babymon_nursery/config"
    watcher.wait_for(topic)
    t = time.time()
    watcher.client.publish("homeassistant/status", "online", qos=1)
    again = watcher.wait_for(topic, after=t)
    assert again.json()["components"]["enabled"]["command_topic"] == "babymon/nursery/enabled/set"


def test_camera_removed_from_config_is_removed_from_home_assistant(broker, rtsp, watcher, run_daemon):
    first = run_daemon(daemon_config(broker, {"nursery": rtsp.url, "playroom": rtsp.url}))
    topic = "homeassistant/device/babymon_playroom/config"
    watcher.wait_for(topic, lambda m: m.payload != b"")
    watcher.wait_text("babymon/playroom/connected", "ON")
    first.stop()
    t = time.time()
    run_daemon(daemon_config(broker, {"nursery": rtsp.url}))
    watcher.wait_for(topic, lambda m: m.payload == b"", after=t)  # empty retained config removes the entity
    watcher.wait_for("babymon/playroom/state", lambda m: m.payload == b"", after=t)
    nursery = watcher.wait_for("homeassistant/device/babymon_nursery/config", after=t)
    assert nursery.payload != b""
    # the registry is written last, after every removal
    registry = watcher.wait_for("babymon/_announced", lambda m: "playroom" not in m.json()["cameras"], after=t)
    assert "nursery" in registry.json()["cameras"]
    fresh = Watcher(broker.host, broker.port, topics=("homeassistant/+/babymon_playroom/#",), client_id="fresh")
    try:
        time.sleep(1)
        assert fresh.messages == []  # nothing retained is left for the removed camera
    finally:
        fresh.close()


def test_switching_the_discovery_schema_moves_the_entities_and_leaves_nothing_behind(broker, rtsp, watcher,
                                                                                     run_daemon):
    """mqtt.discovery_schema entity → device → entity, each a daemon restart: Home Assistant's migration path
    (``migrate_discovery`` on the old topics, the old topics emptied, the new config), in that order, and only the
    current schema's configs stay retained on the broker."""
    entity_topic = "homeassistant/binary_sensor/babymon_nursery/danger/config"
    device_topic = "homeassistant/device/babymon_nursery/config"

    def run(schema: str) -> float:
        config = daemon_config(broker, {"nursery": rtsp.url})
        config["mqtt"]["discovery_schema"] = schema
        t = time.time()
        daemon = run_daemon(config)
        watcher.wait_for("babymon/_announced", after=t)  # written once the announcement is complete
        daemon.stop()
        return t

    run("entity")
    assert retained(broker, entity_topic) and not retained(broker, device_topic)
    t = run("device")
    old = [m for m in watcher.on(entity_topic) if m.at >= t]
    new = [m for m in watcher.on(device_topic) if m.at >= t]
    assert [m.payload for m in old] == [b'{"migrate_discovery": true}', b""]
    assert old[1].at <= new[0].at and new[0].json()["components"]["danger"]["unique_id"]
    assert retained(broker, entity_topic) == [] and retained(broker, device_topic)
    t = run("entity")
    back = [m.payload for m in watcher.on(device_topic) if m.at >= t]
    assert back == [b'{"migrate_discovery": true}', b""]
    assert retained(broker, device_topic) == [] and retained(broker, entity_topic)


def test_clean_shutdown_says_offline(broker, rtsp, watcher, run_daemon):
    daemon = run_daemon(daemon_config(broker, {"nursery": rtsp.url}))
    watcher.wait_text("babymon/available", "online")
    t = time.time()
    assert daemon.stop() == 0
    watcher.wait_text("babymon/available", "offline", after=t)
    assert "secret" not in daemon.log
