"""Event evidence on disk: every event in an append-only list, a snapshot (and optionally a clip) per alert.

Layout under ``http.evidence.path``::

    events.jsonl            one JSON event per line, oldest first (the list survives restarts)
    <event id>.jpg          the annotated frame when an alert started
    <event id>.mp4          a clip around it (when ``clip_seconds`` > 0)

Retention (:func:`retention_plan`, pure): events older than ``max_age`` go with their files; beyond
``max_bytes`` the files of the oldest events go first (the event itself stays in the list until it ages out).
Files are only ever served by looking an event id up in this list, so nothing outside the store is reachable.

The store is a :class:`~babymon.monitor.Publisher`. Writes are small and rare (alerts), so they happen
on the event loop (just after the evaluation that raised the event); clips are encoded in a worker thread.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from babymon.config import EvidenceConfig

log = logging.getLogger(__name__)

INDEX = "events.jsonl"
EVENT_ID = re.compile(r"^[0-9a-f]{32}$")
FILE_KINDS = {"snapshot": ".jpg", "clip": ".mp4"}
#: alert starts that get a snapshot (monitor_unavailable has no fresh frame worth keeping)
SNAPSHOT_EVENTS = frozenset({"danger_started", "face_covered_started", "prone_started", "standing_started",
                             "cry_started"})
CLIP_EVENTS = frozenset({"danger_started"})
MAX_EVENTS = 20_000  # kept in memory and in the list, newest


@dataclass(frozen=True)
class Evidence:
    """What retention needs to know about one stored event."""

    event_id: str
    timestamp: float
    size: int  # bytes of its files


def retention_plan(items: Iterable[Evidence], *, now: float, max_age: float,
                   max_bytes: int) -> tuple[set[str], set[str]]:
    """→ (events to forget entirely, events whose files to delete). Oldest evidence goes first."""
    ordered = sorted(items, key=lambda e: e.timestamp)
    expired = {e.event_id for e in ordered if now - e.timestamp > max_age}
    total = sum(e.size for e in ordered if e.event_id not in expired)
    drop_files: set[str] = set()
    for item in ordered:
        if total <= max_bytes:
            break
        if item.event_id in expired or item.size == 0:
            continue
        drop_files.add(item.event_id)
        total -= item.size
    return expired, drop_files


class EvidenceStore:
    """Events, snapshots and clips on disk, with retention. ``render(camera)`` gives the annotated JPEG now."""

    def __init__(self, config: EvidenceConfig, render: Callable[[str], bytes | None] | None = None,
                 clock: Callable[[], float] = time.time):
        self.config = config
        self.root = Path(config.path)
        self.render = render
        self.clock = clock
        self._events: collections.OrderedDict[str, dict] = collections.OrderedDict()  # oldest first
        self._lock = threading.RLock()  # the index and the list: clip threads finish while the loop writes
        self._clips = ClipRecorder(config.clip_seconds, self._clip_done) if config.clip_seconds > 0 else None

    # -------------------------------------------------------------------------------------------- setup

    def open(self) -> EvidenceStore:
        self.root.mkdir(parents=True, exist_ok=True)
        index = self.root / INDEX
        if index.exists():
            for number, line in enumerate(index.read_text(encoding="utf-8").splitlines(), 1):
                try:
                    event = json.loads(line)
                    if not EVENT_ID.match(str(event.get("id"))):
                        raise ValueError("no valid id")
                except ValueError as exc:
                    log.warning("%s line %d: skipped, not an event (%s)", index, number, exc)
                    continue
                event["files"] = {k: f for k, f in (event.get("files") or {}).items()
                                  if k in FILE_KINDS and (self.root / f).is_file()}
                self._events[event["id"]] = event
        self._remove_orphans()
        log.info("evidence store %s: %d events", self.root, len(self._events))
        self.enforce_retention()
        return self

    def _remove_orphans(self) -> None:
        """Evidence files no event lists (a crash between writing a file and the list) and unfinished writes."""
        listed = {name for record in self._events.values() for name in record["files"].values()}
        for path in self.root.iterdir():
            stem = path.name.split(".")[1] if path.name.startswith(".") else path.stem
            ours = EVENT_ID.match(stem) and path.suffix in (".jpg", ".mp4", ".tmp")
            if ours and path.name not in listed and path.is_file():
                log.info("evidence: removing %s (not in the event list)", path.name)
                path.unlink(missing_ok=True)

    def close(self) -> None:
        if self._clips:
            self._clips.close()

    # ---------------------------------------------------------------------------------------- Publisher

    def camera_state(self, camera: str, state: dict) -> None:
        """States are not evidence; the timeline is drawn from events."""

    def offer_frame(self, camera: str, frame) -> None:
        """Every analysed frame (a :class:`VideoFrame`), for clips; cheap when clips are off."""
        if self._clips:
            self._clips.offer(camera, frame)

    def camera_snapshot(self, camera: str, jpeg: bytes) -> None:
        """The monitor's raw snapshot; the store keeps its own annotated one instead."""

    def camera_event(self, camera: str, event: dict) -> None:
        """Stored right after the monitor's current evaluation, so the snapshot shows the state it led to."""
        try:
            asyncio.get_running_loop().call_soon(self._store, camera, event)
        except RuntimeError:  # no event loop (used directly)
            self._store(camera, event)

    def _store(self, camera: str, event: dict) -> None:
        record = {**event, "files": {}}
        if event["type"] in SNAPSHOT_EVENTS and self.render is not None:
            jpeg = self.render(camera)
            if jpeg:
                record["files"]["snapshot"] = self._write(event["id"], "snapshot", jpeg)
        with self._lock:
            self._events[event["id"]] = record
            while len(self._events) > MAX_EVENTS:
                _, oldest = self._events.popitem(last=False)
                for name in oldest["files"].values():
                    (self.root / name).unlink(missing_ok=True)
            self._append(record)
        if self._clips and event["type"] in CLIP_EVENTS:
            self._clips.start(camera, event["id"], self.root / f"{event['id']}.mp4")
        self.enforce_retention()

    # ------------------------------------------------------------------------------------------- reading

    def events(self, camera: str | None = None, limit: int = 100, since: float | None = None) -> list[dict]:
        """Newest first."""
        with self._lock:
            records = list(self._events.values())
        out = []
        for record in reversed(records):
            if since is not None and record["timestamp"] < since:
                break
            if camera is None or record["camera"] == camera:
                out.append(record)
                if len(out) >= limit:
                    break
        return out

    def file_path(self, event_id: str, kind: str) -> Path | None:
        """The file of a stored event, or ``None``. Never builds a path from anything but the list."""
        if kind not in FILE_KINDS or not EVENT_ID.match(event_id):
            return None
        with self._lock:
            record = self._events.get(event_id)
            name = record["files"].get(kind) if record else None
        path = self.root / name if name else None
        return path if path is not None and path.is_file() else None

    def total_bytes(self) -> int:
        with self._lock:
            return sum(self._size(r) for r in self._events.values())

    # ------------------------------------------------------------------------------------------ retention

    def enforce_retention(self) -> None:
        with self._lock:
            items = [Evidence(r["id"], r["timestamp"], self._size(r)) for r in self._events.values()]
            expired, drop_files = retention_plan(items, now=self.clock(), max_age=self.config.max_age,
                                                 max_bytes=self.config.max_bytes)
            if not expired and not drop_files:
                return
            for event_id in expired | drop_files:
                record = self._events[event_id]
                for name in record["files"].values():
                    (self.root / name).unlink(missing_ok=True)
                record["files"] = {}
                if event_id in expired:
                    del self._events[event_id]
            self._rewrite(list(self._events.values()))
        log.info("evidence retention: %d events expired, files of %d more deleted", len(expired), len(drop_files))

    # ------------------------------------------------------------------------------------------- files

    def _size(self, record: dict) -> int:
        return sum(_file_size(self.root / name) for name in record["files"].values())

    def _write(self, event_id: str, kind: str, data: bytes) -> str:
        name = f"{event_id}{FILE_KINDS[kind]}"
        tmp = self.root / f".{name}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, self.root / name)
        return name

    def _append(self, record: dict) -> None:
        with (self.root / INDEX).open("a", encoding="utf-8") as index:
            index.write(json.dumps(record, separators=(",", ":")) + "\n")

    def _rewrite(self, records: list[dict]) -> None:
        tmp = self.root / f".{INDEX}.tmp"
        tmp.write_text("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records), encoding="utf-8")
        os.replace(tmp, self.root / INDEX)

    def _clip_done(self, event_id: str, path: Path) -> None:
        """Called from the clip thread once ``path`` is written."""
        with self._lock:
            record = self._events.get(event_id)
            if record is None:
                path.unlink(missing_ok=True)
                return
            record["files"]["clip"] = path.name
            self._rewrite(list(self._events.values()))
        self.enforce_retention()


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


class ClipRecorder:
    """Keeps the last ``seconds / 2`` of analysed frames per camera; on an alert, records ``seconds / 2`` more
    and writes an H.264 MP4 in a worker thread."""

    def __init__(self, seconds: float, done: Callable[[str, Path], None]):
        self.half = seconds / 2.0
        self.done = done
        self._recent: dict[str, collections.deque] = {}
        self._open: list[tuple[str, str, Path, float, list]] = []  # camera, event id, path, until, frames
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clip")

    def offer(self, camera: str, frame) -> None:
        recent = self._recent.setdefault(camera, collections.deque())
        if recent and recent[-1] is frame:
            return
        recent.append(frame)
        while recent and recent[0].timestamp < frame.timestamp - self.half:
            recent.popleft()
        still_open = []
        for cam, event_id, path, until, frames in self._open:
            if cam == camera:
                frames.append(frame)
            if cam == camera and frame.timestamp >= until:
                self._pool.submit(self._write, event_id, path, frames)
            else:
                still_open.append((cam, event_id, path, until, frames))
        self._open = still_open

    def start(self, camera: str, event_id: str, path: Path) -> None:
        recent = list(self._recent.get(camera, ()))
        now = recent[-1].timestamp if recent else time.time()
        self._open.append((camera, event_id, path, now + self.half, recent))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _write(self, event_id: str, path: Path, frames: list) -> None:
        try:
            write_clip(path, [f.image for f in frames], [f.timestamp for f in frames])
            self.done(event_id, path)
        except Exception:  # noqa: BLE001 - a clip is a nicety
            log.exception("clip %s failed", path)


def write_clip(path: Path, images: list[np.ndarray], timestamps: list[float]) -> None:
    """BGR images with their times → H.264 MP4 (browser-playable)."""
    import av

    if not images:
        raise ValueError("no frames")
    height, width = images[0].shape[:2]
    tmp = path.with_name(f".{path.name}.tmp")
    with av.open(str(tmp), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height = width - width % 2, height - height % 2
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, 1000)
        stream.options = {"preset": "veryfast", "crf": "28"}
        last_pts = -1
        for image, at in zip(images, timestamps):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image[: stream.height, : stream.width]),
                                               format="bgr24")
            frame.pts = max(last_pts + 1, int(round((at - timestamps[0]) * 1000)))
            frame.time_base = stream.time_base
            last_pts = frame.pts
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    os.replace(tmp, path)
