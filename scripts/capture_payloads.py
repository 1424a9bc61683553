"""Record what a real babymon daemon publishes, for the Home Assistant component's tests.

Starts mosquitto, the simulated RTSP camera and ``babymon run`` with scripted analyzers, then walks the
daemon through every event it can raise (face covered, prone, standing, crying, snooze, monitoring off/on,
camera outage) and finally stops it (``offline``). Every message is written to
``tests_ha/fixtures/daemon_payloads.json``:

* ``retained``: the last retained payload of every topic just before the daemon stopped (discovery
  configs, per-field states, the state JSON, the ``_announced`` registry, the snapshot as base64);
* ``events``: every ``<prefix>/<camera>/events`` payload, in order;
* ``offline``: what ``<prefix>/available`` said when the daemon stopped;
* ``migrations``: every ``homeassistant/`` message, in order, of two more starts that switch
  ``mqtt.discovery_schema`` (the capture runs with the default, ``device``): ``to_entity``, then ``to_device``.

Run with the project venv: ``.venv/bin/python scripts/capture_payloads.py`` (about a minute).
Needs mosquitto and the GStreamer RTSP server (see tests/support/services.py).

The module also holds ``ScriptedCryAnalyzer``, an audio test double the daemon loads by name
(``scripts.capture_payloads:ScriptedCryAnalyzer``) so that crying can be made to start and stop.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from babymon.analyzers.base import AudioAnalyzer, Observation

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # tests.support (the real services) and this module, by name, for the daemon
    sys.path.insert(0, str(ROOT))
DEFAULT_OUT = ROOT / "tests_ha" / "fixtures" / "daemon_payloads.json"
CAMERA = "nursery"
SNAPSHOT_MAX_BYTES = 6000


class ScriptedCryAnalyzer(AudioAnalyzer):
    """Says "crying" while the JSON file named by ``BABYMON_TEST_SCRIPT`` has ``"crying": true``."""

    name = "scripted_cry"
    conditions = ("crying",)

    def analyze(self, window) -> Observation:
        path = Path(os.environ.get("BABYMON_TEST_SCRIPT", "/nonexistent"))
        data = json.loads(path.read_text() or "{}") if path.is_file() else {}
        crying = bool(data.get("crying", False))
        return Observation(crying=crying, cry_probability=0.95 if crying else 0.02)


def _daemon_config(broker_host: str, broker_port: int, camera_url: str) -> dict:
    fast = {"on_delay": 0.5, "off_delay": 0.5}
    return {
        "mqtt": {"host": broker_host, "port": broker_port, "reconnect_initial": 0.5, "reconnect_max": 1},
        "http": {"enabled": False},
        "defaults": {
            "detect": {"fps": 5, "width": 320},
            "stream": {"timeout": 3, "retry_initial": 0.5, "retry_max": 1},
            "analyzers": ["tests.support.scripted:ScriptedAnalyzer", "scripts.capture_payloads:ScriptedCryAnalyzer"],
            "stall_timeout": 2,
            "state_interval": 1,
            "rules": {"monitor_unavailable": {"on_delay": 1, "off_delay": 0}, "face_covered": fast, "prone": fast,
                      "standing": fast, "crying": fast},
        },
        "cameras": {CAMERA: {"url": camera_url, "name": "Nursery"}},
    }


def _small_jpeg(jpeg: bytes) -> bytes:
    """The snapshot scaled down until it is at most SNAPSHOT_MAX_BYTES (it stays a real daemon JPEG)."""
    if len(jpeg) <= SNAPSHOT_MAX_BYTES:
        return jpeg
    import cv2
    import numpy as np

    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    for width in (160, 120, 80, 64):
        height = max(1, round(image.shape[0] * width / image.shape[1]))
        ok, encoded = cv2.imencode(".jpg", cv2.resize(image, (width, height)), [cv2.IMWRITE_JPEG_QUALITY, 60])
        if ok and len(encoded) <= SNAPSHOT_MAX_BYTES:
            return encoded.tobytes()
    raise RuntimeError("could not shrink the snapshot")


def _payload(topic: str, payload: bytes) -> dict:
    if topic.endswith("/snapshot") and payload:
        return {"base64": base64.b64encode(_small_jpeg(payload)).decode()}
    return {"text": payload.decode()}


def capture(out: Path) -> dict:
    import yaml

    from babymon_lab.synthetic_clip import make_clip
    from tests.support.services import Mosquitto, RtspServer
    from tests.support.watcher import Watcher

    work = Path(tempfile.mkdtemp(prefix="babymon-capture-"))
    script = work / "script.json"
    script.write_text("{}")
    clip = make_clip(work / "clip.mp4", seconds=20, width=320, height=240, fps=10)
    broker = Mosquitto().start()
    camera = RtspServer(clip).start()
    watcher = Watcher(broker.host, broker.port, topics=("babymon/#", "homeassistant/#"), client_id="capture")
    config_path = work / "babymon.yaml"
    config_path.write_text(yaml.safe_dump(_daemon_config(broker.host, broker.port, camera.url)))
    env = dict(os.environ, BABYMON_TEST_SCRIPT=str(script), PYTHONPATH=str(ROOT))
    log = (work / "babymon.log").open("wb")
    daemon = subprocess.Popen([sys.executable, "-m", "babymon", "run", "-c", str(config_path)],
                              stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
    events_topic = f"babymon/{CAMERA}/events"

    def event(kind: str, after: float, timeout: float = 20.0) -> None:
        watcher.wait_for(events_topic, lambda m: m.json()["type"] == kind, timeout=timeout, after=after)
        print(f"  {kind}", flush=True)

    def scene(fields: dict, *kinds: str) -> None:
        start = time.time()
        script.write_text(json.dumps(fields))
        for kind in kinds:
            event(kind, start)

    def command(field: str, payload: str, *kinds: str) -> None:
        start = time.time()
        watcher.client.publish(f"babymon/{CAMERA}/{field}/set", payload, qos=1).wait_for_publish(5)
        for kind in kinds:
            event(kind, start)

    try:
        watcher.wait_text(f"babymon/{CAMERA}/connected", "ON", timeout=30)
        time.sleep(2)
        scene({"face_state": "covered"}, "face_covered_started", "danger_started")
        watcher.wait_for(f"babymon/{CAMERA}/snapshot", timeout=10)
        scene({}, "face_covered_cleared", "danger_cleared")
        scene({"posture": "prone"}, "prone_started")
        scene({}, "prone_cleared")
        scene({"posture": "standing"}, "standing_started")
        scene({}, "standing_cleared")
        scene({"crying": True}, "cry_started")
        scene({}, "cry_stopped")
        command("snooze", "10m", "snoozed")
        command("snooze", "OFF", "snooze_cancelled")
        command("enabled", "OFF", "monitoring_disabled")
        command("enabled", "ON", "monitoring_enabled")
        start = time.time()
        camera.stop()
        event("monitor_unavailable_started", start)
        camera.start()
        event("monitor_unavailable_cleared", start, timeout=30)
        watcher.wait_text(f"babymon/{CAMERA}/connected", "ON", timeout=20, after=start)
        time.sleep(2)  # let the state settle: everything clear, connected
        retained: dict[str, dict] = {}
        for message in watcher.messages:
            if not message.topic.endswith(("/events", "/set")):  # not the commands this script sent
                retained[message.topic] = _payload(message.topic, message.payload)
        events = [_payload(m.topic, m.payload) | {"topic": m.topic} for m in watcher.messages
                  if m.topic == events_topic]
        stopped = time.time()
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(15)
        offline = watcher.wait_text("babymon/available", "offline", timeout=10, after=stopped)
        log.close()
        migrations = {}
        for schema in ("entity", "device"):
            config = _daemon_config(broker.host, broker.port, camera.url)
            config["mqtt"]["discovery_schema"] = schema
            config_path.write_text(yaml.safe_dump(config))
            log = (work / f"babymon-{schema}.log").open("wb")
            start = time.time()
            daemon = subprocess.Popen([sys.executable, "-m", "babymon", "run", "-c", str(config_path)],
                                      stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
            watcher.wait_for("babymon/_announced", timeout=30, after=start)  # written once the announcement is over
            migrations[f"to_{schema}"] = [_payload(m.topic, m.payload) | {"topic": m.topic}
                                          for m in watcher.messages if m.at >= start and m.topic.startswith("homeassistant/")]
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(15)
            log.close()
            print(f"  moved to the {schema} discovery schema: {len(migrations[f'to_{schema}'])} messages", flush=True)
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait(5)
        log.close()
        watcher.close()
        camera.stop()
        broker.stop()
    from babymon import __version__

    data = {
        "captured_with": {"babymon": __version__, "script": "scripts/capture_payloads.py", "camera": CAMERA},
        "retained": dict(sorted(retained.items())),
        "events": events,
        "offline": {"topic": offline.topic, "text": offline.text},
        "migrations": migrations,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n")
    return data


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"where to write (default {DEFAULT_OUT})")
    args = parser.parse_args()
    print("capturing daemon payloads (events as they happen):", flush=True)
    data = capture(args.out)
    print(f"wrote {args.out}: {len(data['retained'])} retained topics, {len(data['events'])} events, "
          f"{args.out.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
