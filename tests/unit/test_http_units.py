"""The HTTP section's pure parts and the evidence store on a real directory (no daemon needed)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from babymon.analyzers.base import Observation
from babymon.config import ConfigError, EvidenceConfig, parse_config
from babymon.evidence import Evidence, EvidenceStore, retention_plan
from babymon.overlay import draw_overlay
from babymon.outputs import FanOut
from babymon.state import build_event

CAMERAS = {"nursery": "rtsp://cam/stream"}


def http(section: dict):
    return parse_config({"cameras": CAMERAS, "http": section}).http


def test_http_defaults_are_loopback_without_token():
    config = http({})
    assert (config.enabled, config.host, config.port, config.token) == (True, "127.0.0.1", 8765, None)
    assert config.evidence.clip_seconds == 0 and config.evidence.path.is_absolute()


@pytest.mark.parametrize(("section", "message"), [
    ({"host": "0.0.0.0"}, "http.token: required when http.host is '0.0.0.0' (not loopback)"),
    ({"host": "192.168.1.5", "token": "short"}, "http.token: must be at least 16 characters"),
    ({"evidence": {"max_bytes": "lots"}}, "http.evidence.max_bytes: 'lots' is not a size"),
    ({"evidence": {"max_age": "soon"}}, "http.evidence.max_age: 'soon' is not a duration"),
    ({"port": 0}, "http.port:"),
    ({"tokn": "x"}, "http.tokn: unknown key"),
])
def test_bad_http_config_names_the_field(section, message):
    with pytest.raises(ConfigError) as error:
        http(section)
    assert any(p.startswith(message) for p in error.value.problems), error.value.problems


def test_token_off_loopback_and_sizes_are_accepted():
    config = http({"host": "0.0.0.0", "token": "0123456789abcdef0123", "evidence": {"max_bytes": "2GiB",
                                                                                      "max_age": "48h"}})
    assert config.token.get_secret_value() == "0123456789abcdef0123" and "0123" not in repr(config)
    assert config.evidence.max_bytes == 2 * 1024**3 and config.evidence.max_age == 48 * 3600


def test_retention_plan_drops_expired_then_oldest_files_first():
    items = [Evidence("a", 100.0, 50), Evidence("b", 200.0, 50), Evidence("c", 300.0, 0),
             Evidence("d", 400.0, 50), Evidence("e", 500.0, 50)]
    expired, drop = retention_plan(items, now=1000.0, max_age=850.0, max_bytes=100)
    assert expired == {"a"}  # older than 850 s
    assert drop == {"b"}  # 150 bytes left: the oldest with files goes; "c" has none to give
    assert retention_plan(items, now=500.0, max_age=1e9, max_bytes=10**6) == (set(), set())


def event(kind: str, at: float, camera: str = "nursery") -> dict:
    return build_event(kind, camera=camera, name="Nursery", at=at, reasons=["face_covered"])


def test_evidence_store_keeps_snapshots_survives_reopen_and_ages_out(tmp_path):
    now = [1000.0]
    config = EvidenceConfig(path=tmp_path / "store", max_age=3600, max_bytes=10**6)
    store = EvidenceStore(config, clock=lambda: now[0]).open()
    first = event("danger_started", 1000.0)
    store.camera_snapshot("nursery", b"\xff\xd8jpeg of nursery")  # the driver sends it just before the alert
    store.camera_event("nursery", first)
    store.camera_state("nursery", {})  # the announcement is over: the next alert brings its own picture
    store.camera_event("nursery", event("danger_cleared", 1010.0))  # no snapshot for a clear
    assert [e["type"] for e in store.events()] == ["danger_cleared", "danger_started"]  # newest first
    path = store.file_path(first["id"], "snapshot")
    assert path.read_bytes() == b"\xff\xd8jpeg of nursery" and path.parent == tmp_path / "store"
    assert store.file_path(first["id"], "clip") is None
    assert store.file_path("../" + first["id"], "snapshot") is None

    with (tmp_path / "store" / "events.jsonl").open("a") as index:
        index.write("not json\n")
    reopened = EvidenceStore(config, clock=lambda: now[0]).open()
    assert [e["id"] for e in reopened.events()] == [e["id"] for e in store.events()]
    assert reopened.file_path(first["id"], "snapshot") == path

    now[0] = 1000.0 + 3600 + 5  # the first event is now too old; the clear (10 s later) is not
    reopened.camera_event("nursery", event("prone_started", now[0]))
    assert [e["type"] for e in reopened.events()] == ["prone_started", "danger_cleared"]
    assert not path.exists()
    lines = (tmp_path / "store" / "events.jsonl").read_text().splitlines()
    assert [json.loads(line)["type"] for line in lines] == ["danger_cleared", "prone_started"]


def test_evidence_store_filters_by_camera_and_time(tmp_path):
    store = EvidenceStore(EvidenceConfig(path=tmp_path, max_age=1e9), clock=lambda: 100.0).open()
    for at, camera in [(10.0, "a"), (20.0, "b"), (30.0, "a"), (40.0, "a")]:
        store.camera_event(camera, event("snoozed", at, camera))
    assert [e["timestamp"] for e in store.events(camera="a")] == [40.0, 30.0, 10.0]
    assert [e["timestamp"] for e in store.events(since=20.0)] == [40.0, 30.0, 20.0]
    assert [e["timestamp"] for e in store.events(limit=2)] == [40.0, 30.0]


def test_overlay_keeps_size_and_shows_danger_in_red():
    image = np.full((240, 320, 3), 128, np.uint8)
    seen = Observation(face_state="covered", posture="prone", cry_probability=0.8, face_box=(100, 50, 180, 130))
    danger = draw_overlay(image, seen, {"monitoring": True, "danger": True, "reasons": ["face_covered"]})
    calm = draw_overlay(image, Observation(face_state="clear"), {"monitoring": True, "danger": False, "reasons": []})
    assert danger.shape == image.shape and image.mean() == 128  # the input is not drawn on
    b, g, r = danger[4, 160]
    assert r > 200 and g < 80  # red banner
    b, g, r = calm[4, 160]
    assert g > 150 and r < 130  # green banner
    assert tuple(danger[90, 100]) == (40, 40, 230)  # the face box, red for a covered face
    assert (danger[-40:-30, -12] != 128).any()  # the cry meter's bar


class Recorder:
    def __init__(self):
        self.events: list[dict] = []

    def camera_state(self, camera, state): ...
    def camera_snapshot(self, camera, jpeg): ...

    def camera_event(self, camera, event):
        self.events.append(event)


class Broken(Recorder):
    def camera_event(self, camera, event):
        raise OSError("disk full")


def test_fan_out_isolates_a_failing_publisher():
    first, second = Recorder(), Recorder()
    FanOut([first, Broken(), second]).camera_event("nursery", {"type": "danger_started"})
    assert first.events == second.events == [{"type": "danger_started"}]


def test_evidence_store_removes_files_it_does_not_list(tmp_path):
    listed = "a" * 32
    (tmp_path / f"{'b' * 32}.jpg").write_bytes(b"orphan")
    (tmp_path / f".{'c' * 32}.mp4.tmp").write_bytes(b"half a clip")
    (tmp_path / "holiday.jpg").write_bytes(b"not ours")
    (tmp_path / f"{listed}.jpg").write_bytes(b"kept")
    record = {**event("danger_started", 50.0), "id": listed, "files": {"snapshot": f"{listed}.jpg"}}
    (tmp_path / "events.jsonl").write_text(json.dumps(record) + "\n")
    store = EvidenceStore(EvidenceConfig(path=tmp_path, max_age=1e9), clock=lambda: 100.0).open()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["events.jsonl", "holiday.jpg", f"{listed}.jpg"])
    assert store.file_path(listed, "snapshot") == tmp_path / f"{listed}.jpg"
