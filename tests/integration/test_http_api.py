"""The HTTP API against the real daemon (`babymon run`) fed by a real RTSP server."""

from __future__ import annotations

import io
import json
import time
import urllib.request
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from tests.conftest import daemon_config, wait_until
from tests.support.http_client import Api
from tests.support.services import RtspServer, free_port

pytestmark = pytest.mark.integration

SCRIPTED = "tests.support.scripted:ScriptedAnalyzer"
FACE_BOX = [120, 60, 200, 140]
TOKEN = "correct-horse-battery-staple"


def http_config(broker, camera_url: str, store: Path, port: int, evidence: dict | None = None, **http) -> dict:
    config = daemon_config(broker, {"nursery": {"url": camera_url, "name": "Nursery"}}, analyzers=[SCRIPTED])
    config["http"] = {"host": "127.0.0.1", "port": port, "evidence": {"path": str(store), **(evidence or {})}, **http}
    return config


def decode_jpeg(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, "not a JPEG"
    return image


def banner_colour(image: np.ndarray) -> str:
    b, g, r = image[3:8, :, :].reshape(-1, 3).mean(axis=0)  # the status banner across the top
    return "red" if r > 150 and g < 100 else "green" if g > 150 and r < 130 else "other"


def set_script(path: Path, **fields) -> None:
    path.write_text(json.dumps({"face_box": FACE_BOX, **fields}))


@pytest.fixture
def script(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "script.json"
    set_script(path, face_state="clear")
    monkeypatch.setenv("BABYMON_TEST_SCRIPT", str(path))
    return path


def test_endpoints_snapshot_stream_events_and_metrics(broker, rtsp, run_daemon, script, tmp_path):
    port = free_port()
    daemon = run_daemon(http_config(broker, rtsp.url, tmp_path / "evidence", port, evidence={"clip_seconds": 2}))
    api = Api(port)
    api.wait_up()
    health = wait_until(lambda: (r := api.get("/api/health")).status == 200 and r, message="healthy")
    assert health.content_type.startswith("application/json")
    assert health.json()["cameras"]["nursery"] == {"enabled": True, "monitoring": True, "reasons": [], "restarts": 0}

    cameras = api.get("/api/cameras")
    assert cameras.status == 200 and cameras.content_type.startswith("application/json")
    [camera] = cameras.json()["cameras"]
    assert camera["camera"] == "nursery" and camera["stream_url"] == "/api/cameras/nursery/stream.mjpeg"

    state = api.get("/api/cameras/nursery/state")
    assert state.status == 200 and state.content_type.startswith("application/json")
    assert state.json()["face"] == "clear" and state.json()["monitoring"] is True
    assert state.json()["face_box"] == FACE_BOX

    missing = api.get("/api/cameras/attic/state")
    assert missing.status == 404 and missing.content_type.startswith("application/json")
    assert missing.json()["error"] == "unknown camera 'attic'" and missing.json()["cameras"] == ["nursery"]
    assert api.get("/api/cameras/attic/snapshot.jpg").status == 404
    assert api.get("/api/nothing").json()["error"] == "Not Found"

    snapshot = api.get("/api/cameras/nursery/snapshot.jpg")
    assert snapshot.status == 200 and snapshot.content_type == "image/jpeg"
    image = decode_jpeg(snapshot.body)
    assert image.shape == (240, 320, 3)  # the configured detect width; the clip's aspect kept
    assert banner_colour(image) == "green"
    x1, y1, x2, y2 = FACE_BOX
    left_edge = image[y1 + 10:y2 - 10, x1 - 1:x1 + 2].reshape(-1, 3).mean(axis=0)
    assert left_edge[1] > 150 and left_edge[2] < 150  # the face box, drawn green for a clear face

    content_type, frames = api.mjpeg_frames("/api/cameras/nursery/stream.mjpeg", count=4, timeout=10)
    assert content_type.startswith("multipart/x-mixed-replace; boundary=")
    assert len(frames) == 4 and len(set(frames)) >= 3  # new frames keep coming (with their timestamps)
    assert all(decode_jpeg(f).shape == (240, 320, 3) for f in frames)

    # danger: a covered face becomes an event with its snapshot (red banner) and a clip
    set_script(script, face_state="covered")
    started = wait_until(lambda: [e for e in api.get("/api/events").json()["events"]
                                  if e["type"] == "danger_started" and e["reasons"] == ["face_covered"]],
                         message="danger_started (face_covered) in /api/events")[0]
    assert started["camera"] == "nursery" and started["face"] == "covered"
    listed = api.get("/api/events").json()["events"]
    assert [e["timestamp"] for e in listed] == sorted((e["timestamp"] for e in listed), reverse=True)  # newest first
    evidence = api.get(started["snapshot_url"])
    assert evidence.status == 200 and evidence.content_type == "image/jpeg"
    assert banner_colour(decode_jpeg(evidence.body)) == "red"
    clip_url = wait_until(lambda: next((e["clip_url"] for e in api.get("/api/events").json()["events"]
                                        if e["id"] == started["id"] and e["clip_url"]), None),
                          timeout=15, message="the clip of danger_started")
    clip = api.get(clip_url)
    assert clip.status == 200 and clip.content_type == "video/mp4"
    with av.open(io.BytesIO(clip.body)) as container:
        decoded = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
    assert len(decoded) >= 5 and decoded[0].shape == (240, 320, 3)  # about 2 s at 5 fps

    metrics = api.get("/metrics")
    assert metrics.status == 200 and metrics.content_type.startswith("text/plain")
    text = metrics.body.decode()
    values = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
              if line and not line.startswith("#")}
    assert values['babymon_fps{camera="nursery"}'] > 2
    assert values['babymon_events_total{camera="nursery",type="face_covered_started"}'] == 1
    assert values['babymon_events_total{camera="nursery",type="danger_started"}'] >= 1
    assert values['babymon_analysis_ms_count{camera="nursery",stage="scripted"}'] > 10
    assert values['babymon_analysis_ms_sum{camera="nursery",stage="scripted"}'] > 0
    assert 'babymon_dropped_frames_total{camera="nursery"}' in values
    assert 'babymon_reconnects_total{camera="nursery"}' in values

    # nothing outside the event store is served
    for path in ("/api/events/..%2F..%2Fetc%2Fpasswd/snapshot.jpg", "/static/..%2Fserver.py",
                 "/static/../evidence.py", f"/api/events/{'0' * 32}/snapshot.jpg", "/api/events/events.jsonl"):
        reply = api.get(path)
        assert reply.status == 404, path
        assert b"root:" not in reply.body and b"import" not in reply.body

    # a viewer still watching does not hold up a shutdown
    with urllib.request.urlopen(api.base + "/api/cameras/nursery/stream.mjpeg", timeout=10) as viewer:
        assert viewer.read(2000)
        stopping = time.time()
        assert daemon.stop() == 0
        assert time.time() - stopping < 5


def test_health_follows_the_camera_and_events_survive_a_restart(broker, clip, run_daemon, script, tmp_path):
    camera = RtspServer(clip, port=free_port()).start()
    port = free_port()
    config = http_config(broker, camera.url, tmp_path / "evidence", port)
    try:
        daemon = run_daemon(config)
        api = Api(port)
        api.wait_up()
        wait_until(lambda: api.get("/api/health").status == 200, message="healthy")
        camera.stop()
        down = wait_until(lambda: (r := api.get("/api/health")).status == 503 and r, timeout=15, message="503")
        assert down.json()["status"] == "unhealthy"
        assert any("stream is down" in r for r in down.json()["cameras"]["nursery"]["reasons"])
        started = wait_until(lambda: [e for e in api.get("/api/events").json()["events"]
                                      if e["type"] == "monitor_unavailable_started"], message="unavailable event")
        camera.start()
        wait_until(lambda: api.get("/api/health").status == 200, timeout=20, message="healthy again")
        before = {e["id"] for e in api.get("/api/events").json()["events"]}
        assert started[0]["id"] in before

        daemon.stop()
        run_daemon(config)
        api.wait_up()
        after = {e["id"] for e in api.get("/api/events").json()["events"]}
        assert before <= after  # the list was read back from disk
    finally:
        camera.stop()


def test_token_is_enforced(broker, rtsp, run_daemon, script, tmp_path, watcher):
    port = free_port()
    run_daemon(http_config(broker, rtsp.url, tmp_path / "evidence", port, token=TOKEN))
    # where Home Assistant's live camera finds the API: the address, and that it needs a token (never the token)
    announced = watcher.wait_for("babymon/web")
    assert json.loads(announced.payload) == {"url": f"http://127.0.0.1:{port}", "token": True}
    assert TOKEN.encode() not in announced.payload
    anonymous = Api(port)
    anonymous.wait_up()
    for path in ("/", "/api/health", "/api/cameras", "/api/cameras/nursery/snapshot.jpg", "/api/events", "/metrics"):
        reply = anonymous.get(path)
        assert reply.status == 401 and reply.content_type.startswith("application/json"), path
        assert reply.headers["www-authenticate"] == "Bearer"
    assert anonymous.get("/api/cameras", headers={"Authorization": "Bearer wrong-token-wrong-token"}).status == 401
    assert anonymous.get("/api/cameras?token=wrong-token-wrong-token").status == 401
    assert Api(port, token=TOKEN).get("/api/cameras").status == 200
    assert anonymous.get(f"/api/cameras?token={TOKEN}").status == 200  # for <img> and the page's own requests
    page = anonymous.get(f"/?token={TOKEN}")
    assert page.status == 200 and page.content_type.startswith("text/html")


def test_retention_deletes_the_oldest_evidence_first(broker, rtsp, run_daemon, script, tmp_path):
    port = free_port()
    evidence = tmp_path / "evidence"
    max_bytes = 40_000  # room for a few 320x240 snapshots
    run_daemon(http_config(broker, rtsp.url, evidence, port, evidence={"max_bytes": max_bytes}))
    api = Api(port)
    api.wait_up()
    wait_until(lambda: api.get("/api/health").status == 200, message="healthy")
    time.sleep(1.5)  # past the start-up's own events (monitor unavailable until the first frame)
    since = time.time()
    listing = f"/api/events?limit=1000&since={since}"

    def alerts() -> list[dict]:
        return [e for e in api.get(listing).json()["events"] if e["type"] == "face_covered_started"]

    for cycle in range(1, 6):
        set_script(script, face_state="covered")
        wait_until(lambda n=cycle: len(alerts()) >= n, message=f"alert {cycle}")
        set_script(script, face_state="clear")
        wait_until(lambda: api.get("/api/cameras/nursery/state").json()["danger"] is False, message="cleared")

    with_snapshot = [e for e in api.get("/api/events?limit=1000").json()["events"] if e["snapshot_url"]]
    assert all(e["timestamp"] >= since for e in with_snapshot)
    stored = [e for e in api.get(listing).json()["events"]
              if e["type"] in ("danger_started", "face_covered_started")]
    assert len(stored) == 10  # danger_started + face_covered_started, five times: the events all stay listed
    assert 0 < len(with_snapshot) < len(stored)  # but not all their snapshots fit
    newest_first = [e["id"] for e in stored]
    kept = [i for i, event_id in enumerate(newest_first) if any(e["id"] == event_id for e in with_snapshot)]
    assert kept == list(range(len(kept)))  # the snapshots kept are the newest ones
    files = [p for p in evidence.iterdir() if p.suffix == ".jpg"]
    assert len(files) == len(with_snapshot)
    assert sum(p.stat().st_size for p in files) <= max_bytes
    dropped = stored[-1]
    assert dropped["snapshot_url"] is None
    assert api.get(f"/api/events/{dropped['id']}/snapshot.jpg").status == 404
