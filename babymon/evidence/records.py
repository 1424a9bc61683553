"""The evidence list's lines and the retention plan (pure): what a line of ``events.jsonl`` must look like,
how an event is written as one, and which evidence goes first."""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger("babymon.evidence")

INDEX = "events.jsonl"
EVENT_ID = re.compile(r"[0-9a-f]{32}")  # build_event's uuid4().hex; always used with fullmatch
FILE_KINDS = {"snapshot": ".jpg", "clip": ".mp4"}
FILE_NAME = re.compile(r"[0-9a-f]{32}\.(?:jpg|mp4)")
TEMP_NAME = re.compile(r"\.(?:[0-9a-f]{32}\.(?:jpg|mp4)|events\.jsonl)\.tmp")
MAX_LINE = 1 << 20  # bytes; a longer line in the list is not an event
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
    if not isinstance(event, dict) or not well_formed(event):
        return None
    event.setdefault("reasons", [])
    event.setdefault("files", {})
    return event


def well_formed(event: dict) -> bool:
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


def plain(event: dict) -> dict:
    """The event as plain JSON values (numpy numbers as numbers, NaN as null), so it can always be written."""
    return _loads(json.dumps(event, default=_json_default))


def _json_default(value: object) -> object:
    to_list = getattr(value, "tolist", None)  # numpy scalars and arrays
    return to_list() if callable(to_list) else str(value)


def event_line(record: dict) -> bytes:
    return (json.dumps(record, separators=(",", ":"), allow_nan=False) + "\n").encode("ascii")


def index_lines(stream: BinaryIO) -> Iterator[bytes | None]:
    """The lines of the list; ``None`` for one too long to be an event (its rest is skipped, not kept)."""
    while line := stream.readline(MAX_LINE + 1):
        if len(line) <= MAX_LINE or line.endswith(b"\n"):
            yield line
            continue
        while line and not line.endswith(b"\n"):
            line = stream.readline(MAX_LINE + 1)
        yield None


def ends_with_newline(stream: BinaryIO) -> bool:
    if stream.seek(0, os.SEEK_END) == 0:
        return True
    stream.seek(-1, os.SEEK_END)
    return stream.read(1) == b"\n"


def own_name(event_id: str, kind: str) -> str:
    return f"{event_id}{FILE_KINDS[kind]}"


# -------------------------------------------------------------------------------------------------- the store


def warn_about_index(path: Path, bad: list[int], refused: int, complete: bool) -> None:
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
