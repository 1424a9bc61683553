"""One camera's nursery folder: captured frames, what babymon said about each, and the parent's labels.

Layout (``nursery.path/<camera>/``)::

    20261205-031522-412-alert.jpg     a frame at detect size (JPEG)
    20261205-031522-412-alert.json    its sidecar: when, why it was kept, babymon's prediction then
    labels.csv                        path,posture,face_state (path relative to the folder; either label may be empty)

``source`` in a sidecar says why the frame was kept: ``capture`` (``babymon nursery capture``), ``alert`` (the
frame an alert started on), ``wrong`` (the parent pressed "this was wrong" on the live view; an alert frame that
was marked wrong keeps ``alert`` and gets ``"wrong": true``).

Pure file logic; no models. Every write is atomic (a temporary file renamed over the old one), so a crash never
leaves a half-written label file.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from babymon.vocabulary import POSTURES

LABEL_FILE = "labels.csv"
LABEL_COLUMNS = ("path", "posture", "face_state")
#: what a parent may say about a frame
POSTURE_LABELS: tuple[str, ...] = (*POSTURES, "no_baby")
FACE_STATE_LABELS: tuple[str, ...] = ("clear", "pacifier", "covered", "face_not_visible")
SOURCES = ("capture", "alert", "wrong")
FRAME_NAME = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9]{3}(-[a-z0-9_]{1,40})?\.jpg$")


class NurseryError(ValueError):
    """A bad frame name, label or label file; the message names the field or file and what is wrong."""


@dataclass(frozen=True)
class Label:
    posture: str = ""  # "" = not labelled
    face_state: str = ""

    def __post_init__(self) -> None:
        if self.posture not in ("", *POSTURE_LABELS):
            raise NurseryError(f"posture '{self.posture}' is not one of {', '.join(POSTURE_LABELS)} (or empty)")
        if self.face_state not in ("", *FACE_STATE_LABELS):
            raise NurseryError(f"face_state '{self.face_state}' is not one of {', '.join(FACE_STATE_LABELS)} "
                               "(or empty)")
        if self.posture == "no_baby" and self.face_state:
            raise NurseryError("a frame labelled no_baby has no face state")

    @property
    def empty(self) -> bool:
        return not self.posture and not self.face_state


@dataclass(frozen=True)
class FrameInfo:
    """A captured frame: its file name, when it was taken, why it was kept, and what babymon said then."""

    name: str
    taken_at: float
    source: str
    prediction: dict = field(default_factory=dict)  # {"posture", "face_state", "presence", "scores"}
    wrong: bool = False
    event_id: str | None = None


def frame_name(taken_at: float, source: str) -> str:
    """``YYYYmmdd-HHMMSS-mmm-<source>.jpg`` in local time: sorts in time order, says why it was kept."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(taken_at))
    return f"{stamp}-{int(taken_at * 1000) % 1000:03d}-{source}.jpg"


def check_name(name: str) -> str:
    """A frame's file name as the folder writes it; anything else (a path, ``..``) is refused by name."""
    if not FRAME_NAME.fullmatch(name or ""):
        raise NurseryError(f"frame '{name}' is not a nursery frame name (YYYYmmdd-HHMMSS-mmm-source.jpg)")
    return name


def _write_atomic(path: Path, data: bytes) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    with open(temp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


def read_labels(path: Path) -> dict[str, Label]:
    """``labels.csv`` → {frame name: Label}; a missing file is no labels. A bad row is refused with its line."""
    if not path.exists():
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise NurseryError(f"{path}: cannot be read: {exc}") from None
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in LABEL_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise NurseryError(f"{path}: missing column(s) {', '.join(missing)} (expected {','.join(LABEL_COLUMNS)})")
    labels: dict[str, Label] = {}
    for line, row in enumerate(reader, start=2):
        name = (row["path"] or "").strip()
        if not name:
            raise NurseryError(f"{path} line {line}: 'path' is empty")
        try:
            label = Label((row["posture"] or "").strip(), (row["face_state"] or "").strip())
        except NurseryError as exc:
            raise NurseryError(f"{path} line {line}: {exc}") from None
        labels[name] = label
    return labels


def write_labels(path: Path, labels: dict[str, Label]) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(LABEL_COLUMNS)
    for name in sorted(labels):
        if not labels[name].empty:
            writer.writerow([name, labels[name].posture, labels[name].face_state])
    _write_atomic(path, out.getvalue().encode("utf-8"))


class NurseryFolder:
    """The frames and labels of one camera (``root`` = ``nursery.path/<camera>``); made on first write."""

    def __init__(self, root: Path):
        self.root = Path(root).expanduser()

    @property
    def labels_path(self) -> Path:
        return self.root / LABEL_FILE

    def save_frame(self, jpeg: bytes, prediction: dict, source: str, taken_at: float | None = None,
                   event_id: str | None = None) -> str:
        """Keep one frame (JPEG bytes at detect size) and its sidecar; → the frame's name."""
        if source not in SOURCES:
            raise NurseryError(f"source '{source}' is not one of {', '.join(SOURCES)}")
        taken_at = time.time() if taken_at is None else taken_at
        self.root.mkdir(parents=True, exist_ok=True)
        name = frame_name(taken_at, source)
        while (self.root / name).exists():  # two frames in the same millisecond
            taken_at += 0.001
            name = frame_name(taken_at, source)
        sidecar = {"taken_at": round(taken_at, 3), "source": source, "prediction": prediction}
        if event_id:
            sidecar["event_id"] = event_id
        _write_atomic(self.root / name, jpeg)
        _write_atomic((self.root / name).with_suffix(".json"), json.dumps(sidecar, indent=1).encode())
        return name

    def frame_path(self, name: str) -> Path:
        path = self.root / check_name(name)
        if not path.is_file():
            raise NurseryError(f"frame '{name}' is not in {self.root}")
        return path

    def frame(self, name: str) -> FrameInfo:
        path = self.frame_path(name)
        try:
            sidecar = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
            if not isinstance(sidecar, dict):
                raise ValueError("not an object")
        except (OSError, ValueError):  # a frame without a readable sidecar is still a frame to label
            sidecar = {}
        return FrameInfo(name=name, taken_at=float(sidecar.get("taken_at", path.stat().st_mtime)),
                         source=str(sidecar.get("source", "capture")), prediction=dict(sidecar.get("prediction") or {}),
                         wrong=bool(sidecar.get("wrong", False)), event_id=sidecar.get("event_id"))

    def frames(self) -> list[FrameInfo]:
        """Every frame in the folder, oldest first."""
        if not self.root.is_dir():
            return []
        names = sorted(p.name for p in self.root.iterdir() if FRAME_NAME.fullmatch(p.name))
        return sorted((self.frame(n) for n in names), key=lambda f: (f.taken_at, f.name))

    def mark_wrong(self, name: str) -> FrameInfo:
        """The parent says babymon was wrong about this frame: it is listed first for labelling."""
        path = self.frame_path(name)
        info = self.frame(name)
        sidecar = {"taken_at": info.taken_at, "source": info.source, "prediction": info.prediction, "wrong": True}
        if info.event_id:
            sidecar["event_id"] = info.event_id
        _write_atomic(path.with_suffix(".json"), json.dumps(sidecar, indent=1).encode())
        return self.frame(name)

    def find_event(self, event_id: str) -> str | None:
        """The name of the frame kept for alert ``event_id`` (None when none was)."""
        for info in self.frames():
            if info.event_id == event_id:
                return info.name
        return None

    def labels(self) -> dict[str, Label]:
        return read_labels(self.labels_path)

    def prune(self, source: str, keep: int) -> list[str]:
        """Delete the oldest frames kept for ``source`` beyond the newest ``keep`` that are neither labelled nor
        marked wrong (those are the parent's work and are never deleted); → the names deleted."""
        labels = self.labels()
        spare = [f for f in self.frames() if f.source == source and not f.wrong and labels.get(f.name, Label()).empty]
        doomed = spare[:max(0, len(spare) - keep)]  # frames() is oldest first
        for info in doomed:
            for path in (self.root / info.name, (self.root / info.name).with_suffix(".json")):
                path.unlink(missing_ok=True)
        return [info.name for info in doomed]

    def set_label(self, name: str, posture: str | None = None, face_state: str | None = None) -> Label:
        """Set one frame's labels (None keeps what it had, "" clears it); → the frame's label now."""
        self.frame_path(name)
        labels = self.labels()
        old = labels.get(name, Label())
        new_posture = old.posture if posture is None else posture
        new_face = old.face_state if face_state is None else face_state
        if new_posture == "no_baby" and face_state is None:  # no baby, no face (a face given with it is refused)
            new_face = ""
        new = Label(new_posture, new_face)
        labels[name] = new
        self.root.mkdir(parents=True, exist_ok=True)
        write_labels(self.labels_path, labels)
        return new


def camera_folder(base: Path, camera: str) -> NurseryFolder:
    """``nursery.path/<camera>``."""
    return NurseryFolder(Path(base).expanduser() / camera)


def prediction_of(observation) -> dict:
    """What babymon said about a frame (a ``babymon.analyzers.base.Observation``), for the sidecar and the label
    page: presence, face state, posture and the per-frame scores (3 decimals)."""
    return {"baby_present": bool(observation.baby_present), "face_state": observation.face_state,
            "posture": observation.posture,
            "scores": {k: round(float(v), 3) for k, v in (observation.scores or {}).items()}}
