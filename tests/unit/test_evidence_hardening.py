"""The evidence store never dies because of its folder and never reaches outside it.

* a bad ``events.jsonl`` (not UTF-8, not JSON, not an event, cut short) loses only its bad lines;
* a file name in the list that is not the store's own (``../victim.txt``, a link) is never served or deleted;
* a folder that cannot be written (gone, not a directory, read-only, full: real tmpfs mounts, root only)
  keeps events in memory, says so in ``problem``, and ``retry()`` writes them once it works again;
* arbitrary bytes as ``events.jsonl`` (fuzz) never make ``open()`` raise.
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import av
import numpy as np
import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given
from hypothesis import strategies as st

from babymon.evidence import files as evidence_files
from babymon.evidence import store as evidence_module
from babymon.config import EvidenceConfig, parse_config
from babymon.evidence import EVENT_ID, FILE_KINDS, INDEX, EvidenceStore, parse_event, write_clip
from babymon.http import service as service_module
from babymon.http.live import LiveView
from babymon.http.metrics import EventCounter
from babymon.http.server import make_app
from babymon.http.service import HttpService
from babymon.state import build_event

JPEG = b"\xff\xd8" + b"j" * 2000


def config(path: Path, **extra) -> EvidenceConfig:
    return EvidenceConfig(path=path, **{"max_age": 1e9, "max_bytes": 10**9, **extra})


def event(kind: str = "danger_started", at: float = 100.0, camera: str = "nursery") -> dict:
    return build_event(kind, camera=camera, name="Nursery", at=at, reasons=["face_covered"])


def line(record: dict) -> bytes:
    return json.dumps(record).encode() + b"\n"


def store_at(path: Path, **extra) -> EvidenceStore:
    """A store whose every alert comes with a snapshot (as the camera driver sends it, before the events)."""
    store = EvidenceStore(config(path, **extra), clock=lambda: 1000.0).open()
    store.camera_snapshot("nursery", JPEG)
    return store


def reopen(path: Path) -> EvidenceStore:
    return EvidenceStore(config(path), clock=lambda: 1000.0).open()


def listed_ids(store: EvidenceStore) -> list[str]:
    return [e["id"] for e in store.events(limit=10**6)]


def index_on_disk(root: Path) -> list[dict]:
    """The list as written: every line must be a well-formed event and the file must end with a newline."""
    data = (root / INDEX).read_bytes()
    assert not data or data.endswith(b"\n")
    events = [parse_event(raw) for raw in data.splitlines()]
    assert None not in events, data
    return events


def temp_files(root: Path) -> list[str]:
    return [p.name for p in root.iterdir() if p.name.endswith(".tmp")]


# -------------------------------------------------------------------------------------------- bad lines

def test_bad_lines_are_skipped_with_one_warning_and_good_ones_kept(tmp_path, caplog):
    first, second = event(at=10.0), event("danger_cleared", at=20.0)
    bad = [
        b"\xff\xfe not UTF-8 \xc3\x28",
        b"not json",
        b"[1, 2, 3]",
        line({**event(), "id": 12345})[:-1],
        line({**event(), "id": "../../etc/passwd"})[:-1],
        line({**event(), "timestamp": "soon"})[:-1],
        line({**event(), "timestamp": True})[:-1],
        line({**event(), "reasons": [1, 2]})[:-1],
        line({**event(), "files": ["x.jpg"]})[:-1],
        b'{"timestamp": NaN, "id": "' + b"a" * 32 + b'", "type": "x", "camera": "c"}',
    ]
    partial = line(event(at=30.0))[:40]  # a write cut short: no newline
    (tmp_path / INDEX).write_bytes(line(first) + b"\n".join(bad) + b"\n" + line(second) + partial)
    with caplog.at_level(logging.WARNING, logger="babymon.evidence"):
        store = store_at(tmp_path)
    assert listed_ids(store) == [second["id"], first["id"]]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert str(tmp_path / INDEX) in warnings[0] and "11 bad lines skipped (line 2, 3, 4, 5, 6, …" in warnings[0]
    assert "no newline" in warnings[0]
    assert store.problem is None

    store.camera_event("nursery", event("cry_started", at=40.0))
    assert [e["type"] for e in index_on_disk(tmp_path)] == ["danger_started", "danger_cleared", "cry_started"]
    assert [e["type"] for e in reopen(tmp_path).events()] == [
        "cry_started", "danger_cleared", "danger_started"]


def test_a_complete_last_line_without_newline_is_kept_and_the_next_line_starts_anew(tmp_path):
    first = event(at=10.0)
    (tmp_path / INDEX).write_bytes(line(first)[:-1])
    store = store_at(tmp_path)
    assert listed_ids(store) == [first["id"]]
    with (tmp_path / INDEX).open("ab") as index:  # a person adds a line by hand, again without a newline
        index.write(b'{"half": ')
    store.camera_event("nursery", event("snoozed", at=20.0))
    lines = (tmp_path / INDEX).read_bytes().splitlines()
    assert lines[-2] == b'{"half": ' and parse_event(lines[-1])["type"] == "snoozed"


def test_odd_values_in_an_event_are_stored_as_plain_json(tmp_path):
    store = store_at(tmp_path)
    odd = {**event("cry_started"), "cry_probability": np.float32(0.5), "score": float("nan"), "big": 1e308 * 10}
    store.camera_event("nursery", odd)
    stored = index_on_disk(tmp_path)[0]
    assert (stored["cry_probability"], stored["score"], stored["big"]) == (0.5, None, None)
    assert store.problem is None


# --------------------------------------------------------------------------------------------- traversal

@pytest.fixture
def poisoned(tmp_path):
    """A store whose list names ``../victim.txt``, an absolute path and a link to the victim."""
    victim = tmp_path / "victim.txt"
    victim.write_text("not evidence")
    root = tmp_path / "store"
    root.mkdir()
    escape, absolute, linked = (uuid.uuid4().hex for _ in range(3))
    os.symlink(victim, root / f"{linked}.jpg")
    records = [{**event(at=10.0), "id": escape, "files": {"snapshot": "../victim.txt", "clip": "../victim.txt"}},
               {**event(at=11.0), "id": absolute, "files": {"snapshot": str(victim)}},
               {**event(at=12.0), "id": linked, "files": {"snapshot": f"{linked}.jpg"}}]
    (root / INDEX).write_bytes(b"".join(line(r) for r in records))
    return root, victim, [escape, absolute, linked]


def test_a_file_name_outside_the_store_is_never_served_or_deleted(poisoned, monkeypatch):
    root, victim, ids = poisoned
    now = [1000.0]
    store = EvidenceStore(config(root, max_age=10_000.0, max_bytes=1), clock=lambda: now[0]).open()
    assert sorted(listed_ids(store)) == sorted(ids)  # the events themselves are kept
    for event_id in ids:
        assert store.file_path(event_id, "snapshot") is None and store.file_path(event_id, "clip") is None
    assert all(not e["files"] for e in store.events())
    assert not (root / f"{ids[2]}.jpg").is_symlink()  # the link (not ours) was removed, not what it points to

    monkeypatch.setattr(evidence_module, "MAX_EVENTS", 1)
    store.camera_event("nursery", event("snoozed", at=1000.0))  # drops the oldest events beyond the maximum
    now[0] = 10**6
    store.enforce_retention()  # everything has aged out
    assert store.events() == [] and victim.read_text() == "not evidence"


async def test_the_http_route_refuses_a_file_name_outside_the_store(poisoned):
    root, victim, ids = poisoned
    store = reopen(root)
    app = make_app(LiveView({}), store, EventCounter(), token=None)
    async with TestClient(TestServer(app)) as client:
        listed = await (await client.get("/api/events")).json()
        assert {e["id"] for e in listed["events"]} == set(ids)
        assert all(e["snapshot_url"] is None for e in listed["events"])
        for event_id in ids:
            for name in ("snapshot.jpg", "clip.mp4"):
                response = await client.get(f"/api/events/{event_id}/{name}")
                assert response.status == 404 and b"not evidence" not in await response.read()
    assert victim.read_text() == "not evidence"


# ---------------------------------------------------------------------------------- unwritable folders

def test_a_path_that_cannot_be_a_folder_keeps_events_in_memory_until_retry_works(tmp_path, monkeypatch):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder should be")
    root = blocker / "evidence"
    monkeypatch.setattr(evidence_module, "MEMORY_ONLY_MAX", 5)
    store = store_at(root)  # does not raise
    assert f"http.evidence.path '{root}': Not a directory; keeping events in memory" == store.problem
    sent = [event("danger_started", at=100.0 + i) for i in range(8)]
    for item in sent:
        store.camera_event("nursery", item)
    assert listed_ids(store) == [e["id"] for e in reversed(sent[-5:])]  # the newest, bounded
    assert store.file_path(sent[-1]["id"], "snapshot") is None
    assert store.retry() is False and store.problem

    blocker.unlink()
    assert store.retry() is True and store.problem is None
    assert [e["id"] for e in index_on_disk(root)] == [e["id"] for e in sent[-5:]]
    store.camera_event("nursery", event("cry_started", at=200.0))
    assert store.file_path(listed_ids(store)[0], "snapshot").read_bytes() == JPEG


def test_a_deleted_folder_is_recreated_by_retry(tmp_path):
    root = tmp_path / "evidence"
    store = store_at(root)
    store.camera_event("nursery", event(at=100.0))
    shutil.rmtree(root)
    store.camera_event("nursery", event("cry_started", at=110.0))  # does not raise
    assert store.problem and str(root) in store.problem and "No such file or directory" in store.problem
    assert [e["type"] for e in store.events()] == ["cry_started", "danger_started"]
    assert store.retry() is True and store.problem is None
    assert [e["type"] for e in index_on_disk(root)] == ["danger_started", "cry_started"]


def test_an_index_that_is_not_a_file_does_not_block_or_raise(tmp_path):
    os.mkfifo(tmp_path / INDEX)  # opening a FIFO for reading would wait for a writer for ever
    store = store_at(tmp_path)
    assert store.problem == f"http.evidence.path '{tmp_path}': {INDEX} is not a regular file; keeping events in memory"
    store.camera_event("nursery", event(at=100.0))
    assert len(store.events()) == 1
    (tmp_path / INDEX).unlink()
    assert store.retry() is True and len(index_on_disk(tmp_path)) == 1


def test_the_http_service_opens_and_retries_an_unusable_evidence_path(tmp_path, monkeypatch):
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    http = parse_config({"cameras": {"nursery": "rtsp://cam/stream"},
                         "http": {"evidence": {"path": str(blocker / "evidence")}}}).http
    service = HttpService(http, {})
    service.open()  # does not raise: the daemon monitors on
    assert str(blocker / "evidence") in service.evidence.problem

    async def retried() -> None:
        monkeypatch.setattr(service_module, "RETRY_INTERVAL", 0.01)
        loop = asyncio.create_task(service._retry_loop())
        blocker.unlink()
        for _ in range(500):
            if service.evidence.problem is None:
                break
            await asyncio.sleep(0.01)
        loop.cancel()

    asyncio.run(retried())
    assert service.evidence.problem is None and (blocker / "evidence" / INDEX).exists()


def _run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, check=False)


@pytest.fixture
def tmpfs(tmp_path):
    """A 64 KiB tmpfs (a real full or read-only disk: as root, chmod stops nothing); skipped where not allowed."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (the full and read-only disk tests run as root only)")
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    mounted = _run("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount))
    if mounted.returncode != 0:
        pytest.skip(f"mount -t tmpfs is not permitted here: {mounted.stderr.strip()}")
    try:
        yield mount
    finally:
        if _run("umount", str(mount)).returncode != 0:
            _run("umount", "-l", str(mount))


def remount(mount: Path, mode: str) -> None:
    result = _run("mount", "-o", f"remount,{mode}", str(mount))
    assert result.returncode == 0, result.stderr


def test_a_read_only_folder_keeps_events_in_memory_and_retry_writes_them(tmpfs):
    root = tmpfs / "evidence"
    store = store_at(root)
    store.camera_event("nursery", event(at=100.0))
    remount(tmpfs, "ro")
    try:
        for i, kind in enumerate(["cry_started", "danger_cleared", "danger_started"]):
            store.camera_event("nursery", event(kind, at=110.0 + i))  # no exception
        assert store.problem and str(root) in store.problem and "Read-only file system" in store.problem
        assert [e["type"] for e in store.events()] == ["danger_started", "danger_cleared", "cry_started",
                                                       "danger_started"]
        store.enforce_retention()
        assert store.retry() is False and store.problem
        assert reopen(root).problem  # a fresh start says so at once
    finally:
        remount(tmpfs, "rw")
    assert store.retry() is True and store.problem is None
    assert [e["type"] for e in index_on_disk(root)] == ["danger_started", "cry_started", "danger_cleared",
                                                          "danger_started"]
    assert temp_files(root) == []


def fill(mount: Path) -> Path:
    filler = mount / "filler"
    with filler.open("wb", buffering=0) as out:
        try:
            while True:
                out.write(b"\0" * 512)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


def test_a_full_disk_loses_no_event_and_leaves_no_half_lines_or_temporary_files(tmpfs):
    root = tmpfs / "evidence"
    store = store_at(root)
    store.camera_event("nursery", event(at=100.0))
    filler = fill(tmpfs)
    sent = [event("danger_started" if i % 2 else "cry_stopped", at=110.0 + i) for i in range(40)]
    for item in sent:
        store.camera_event("nursery", item)  # no exception
    assert store.problem and str(root) in store.problem and "No space left on device" in store.problem
    assert len(store.events(limit=1000)) == 41
    assert temp_files(root) == []
    on_disk = index_on_disk(root)  # a line that did not fit was cut back off
    assert len(on_disk) < 41
    assert store.retry() is False

    filler.unlink()
    assert store.retry() is True and store.problem is None
    assert [e["id"] for e in index_on_disk(root)] == listed_ids(reopen(root))[::-1]
    assert len(index_on_disk(root)) == 41 and temp_files(root) == []


def test_a_half_written_line_that_cannot_be_cut_off_is_rewritten_at_the_next_write(tmp_path, monkeypatch):
    store = store_at(tmp_path)
    store.camera_event("nursery", event("snoozed", at=100.0))
    real_write_all = evidence_files.write_all

    def half_then_full_disk(fd: int, data: bytes) -> None:
        os.write(fd, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def cannot_truncate(fd: int, size: int) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(evidence_files, "write_all", half_then_full_disk)
    monkeypatch.setattr(evidence_files.os, "ftruncate", cannot_truncate)
    store.camera_event("nursery", event("monitoring_disabled", at=110.0))
    assert "No space left on device" in store.problem
    assert parse_event((tmp_path / INDEX).read_bytes().splitlines()[-1]) is None  # the half line is still there
    monkeypatch.setattr(evidence_files, "write_all", real_write_all)
    store.camera_event("nursery", event("monitoring_enabled", at=120.0))
    assert [e["type"] for e in index_on_disk(tmp_path)] == ["snoozed", "monitoring_disabled", "monitoring_enabled"]
    assert store.retry() is True and store.problem is None


def test_stale_temporary_files_are_removed_at_open(tmp_path):
    for name in (f".{'a' * 32}.jpg.tmp", f".{INDEX}.tmp", f".{'b' * 32}.mp4.tmp"):
        (tmp_path / name).write_bytes(b"half")
    (tmp_path / ".holiday.tmp").write_bytes(b"not ours")
    store_at(tmp_path)
    assert temp_files(tmp_path) == [".holiday.tmp"]


def test_a_failed_clip_leaves_no_temporary_file(tmp_path):
    image = np.zeros((64, 64, 3), np.uint8)
    with pytest.raises((AttributeError, TypeError, ValueError)):
        write_clip(tmp_path / f"{'c' * 32}.mp4", [image, "not an image"], [0.0, 0.1])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("times", [
    [0.0, 0.053, 0.062, 0.063, 0.2, 0.4, 0.6, 0.8],  # a burst after a reconnect: closer than 1/30 s
    [1.8e9 + 0.2 * i for i in range(40)],  # more frames than the encoder holds back before its first packet
], ids=["burst", "long"])
def test_clips_of_any_frame_timing_are_written(tmp_path, times):
    images = [np.full((64, 64, 3), 5 * i, np.uint8) for i in range(len(times))]
    path = tmp_path / f"{'d' * 32}.mp4"
    write_clip(path, images, times)
    with av.open(str(path)) as container:
        assert len(list(container.decode(video=0))) == len(times)
    assert list(tmp_path.iterdir()) == [path]


# ------------------------------------------------------------------------------------------------- fuzz

ids = st.sampled_from([uuid.uuid4().hex for _ in range(4)]) | st.text(max_size=34)
json_leaf = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10)
records = st.fixed_dictionaries(
    {"id": ids, "type": st.sampled_from(["danger_started", "snoozed"]) | json_leaf,
     "camera": st.just("nursery") | json_leaf, "timestamp": st.floats() | st.integers() | json_leaf},
    optional={"reasons": st.lists(st.text(max_size=5) | json_leaf, max_size=3) | json_leaf,
              "name": json_leaf, "condition": json_leaf, "time": json_leaf,
              "files": st.dictionaries(st.sampled_from(["snapshot", "clip", "x"]) | st.text(max_size=5),
                                       st.sampled_from(["../victim.txt", "/etc/passwd", ""]) | json_leaf,
                                       max_size=2) | json_leaf,
              "extra": json_leaf})
index_lines = st.lists(st.binary(max_size=120) | records.map(lambda r: json.dumps(r).encode())
                       | st.sampled_from([b"[" * 100_000, b"{" * 5000, b"1e999", b"\xff" * 10, b"null", b""]),
                       max_size=12)


@pytest.mark.fuzz
@given(index_lines, st.booleans())
def test_fuzz_any_events_jsonl_opens_and_lists_only_well_formed_events(lines, newline_at_end):
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / INDEX).write_bytes(b"\n".join(lines) + (b"\n" if newline_at_end else b""))
        store = EvidenceStore(config(root), clock=lambda: 1000.0).open()
        assert store.problem is None
        for record in store.events(limit=10**6):
            assert isinstance(record["id"], str) and EVENT_ID.fullmatch(record["id"])
            assert isinstance(record["type"], str) and isinstance(record["camera"], str)
            assert isinstance(record["timestamp"], (int, float)) and not isinstance(record["timestamp"], bool)
            assert all(isinstance(reason, str) for reason in record["reasons"])
            assert all(name == record["id"] + FILE_KINDS[kind] for kind, name in record["files"].items())
        store.camera_event("nursery", event(at=1000.0))
        assert len(index_on_disk(root)) == len(store.events(limit=10**6))
