"""Event evidence on disk: every event in an append-only list, a snapshot (and optionally a clip) per alert.

Layout under ``http.evidence.path``::

    events.jsonl            one JSON event per line, oldest first (the list survives restarts)
    <event id>.jpg          the annotated frame when an alert started
    <event id>.mp4          a clip around it (when ``clip_seconds`` > 0)

Retention (:func:`retention_plan`, pure): events older than ``max_age`` go with their files; beyond
``max_bytes`` the files of the oldest events go first (the event itself stays in the list until it ages out).
Files are only ever served by looking an event id up in this list, and only under the name ``<id>.jpg`` /
``<id>.mp4`` as a regular file directly in the folder, so nothing outside the store is reachable.

The folder is never trusted to work: a bad line in the list is skipped (with one warning), every write is
atomic (a temporary file beside the target, then a rename) and no failure raises. When the folder cannot be
written (read-only, full, gone) the store keeps the newest events in memory, says what is wrong in
:attr:`EvidenceStore.problem`, and :meth:`EvidenceStore.retry` writes them once it works again.

The store is an output (:mod:`babymon.outputs`): an alert's snapshot (the annotated JPEG the camera driver
encoded once) arrives just before the alert's events and is stored with them; every analysed frame arrives
for clips. Writes are small and rare (alerts), so they happen on the event loop; clips are encoded in a
worker thread.
"""

from __future__ import annotations

import collections
import errno
import json
import logging
import os
import re
import stat
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import numpy as np

from babymon.analyzers.base import VideoFrame
from babymon.config import EvidenceConfig
from babymon.outputs import AnalysedFrame
from babymon.vocabulary import DANGER_STARTED, SNAPSHOT_EVENTS

log = logging.getLogger(__name__)

INDEX = "events.jsonl"
EVENT_ID = re.compile(r"[0-9a-f]{32}")  # build_event's uuid4().hex; always used with fullmatch
FILE_KINDS = {"snapshot": ".jpg", "clip": ".mp4"}
FILE_NAME = re.compile(r"[0-9a-f]{32}\.(?:jpg|mp4)")
TEMP_NAME = re.compile(r"\.(?:[0-9a-f]{32}\.(?:jpg|mp4)|events\.jsonl)\.tmp")
#: alert starts that get a snapshot (monitor_unavailable has no fresh frame worth keeping)
CLIP_EVENTS = frozenset({DANGER_STARTED})
MAX_EVENTS = 20_000  # kept in memory and in the list, newest
MEMORY_ONLY_MAX = 500  # events kept while the list cannot be written, newest
MAX_LINE = 1 << 20  # bytes; a longer line in the list is not an event
MILLISECONDS = Fraction(1, 1000)  # clip timestamps
INDEX_UNSAVED = "keeping events in memory"
_OPTIONAL_FIELDS: dict[str, tuple[type, ...]] = {
    "name": (str, type(None)), "condition": (str, type(None)), "time": (str,), "reasons": (list,),
    "files": (dict,)}


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


# ------------------------------------------------------------------------------------------ the list's lines

def parse_event(line: bytes) -> dict | None:
    """One line of the list → the event it holds, or ``None`` when it is not a well-formed event."""
    try:
        event = _loads(line.decode("utf-8"))
    except (ValueError, RecursionError):  # not UTF-8, not JSON, or nested too deep
        return None
    if not isinstance(event, dict) or not _well_formed(event):
        return None
    event.setdefault("reasons", [])
    event.setdefault("files", {})
    return event


def _well_formed(event: dict) -> bool:
    required_ok = (isinstance(event.get("id"), str) and EVENT_ID.fullmatch(event["id"]) is not None
                   and isinstance(event.get("type"), str) and isinstance(event.get("camera"), str)
                   and _plausible_time(event.get("timestamp")))
    if not required_ok or any(key in event and not isinstance(event[key], types)
                              for key, types in _OPTIONAL_FIELDS.items()):
        return False
    return (all(isinstance(reason, str) for reason in event.get("reasons", []))
            and all(isinstance(name, str) for name in event.get("files", {}).values()))


def _plausible_time(value: object) -> bool:
    """A Unix time in seconds: a finite number (not a bool) within a few thousand years of 1970."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and -1e11 < value < 1e11


def _loads(text: str):
    """JSON where NaN, infinities and numbers too big for a float become ``None`` (they are not JSON)."""
    return json.loads(text, parse_constant=lambda _: None, parse_float=_finite_float)


def _finite_float(text: str) -> float | None:
    value = float(text)
    return value if value - value == 0 else None  # inf - inf and nan - nan are nan


def _plain(event: dict) -> dict:
    """The event as plain JSON values (numpy numbers as numbers, NaN as null), so it can always be written."""
    return _loads(json.dumps(event, default=_json_default))


def _json_default(value: object) -> object:
    to_list = getattr(value, "tolist", None)  # numpy scalars and arrays
    return to_list() if callable(to_list) else str(value)


def _line(record: dict) -> bytes:
    return (json.dumps(record, separators=(",", ":"), allow_nan=False) + "\n").encode("ascii")


def _index_lines(stream: BinaryIO) -> Iterator[bytes | None]:
    """The lines of the list; ``None`` for one too long to be an event (its rest is skipped, not kept)."""
    while line := stream.readline(MAX_LINE + 1):
        if len(line) <= MAX_LINE or line.endswith(b"\n"):
            yield line
            continue
        while line and not line.endswith(b"\n"):
            line = stream.readline(MAX_LINE + 1)
        yield None


def _ends_with_newline(stream: BinaryIO) -> bool:
    if stream.seek(0, os.SEEK_END) == 0:
        return True
    stream.seek(-1, os.SEEK_END)
    return stream.read(1) == b"\n"


def _own_name(event_id: str, kind: str) -> str:
    return f"{event_id}{FILE_KINDS[kind]}"


# -------------------------------------------------------------------------------------------------- the store

class EvidenceStore:
    """Events, snapshots and clips on disk, with retention.

    No method raises because of the folder: what goes wrong is logged and kept in :attr:`problem`."""

    def __init__(self, config: EvidenceConfig, clock: Callable[[], float] = time.time):
        self.config = config
        self.root = Path(config.path)
        self._snapshots: dict[str, bytes] = {}  # camera → the snapshot of the alert being announced
        self.clock = clock
        self._events: collections.OrderedDict[str, dict] = collections.OrderedDict()  # oldest first
        self._unsaved: collections.OrderedDict[str, None] = collections.OrderedDict()  # ids not on disk yet
        self._loaded = False  # the list on disk has been read (only then is it ever written)
        self._dirty = False  # the list on disk is not what memory holds: the next write rewrites it whole
        self._problem: str | None = None
        self._reason = ""  # the cause last logged
        self._lock = threading.RLock()  # the index and the list: clip threads finish while the loop writes
        self._clips = (ClipRecorder(config.clip_seconds, self._clip_done, self._clip_failed)
                       if config.clip_seconds > 0 else None)

    @property
    def problem(self) -> str | None:
        """``None`` while storing works; otherwise what is wrong, naming the path."""
        return self._problem

    # -------------------------------------------------------------------------------------------- setup

    def open(self) -> EvidenceStore:
        """Reads the list, tidies the folder and rewrites the list (which proves the folder writable)."""
        with self._lock:
            if self._attempt(self._load, INDEX_UNSAVED):
                self._attempt(self._remove_orphans, "leftover files not removed")
                log.info("evidence store %s: %d events", self.root, len(self._events))
                self._save_all()
        self.enforce_retention()
        return self

    def retry(self) -> bool:
        """Tries the folder again: opens it if need be and writes the whole list, events kept in memory included.
        True (and :attr:`problem` cleared) when that worked."""
        with self._lock:
            if not self._attempt(self._reopen, INDEX_UNSAVED) or not self._save_all():
                return False
            if self._problem is not None:
                log.warning("evidence store %s works again: %d events on disk", self.root, len(self._events))
                self._problem = None
            return True

    def close(self) -> None:
        if self._clips:
            self._clips.close()

    def _load(self) -> None:
        """Reads the list on disk (creating the folder), after it any events kept in memory meanwhile."""
        self.root.mkdir(parents=True, exist_ok=True)
        stored, clean = self._read_index()
        kept_in_memory = bool(self._events)
        stored.update(self._events)
        self._events = stored
        self._trim()
        self._loaded = True
        self._dirty = self._dirty or kept_in_memory or not clean

    def _reopen(self) -> None:
        if self._loaded:
            self.root.mkdir(parents=True, exist_ok=True)  # it may have been deleted
        else:
            self._load()

    def _read_index(self) -> tuple[collections.OrderedDict[str, dict], bool]:
        """The events in the list on disk, and whether every line was a well-formed event."""
        path = self.root / INDEX
        events: collections.OrderedDict[str, dict] = collections.OrderedDict()
        try:
            if not stat.S_ISREG(path.stat().st_mode):  # a FIFO would block the open for ever
                raise OSError(errno.EINVAL, f"{INDEX} is not a regular file")
            stream = path.open("rb")
        except FileNotFoundError:
            return events, True
        bad: list[int] = []
        refused = 0
        with stream:
            for number, line in enumerate(_index_lines(stream), 1):
                record = parse_event(line) if line is not None else None
                if record is not None:
                    refused += self._keep_own_files(record)
                    events[record["id"]] = record
                elif line is None or line.strip():
                    bad.append(number)
            complete = _ends_with_newline(stream)
        _warn_about_index(path, bad, refused, complete)
        return events, not bad and not refused and complete

    def _keep_own_files(self, record: dict) -> int:
        """Keeps the record's files that are this store's own and present; → how many names were refused."""
        kept, refused = {}, 0
        for kind, name in record["files"].items():
            if kind not in FILE_KINDS or name != _own_name(record["id"], kind):
                refused += 1
            elif self._served_file(name) is not None:
                kept[kind] = name
        record["files"] = kept
        return refused

    def _remove_orphans(self) -> None:
        """Evidence files no event lists (a crash between writing a file and the list) and unfinished writes."""
        listed = {name for record in self._events.values() for name in record["files"].values()}
        for path in self.root.iterdir():
            ours = FILE_NAME.fullmatch(path.name) and path.name not in listed
            if (ours or TEMP_NAME.fullmatch(path.name)) and not path.is_dir():
                log.info("evidence: removing %s (not in the event list)", path.name)
                _unlink_quietly(path)

    # ---------------------------------------------------------------------------------------- Publisher

    def camera_state(self, camera: str, state: dict) -> None:
        """States are not evidence (the timeline is drawn from events); one ends an alert's announcement."""
        self._snapshots.pop(camera, None)

    def camera_frame(self, camera: str, analysed: AnalysedFrame) -> None:
        """Every analysed frame, for clips; cheap when clips are off."""
        self.offer_frame(camera, analysed.frame)

    def offer_frame(self, camera: str, frame: VideoFrame) -> None:
        if self._clips:
            try:
                self._clips.offer(camera, frame)
            except Exception as exc:  # noqa: BLE001 - a clip is a nicety
                self._fail(exc, "clip not saved")

    def camera_snapshot(self, camera: str, jpeg: bytes) -> None:
        """An alert's snapshot: kept for the events that follow it (until the camera's next state)."""
        self._snapshots[camera] = jpeg

    def camera_event(self, camera: str, event: dict) -> None:
        self._store(camera, event)

    def _store(self, camera: str, event: dict) -> None:
        """Never raises: what cannot be written is kept in memory and said in :attr:`problem`."""
        try:
            self._store_event(camera, event)
        except Exception as exc:  # noqa: BLE001 - the monitor goes on whatever happens here
            self._fail(exc, "event not stored")
        self.enforce_retention()

    def _store_event(self, camera: str, event: dict) -> None:
        record = {**_plain(event), "files": {}}
        if not _well_formed(record):  # it would not be read back
            log.warning("evidence: malformed event not stored: %.200r", event)
            return
        jpeg = self._snapshots.get(camera) if record.get("type") in SNAPSHOT_EVENTS else None
        with self._lock:
            if not self._loaded:
                self._attempt(self._load, INDEX_UNSAVED)
            if jpeg and self._loaded:
                self._save_file(record, "snapshot", jpeg)
            self._events[record["id"]] = record
            self._trim()
            self._save_event(record)
        if self._clips and record.get("type") in CLIP_EVENTS and self._loaded:
            self._clips.start(camera, record["id"], self.root / _own_name(record["id"], "clip"))

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
        """The file of a stored event, or ``None``. Only ever ``<id>.jpg`` / ``<id>.mp4`` in the folder itself."""
        if kind not in FILE_KINDS or not isinstance(event_id, str) or not EVENT_ID.fullmatch(event_id):
            return None
        with self._lock:
            record = self._events.get(event_id)
            name = record["files"].get(kind) if record else None
        return self._served_file(name) if name == _own_name(event_id, kind) else None

    def _served_file(self, name: str) -> Path | None:
        """``root/name`` if it is a regular file (not a link) directly in the folder, else ``None``."""
        if not FILE_NAME.fullmatch(name):
            return None
        path = self.root / name
        try:
            if not stat.S_ISREG(os.lstat(path).st_mode) or path.resolve(strict=True).parent != self.root.resolve():
                return None
        except (OSError, RuntimeError):
            return None
        return path

    def total_bytes(self) -> int:
        with self._lock:
            return sum(self._size(r) for r in self._events.values())

    # ------------------------------------------------------------------------------------------ retention

    def enforce_retention(self) -> None:
        """Applies ``max_age`` and ``max_bytes``; never raises."""
        try:
            with self._lock:
                expired, dropped = self._apply_retention()
        except Exception as exc:  # noqa: BLE001 - retention runs again later
            self._fail(exc, "old evidence not deleted")
            return
        if expired or dropped:
            log.info("evidence retention: %d events expired, files of %d more deleted", expired, dropped)

    def _apply_retention(self) -> tuple[int, int]:
        items = [Evidence(r["id"], r["timestamp"], self._size(r)) for r in self._events.values()]
        expired, drop_files = retention_plan(items, now=self.clock(), max_age=self.config.max_age,
                                             max_bytes=self.config.max_bytes)
        if not expired and not drop_files:
            return 0, 0
        for event_id in expired | drop_files:
            self._delete_files(self._events[event_id])
            if event_id in expired:
                del self._events[event_id]
        self._save_all()
        return len(expired), len(drop_files)

    def _trim(self) -> None:
        while len(self._events) > MAX_EVENTS:
            _, oldest = self._events.popitem(last=False)
            self._delete_files(oldest)

    def _delete_files(self, record: dict) -> None:
        """Deletes the record's files; only names of this store's own (a link is removed, never followed)."""
        for name in record["files"].values():
            if not FILE_NAME.fullmatch(name):
                continue
            try:
                os.unlink(self.root / name)
            except FileNotFoundError:
                pass
            except OSError as exc:
                self._fail(exc, "old evidence not deleted")
        record["files"] = {}

    # ------------------------------------------------------------------------------------------- writing

    def _size(self, record: dict) -> int:
        return sum(_file_size(self.root / name) for name in record["files"].values())

    def _save_file(self, record: dict, kind: str, data: bytes) -> None:
        name = _own_name(record["id"], kind)
        try:
            self._write_atomic(name, data)
        except Exception as exc:  # noqa: BLE001 - the event is kept without it
            self._fail(exc, f"{kind} not saved")
        else:
            record["files"][kind] = name

    def _save_event(self, record: dict) -> None:
        """Appends the event to the list (or rewrites the list when dirty); kept in memory when that fails."""
        if self._loaded:  # an unread list is never written over
            try:
                if self._dirty:
                    self._write_index()
                else:
                    self._append_line(_line(record))
                return
            except Exception as exc:  # noqa: BLE001
                self._fail(exc, INDEX_UNSAVED)
        self._keep_unsaved(record["id"])

    def _keep_unsaved(self, event_id: str) -> None:
        """Notes an event that is only in memory; beyond :data:`MEMORY_ONLY_MAX` of them the oldest is forgotten."""
        self._dirty = True
        self._unsaved[event_id] = None
        while len(self._unsaved) > MEMORY_ONLY_MAX:
            forgotten, _ = self._unsaved.popitem(last=False)
            record = self._events.pop(forgotten, None)
            if record is not None:
                self._delete_files(record)

    def _save_all(self) -> bool:
        """Rewrites the list from memory (only once it was read from disk); → whether that worked."""
        if not self._loaded:
            return False
        try:
            self._write_index()
        except Exception as exc:  # noqa: BLE001
            self._dirty = True
            self._fail(exc, INDEX_UNSAVED)
            return False
        return True

    def _write_index(self) -> None:
        self._write_atomic(INDEX, b"".join(_line(record) for record in self._events.values()))
        self._dirty = False
        self._unsaved.clear()

    def _write_atomic(self, name: str, data: bytes) -> None:
        """``root/name`` ← ``data``, all or nothing: a temporary file beside it, renamed over it (never left)."""
        temp = self.root / f".{name}.tmp"
        try:
            temp.unlink(missing_ok=True)
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
            try:
                _write_all(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temp, self.root / name)
        except BaseException:
            _unlink_quietly(temp)
            raise

    def _append_line(self, line: bytes) -> None:
        """Adds a line to the list, on a line of its own; a write that fails half-way is cut back off."""
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(self.root / INDEX, flags, 0o666)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = b"\n" + line  # someone left a partial line
            try:
                _write_all(fd, line)
            except OSError:
                self._cut_back(fd, size)
                raise
        finally:
            os.close(fd)

    def _cut_back(self, fd: int, size: int) -> None:
        try:
            os.ftruncate(fd, size)
        except OSError as exc:
            self._dirty = True
            log.warning("evidence: %s: a half-written line could not be cut off (%s); the list is rewritten at "
                        "the next write", self.root / INDEX, exc.strerror or exc)

    def _clip_done(self, event_id: str, path: Path) -> None:
        """Called from the clip thread once ``path`` is written."""
        try:
            with self._lock:
                record = self._events.get(event_id)
                if record is None:
                    _unlink_quietly(path)
                    return
                record["files"]["clip"] = path.name
                self._save_all()
        except Exception as exc:  # noqa: BLE001
            self._fail(exc, "clip not saved")
        self.enforce_retention()

    def _clip_failed(self, event_id: str, exc: BaseException) -> None:
        self._fail(exc, "clip not saved")

    # ------------------------------------------------------------------------------------------- problems

    def _attempt(self, action: Callable[[], None], consequence: str) -> bool:
        try:
            action()
        except Exception as exc:  # noqa: BLE001
            self._fail(exc, consequence)
            return False
        return True

    def _fail(self, exc: BaseException, consequence: str) -> None:
        """Keeps (and logs, once per distinct cause) what went wrong; the store goes on in memory."""
        if isinstance(exc, OSError) and exc.strerror:
            reason = exc.strerror
        else:
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if self._problem is None or reason != self._reason:  # not once per event while the disk stays full
            log.error("evidence: http.evidence.path '%s': %s; %s", self.root, reason, consequence,
                      exc_info=not isinstance(exc, OSError))
        self._problem, self._reason = f"http.evidence.path '{self.root}': {reason}; {consequence}", reason


def _warn_about_index(path: Path, bad: list[int], refused: int, complete: bool) -> None:
    """One warning for everything wrong with the list (it is rewritten without it at the next write)."""
    parts = []
    if bad:
        where = ", ".join(map(str, bad[:5])) + (", …" if len(bad) > 5 else "")
        parts.append(f"{len(bad)} bad lines skipped (line {where}: not UTF-8, not JSON or not an event)")
    if refused:
        parts.append(f"{refused} file names refused (not this store's own)")
    if not complete:
        parts.append("the last line has no newline (an interrupted write)")
    if parts:
        log.warning("evidence: %s: %s", path, "; ".join(parts))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(f"wrote nothing to {fd}")
        view = view[written:]


def _unlink_quietly(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        log.debug("evidence: cannot remove %s: %s", path, exc)


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


class ClipRecorder:
    """Keeps the last ``seconds / 2`` of analysed frames per camera; on an alert, records ``seconds / 2`` more
    and writes an H.264 MP4 in a worker thread."""

    def __init__(self, seconds: float, done: Callable[[str, Path], None],
                 failed: Callable[[str, BaseException], None] | None = None):
        self.half = seconds / 2.0
        self.done = done
        self.failed = failed
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
        except Exception as exc:  # noqa: BLE001 - a clip is a nicety
            log.exception("clip %s failed", path)
            if self.failed is not None:
                self.failed(event_id, exc)


def write_clip(path: Path, images: list[np.ndarray], timestamps: list[float]) -> None:
    """BGR images with their times → H.264 MP4 (browser-playable)."""
    import av

    if not images:
        raise ValueError("no frames")
    height, width = images[0].shape[:2]
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with av.open(str(tmp), "w", format="mp4") as container:
            stream = container.add_stream("libx264", rate=30)
            stream.width, stream.height = width - width % 2, height - height % 2
            stream.pix_fmt = "yuv420p"
            # milliseconds for the encoder too: at its default 1/30 s, frames closer than that collide (EINVAL)
            stream.time_base = stream.codec_context.time_base = MILLISECONDS
            stream.options = {"preset": "veryfast", "crf": "28"}
            last_pts = -1
            for image, at in zip(images, timestamps):
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image[: stream.height, : stream.width]),
                                                   format="bgr24")
                frame.pts = max(last_pts + 1, int(round((at - timestamps[0]) * 1000)))
                frame.time_base = MILLISECONDS  # not stream.time_base: the muxer changes that once it starts
                last_pts = frame.pts
                container.mux(stream.encode(frame))
            container.mux(stream.encode(None))
        os.replace(tmp, path)
    except BaseException:
        _unlink_quietly(tmp)  # no half-written clip stays behind
        raise
