"""The evidence store: the output that keeps events, snapshots and clips on disk (see the package docstring)."""

from __future__ import annotations

import collections
import errno
import logging
import os
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path

from babymon.config import EvidenceConfig
from babymon.evidence.clips import ClipRecorder
from babymon.evidence.files import append_line, file_size, unlink_quietly, write_atomic
from babymon.evidence.records import (
    EVENT_ID, FILE_KINDS, FILE_NAME, INDEX, TEMP_NAME, Evidence, ends_with_newline, event_line, index_lines, own_name,
    parse_event, plain, retention_plan, warn_about_index, well_formed,
)  # fmt: skip
from babymon.outputs import AnalysedFrame
from babymon.vocabulary import DANGER_STARTED, SNAPSHOT_EVENTS

log = logging.getLogger("babymon.evidence")

#: alert starts that get a snapshot (monitor_unavailable has no fresh frame worth keeping)
CLIP_EVENTS = frozenset({DANGER_STARTED})
MAX_EVENTS = 20_000  # kept in memory and in the list, newest
MEMORY_ONLY_MAX = 500  # events kept while the list cannot be written, newest
INDEX_UNSAVED = "keeping events in memory"


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
            for number, line in enumerate(index_lines(stream), 1):
                record = parse_event(line) if line is not None else None
                if record is not None:
                    refused += self._keep_own_files(record)
                    events[record["id"]] = record
                elif line is None or line.strip():
                    bad.append(number)
            complete = ends_with_newline(stream)
        warn_about_index(path, bad, refused, complete)
        return events, not bad and not refused and complete

    def _keep_own_files(self, record: dict) -> int:
        """Keeps the record's files that are this store's own and present; → how many names were refused."""
        kept, refused = {}, 0
        for kind, name in record["files"].items():
            if kind not in FILE_KINDS or name != own_name(record["id"], kind):
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
                unlink_quietly(path)

    # ---------------------------------------------------------------------------------------- Publisher

    def camera_state(self, camera: str, state: dict) -> None:
        """States are not evidence (the timeline is drawn from events); one ends an alert's announcement."""
        self._snapshots.pop(camera, None)

    def camera_frame(self, camera: str, analysed: AnalysedFrame) -> None:
        """Every analysed frame, for clips; cheap when clips are off."""
        if self._clips:
            try:
                self._clips.offer(camera, analysed.frame)
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
        record = {**plain(event), "files": {}}
        if not well_formed(record):  # it would not be read back
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
            self._clips.start(camera, record["id"], self.root / own_name(record["id"], "clip"))

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
        return self._served_file(name) if name == own_name(event_id, kind) else None

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
        return sum(file_size(self.root / name) for name in record["files"].values())

    def _save_file(self, record: dict, kind: str, data: bytes) -> None:
        name = own_name(record["id"], kind)
        try:
            write_atomic(self.root / name, data)
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
                    append_line(self.root / INDEX, event_line(record))  # on failure: kept, dirty
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
        write_atomic(self.root / INDEX, b"".join(event_line(record) for record in self._events.values()))
        self._dirty = False
        self._unsaved.clear()

    def _clip_done(self, event_id: str, path: Path) -> None:
        """Called from the clip thread once ``path`` is written."""
        try:
            with self._lock:
                record = self._events.get(event_id)
                if record is None:
                    unlink_quietly(path)
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
