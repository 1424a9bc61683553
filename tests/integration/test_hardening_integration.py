"""Hostile and careless input against a real daemon, a real mosquitto and a real RTSP server (issue 10).

Each test reproduces one defect that once killed the daemon, made it look online while dead, or leaked a
secret, and checks that it no longer does."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import pytest

from tests.conftest import daemon_config, wait_until
from tests.support.http_client import Api
from tests.support.services import RtspServer, free_port
from tests.support.watcher import Watcher, retained

pytestmark = pytest.mark.integration

SCRIPTED = "tests.support.scripted:ScriptedAnalyzer"


def publish_retained(watcher: Watcher, topic: str, payload: bytes | str) -> None:
    watcher.client.publish(topic, payload, qos=1, retain=True).wait_for_publish(5)


def raw_http(port: int, request: bytes, timeout: float = 5.0) -> tuple[int, bytes]:
    """Send ``request`` as is (bytes no HTTP library would send) → (status, whole reply)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(request)
        reply = b""
        while chunk := conn.recv(65536):
            reply += chunk
    return int(reply.split(b" ", 2)[1]), reply


# ------------------------------------------------------------------------------------------------- MQTT input

HOSTILE_SNOOZES = [b'{"minutes": null}', b'{"seconds": {"a": 1}}', b"[" * 100_000, b"\xff\xfe\x00",
                   b'{"minutes": 1e999}', b"true", b"x" * 300_000, b'{"minutes": ' + b"[" * 200 + b"]" * 200 + b"}"]


def test_hostile_commands_and_a_malformed_registry_leave_the_daemon_online(broker, rtsp, watcher, run_daemon):
    # before the daemon starts: a registry that is not {"cameras": ...} and a retained "switch off" command
    publish_retained(watcher, "babymon/_announced", b"[]")
    publish_retained(watcher, "babymon/nursery/enabled/set", b"OFF")
    daemon = run_daemon(daemon_config(broker, {"nursery": rtsp.url}))
    watcher.wait_text("babymon/nursery/connected", "ON", timeout=20)
    # a retained command is a stale order from the past: ignored, and removed so it cannot act at a later start
    wait_until(lambda: retained(broker, "babymon/nursery/enabled/set", wait=0.5) == [], message="command cleared")
    assert watcher.on("babymon/nursery/enabled")[-1].text == "ON"

    t = time.time()
    for payload in HOSTILE_SNOOZES:
        watcher.client.publish("babymon/nursery/snooze/set", payload, qos=1)
    watcher.client.publish("babymon/nursery/enabled/set", b"\xc3\x28", qos=1)
    watcher.client.publish("babymon/nursery/snooze/set", b'{"minutes": 5}', qos=1)  # a good one still works
    until = watcher.wait_for("babymon/nursery/snoozed_until", lambda m: m.text != "None", after=t)
    assert until.text.endswith("+00:00")
    time.sleep(1)
    assert daemon.process.poll() is None, daemon.log[-3000:]
    assert [m.text for m in watcher.on("babymon/available") if m.at >= t] == []  # never went offline
    assert "bad payload on babymon/nursery/snooze/set" in daemon.log
    assert "Traceback" not in daemon.log


def test_a_forged_registry_cannot_delete_other_retained_messages(broker, rtsp, watcher, run_daemon):
    ghost_config = "homeassistant/binary_sensor/babymon_ghost/danger/config"
    publish_retained(watcher, "family/photos/latest", b"keep me")
    publish_retained(watcher, ghost_config, b"{}")
    forged = {"cameras": {"ghost": ["family/photos/latest", ghost_config, "babymon/available"], "Bad Key": ["x"]}}
    publish_retained(watcher, "babymon/_announced", json.dumps(forged))
    t = time.time()
    run_daemon(daemon_config(broker, {"nursery": rtsp.url}))
    # the registry is written after removals: once it no longer lists "ghost", the clean-up is over
    watcher.wait_for("babymon/_announced", lambda m: m.json()["cameras"].keys() == {"nursery"}, after=t)
    assert retained(broker, ghost_config) == []  # a topic this daemon would publish for that camera: removed
    assert retained(broker, "family/photos/latest") == [b"keep me"]  # anyone else's: untouched
    assert retained(broker, "babymon/available") == [b"online"]


# ------------------------------------------------------------------------------------------------- secrets

def test_camera_and_broker_passwords_never_leave_the_daemon(broker, rtsp, watcher, run_daemon, tmp_path):
    dead = free_port()  # nothing listens: the stream fails, and its error names the URL
    secret_url = f"rtsp://admin:Cam-S3cret%231@127.0.0.1:{dead}/live?user=admin&password=Query-S3cret"
    port = free_port()
    config = daemon_config(broker, {"nursery": rtsp.url, "attic": secret_url})
    config["mqtt"].update({"username": "babymon", "password": "Mqtt-S3cret"})
    config["http"] = {"host": "127.0.0.1", "port": port, "token": "Token-S3cret-0123456789",
                      "evidence": {"path": str(tmp_path / "evidence")}}
    daemon = run_daemon(config)
    state = watcher.wait_for("babymon/attic/state", lambda m: m.json()["health"]["last_error"], timeout=30).json()
    assert "127.0.0.1" in state["health"]["last_error"]  # the error still says which camera host failed
    watcher.wait_text("babymon/nursery/connected", "ON", timeout=20)
    api = Api(port, token="Token-S3cret-0123456789")
    api.wait_up()
    replies = [api.get(path).body for path in ("/api/health", "/api/cameras", "/api/cameras/attic/state")]
    time.sleep(1)
    everything = [daemon.log.encode(), *replies, *(m.payload for m in watcher.messages)]
    for secret in (b"Cam-S3cret", b"Query-S3cret", b"Mqtt-S3cret", b"Token-S3cret"):
        leaks = [blob[:200] for blob in everything if secret in blob]
        assert leaks == [], f"{secret!r} leaked: {leaks}"
    # a non-UTF-8 Authorization header is refused, not a traceback
    status, _ = raw_http(port, b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \xff\xfe\r\n"
                               b"Connection: close\r\n\r\n")
    assert status == 401
    assert "Traceback" not in daemon.log


def test_an_unencoded_hash_in_a_password_is_refused_without_showing_it(tmp_path):
    config = tmp_path / "babymon.yaml"
    config.write_text("cameras:\n  nursery: rtsp://admin:Cam#S3cret@192.168.1.20:554/live\n")
    result = subprocess.run([sys.executable, "-m", "babymon", "check-config", "-c", str(config)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "cameras.nursery.url" in result.stderr and "%23" in result.stderr  # says how to write it
    assert "S3cret" not in result.stderr + result.stdout


# ------------------------------------------------------------------------------------------------- faults

def test_a_failing_camera_monitor_is_restarted_and_other_cameras_go_on(broker, rtsp, watcher, run_daemon,
                                                                        tmp_path, monkeypatch):
    script = tmp_path / "script.json"
    monkeypatch.setenv("BABYMON_TEST_SCRIPT", str(script))
    script.write_text(json.dumps({"cameras": {"attic": {"bad_scores": True}}}))
    daemon = run_daemon(daemon_config(broker, {"nursery": rtsp.url, "attic": rtsp.url}, analyzers=[SCRIPTED]))
    restarted = watcher.wait_for("babymon/attic/state", lambda m: m.json()["health"]["restarts"] >= 1, timeout=30)
    t = time.time()
    watcher.wait_for("babymon/nursery/state", lambda m: m.json()["face"] == "clear", after=t)  # unaffected
    assert daemon.process.poll() is None
    assert [m.text for m in watcher.on("babymon/available")][-1] == "online"
    assert "camera attic: monitoring FAILED" in daemon.log and "starting it again" in daemon.log
    script.write_text("{}")  # the fault goes away: the restarted monitor works again
    watcher.wait_for("babymon/attic/state", lambda m: m.json()["face"] == "clear", after=restarted.at, timeout=90)


def test_an_exit_inside_an_analyzer_says_offline_and_exits_1(broker, rtsp, watcher, run_daemon, tmp_path,
                                                             monkeypatch):
    script = tmp_path / "script.json"
    monkeypatch.setenv("BABYMON_TEST_SCRIPT", str(script))
    daemon = run_daemon(daemon_config(broker, {"nursery": rtsp.url}, analyzers=[SCRIPTED]))
    watcher.wait_text("babymon/nursery/face", "clear", timeout=20)
    t = time.time()
    script.write_text(json.dumps({"exit": True}))  # a library calling sys.exit() in the worker thread
    wait_until(lambda: daemon.process.poll() is not None, timeout=30, message="the daemon to exit")
    assert daemon.process.returncode == 1
    watcher.wait_text("babymon/available", "offline", after=t)
    watcher.wait_text("babymon/nursery/available", "offline", after=t)
    assert "NOT monitoring" in daemon.log and "CRITICAL" in daemon.log
    assert retained(broker, "babymon/available") == [b"offline"]


# ------------------------------------------------------------------------------------------------- HTTP

def test_http_refuses_foreign_host_names_and_frees_stream_slots_during_an_outage(broker, clip, run_daemon,
                                                                                 tmp_path):
    camera = RtspServer(clip, port=free_port()).start()
    try:
        port = free_port()
        config = daemon_config(broker, {"nursery": camera.url})
        config["http"] = {"host": "127.0.0.1", "port": port, "evidence": {"path": str(tmp_path / "evidence")}}
        run_daemon(config)
        api = Api(port)
        api.wait_up()
        wait_until(lambda: api.get("/api/cameras/nursery/state").status == 200, message="a first state")
        # no token: a web page on another site that resolves to 127.0.0.1 (DNS rebinding) is refused
        status, _ = raw_http(port, f"GET /api/health HTTP/1.1\r\nHost: evil.example:{port}\r\n"
                                   "Connection: close\r\n\r\n".encode())
        assert status == 403
        assert api.get("/api/health", headers={"Host": f"localhost:{port}"}).status in (200, 503)

        request = f"GET /api/cameras/nursery/stream.mjpeg HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
        clients = []
        for _ in range(16):  # every slot taken
            conn = socket.create_connection(("127.0.0.1", port), timeout=10)
            conn.sendall(request)
            assert conn.recv(64).startswith(b"HTTP/1.1 200")
            clients.append(conn)
        status, _ = raw_http(port, request.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
        assert status == 503
        camera.stop()  # no new frames: a stream loop that only notices a closed client when writing never ends
        time.sleep(2)
        for conn in clients:
            conn.close()

        def a_slot_is_free() -> bool:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
                conn.sendall(request)
                return conn.recv(64).startswith(b"HTTP/1.1 200")

        wait_until(a_slot_is_free, timeout=10, interval=0.5, message="a stream slot after the clients left")
    finally:
        camera.stop()


def test_an_unusable_evidence_folder_is_reported_and_retried_while_monitoring_goes_on(broker, rtsp, watcher,
                                                                                       run_daemon, tmp_path):
    blocker = tmp_path / "evidence"
    blocker.write_text("a file where the evidence folder should be")
    port = free_port()
    config = daemon_config(broker, {"nursery": rtsp.url})
    config["http"] = {"host": "127.0.0.1", "port": port, "evidence": {"path": str(blocker)}}
    daemon = run_daemon(config)
    watcher.wait_text("babymon/nursery/connected", "ON", timeout=20)  # monitoring started regardless
    watcher.wait_text("babymon/nursery/evidence_problem", "ON")
    api = Api(port)
    api.wait_up()
    health = api.get("/api/health").json()
    assert health["status"] == "degraded" and str(blocker) in " ".join(health["problems"])
    blocker.unlink()  # the user fixes it: the next retry (every 5 s) takes the folder into use
    t = time.time()
    watcher.wait_text("babymon/nursery/evidence_problem", "OFF", after=t, timeout=20)
    assert blocker.is_dir() and (blocker / "events.jsonl").is_file()
    assert api.get("/api/health").json()["status"] == "ok"
    assert daemon.process.poll() is None


def test_a_damaged_event_list_does_not_stop_the_start_and_names_outside_the_store_are_never_served(
        broker, rtsp, watcher, run_daemon, tmp_path):
    store = tmp_path / "evidence"
    store.mkdir()
    victim = tmp_path / "victim.mp4"
    victim.write_bytes(b"not babymon's")
    good, forged = "a" * 32, "b" * 32
    (store / f"{good}.jpg").write_bytes(b"\xff\xd8 a snapshot")
    now = time.time()
    lines = [b"[1,2,3]", b"null", b'{"id": "' + b"c" * 32 + b'", "type": "danger_started", "camera": "nursery"}',
             b'{"id": "' + b"d" * 32 + b'", "type": "x", "camera": "nursery", "timestamp": "noon", "files": "x"}',
             b"\xff\xfe not UTF-8",
             json.dumps({"id": forged, "type": "danger_started", "camera": "nursery", "timestamp": now - 5,
                         "files": {"clip": "../victim.mp4"}}).encode(),
             json.dumps({"id": good, "type": "danger_started", "camera": "nursery", "timestamp": now - 1,
                         "files": {"snapshot": f"{good}.jpg"}}).encode(),
             b'{"id": "cut short, by a crash']
    (store / "events.jsonl").write_bytes(b"\n".join(lines))
    port = free_port()
    config = daemon_config(broker, {"nursery": rtsp.url})
    config["http"] = {"host": "127.0.0.1", "port": port, "evidence": {"path": str(store), "max_bytes": 1}}
    daemon = run_daemon(config)
    api = Api(port)
    api.wait_up()
    listed = [e["id"] for e in api.get("/api/events").json()["events"]]
    assert listed == [good, forged]  # the forged one keeps its event, not its file
    assert api.get(f"/api/events/{forged}/clip.mp4").status == 404
    assert "bad lines skipped" in daemon.log
    # retention (max_bytes 1) deletes the store's own files, never the one the list pointed outside
    wait_until(lambda: not (store / f"{good}.jpg").exists(), timeout=20, message="retention")
    assert victim.read_bytes() == b"not babymon's"

    # a camera switched off is monitored by nobody: health says so rather than "ok"
    watcher.wait_text("babymon/nursery/connected", "ON", timeout=20)
    t = time.time()
    watcher.client.publish("babymon/nursery/enabled/set", "OFF", qos=1)
    watcher.wait_text("babymon/nursery/enabled", "OFF", after=t)
    health = api.get("/api/health").json()
    assert health["status"] == "degraded" and health["cameras"]["nursery"]["enabled"] is False
    assert "camera nursery: monitoring is switched off" in health["problems"]


def test_check_config_on_a_file_that_is_not_utf8_exits_2_naming_the_line(tmp_path):
    config = tmp_path / "babymon.yaml"
    config.write_bytes(b"cameras:\n  nursery: rtsp://192.168.1.20/live\n  # caf\xe9 camera\n")
    result = subprocess.run([sys.executable, "-m", "babymon", "check-config", "-c", str(config)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert str(config) in result.stderr and "UTF-8" in result.stderr and "line 3" in result.stderr
    assert "Traceback" not in result.stderr
