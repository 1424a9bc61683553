"""The daemon's MQTT protocol as the integration sees it (pure: no Home Assistant, no I/O).

Mirrors babymon/mqtt/topics.py and the README's MQTT section: ``<prefix>/available``,
``<prefix>/_announced``, ``<prefix>/web``, ``<prefix>/<camera>/{state,events,snapshot}`` and the command topics
``<prefix>/<camera>/{snooze,enabled}/set``.

Anyone who may publish on the broker can publish on those topics, so nothing read from them is trusted:
payloads are size- and depth-bounded before they are parsed, camera keys follow the daemon's rule, event
fields are type-checked and a ``snoozed_until`` is only believed when the daemon could have set it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

# device trigger type → the daemon event type that fires it
TRIGGER_EVENT_TYPES: dict[str, str] = {
    "face_covered": "face_covered_started",
    "prone": "prone_started",
    "standing": "standing_started",
    "cry_started": "cry_started",
    "cry_stopped": "cry_stopped",
    "danger_started": "danger_started",
    "danger_cleared": "danger_cleared",
    "monitor_unavailable": "monitor_unavailable_started",
}
ALERT_TRIGGER = "alert"
TRIGGER_TYPES: tuple[str, ...] = (*TRIGGER_EVENT_TYPES, ALERT_TRIGGER)

# daemon event type → the condition it starts (for the options' "which conditions alert")
CONDITION_STARTS: dict[str, str] = {
    "face_covered_started": "face_covered",
    "prone_started": "prone",
    "standing_started": "standing",
    "cry_started": "crying",
    "monitor_unavailable_started": "monitor_unavailable",
}

MAX_SNOOZE_SECONDS = 24 * 3600  # the daemon refuses longer snoozes
# a snoozed_until may lie this much beyond MAX_SNOOZE_SECONDS: the daemon's clock and Home Assistant's differ
SNOOZE_CLOCK_MARGIN_SECONDS = 5 * 60
# conditions a snooze never hides (README, "What babymon decides")
UNSNOOZABLE_CONDITIONS: frozenset[str] = frozenset({"monitor_unavailable"})

# the daemon's event types (babymon/state.py EVENT_TYPES; tests_ha/test_protocol.py checks they match)
EVENT_TYPES: tuple[str, ...] = (
    "danger_started", "danger_cleared",
    "face_covered_started", "face_covered_cleared",
    "prone_started", "prone_cleared",
    "standing_started", "standing_cleared",
    "cry_started", "cry_stopped",
    "monitor_unavailable_started", "monitor_unavailable_cleared",
    "snoozed", "snooze_cancelled", "monitoring_enabled", "monitoring_disabled",
)  # fmt: skip

# the event fields passed on to the bus: text (or None), the reasons (a list of text), a probability (or None)
EVENT_TEXT_FIELDS: tuple[str, ...] = ("id", "name", "condition", "time", "face", "posture")
EVENT_FIELDS: tuple[str, ...] = ("id", "name", "condition", "reasons", "time", "face", "posture", "cry_probability")

# bounds on what is read from the broker
MAX_PAYLOAD_BYTES = 256 * 1024  # a state or event payload; the daemon's are about 2 kB
REGISTRY_MAX_BYTES = 1_000_000  # the _announced registry: the daemon's own limit (64 cameras are about 200 kB)
MAX_JSON_DEPTH = 32  # nested arrays/objects; the daemon's payloads nest 3 deep
MAX_CAMERAS = 64  # cameras followed per daemon
MAX_TEXT_LENGTH = 200  # an event's text fields and each of its reasons
MAX_REASONS = 32  # reasons kept per event (the daemon has at most one per condition)

# the daemon's rule for camera keys (babymon/config.py CAMERA_KEY); fullmatch, so no trailing newline either
CAMERA_KEY = re.compile(r"[a-z0-9][a-z0-9_]{0,62}")


@dataclass(frozen=True)
class Topics:
    prefix: str

    @property
    def available(self) -> str:
        return f"{self.prefix}/available"

    @property
    def registry(self) -> str:
        return f"{self.prefix}/_announced"

    @property
    def web(self) -> str:
        return f"{self.prefix}/web"

    def camera_filter(self, field: str) -> str:
        return f"{self.prefix}/+/{field}"

    def camera(self, camera: str, field: str) -> str:
        return f"{self.prefix}/{camera}/{field}"

    def camera_of(self, topic: str) -> str | None:
        """``babymon/nursery/events`` → ``nursery``."""
        head = f"{self.prefix}/"
        if not topic.startswith(head):
            return None
        parts = topic[len(head):].split("/")
        return parts[0] if len(parts) == 2 and valid_camera_key(parts[0]) else None

    def node_id(self, camera: str) -> str:
        """The device identifier the daemon's discovery uses (``Topics.node_id`` in the daemon)."""
        return f"{self.prefix.replace('/', '_')}_{camera}"


def prefix_from_available_topic(topic: str) -> str | None:
    """``babymon/available`` → ``babymon``; None for anything else."""
    prefix, sep, last = topic.rpartition("/")
    return prefix if sep and last == "available" and prefix else None


def valid_camera_key(key: object) -> bool:
    """A camera key the daemon would accept: ``^[a-z0-9][a-z0-9_]{0,62}$`` (so never ``_announced``)."""
    return isinstance(key, str) and CAMERA_KEY.fullmatch(key) is not None


# for json_depth_within: keep quotes and brackets only, and arrays and objects alike (a mismatched pair is not
# JSON, which json.loads finds out); UTF-8 continuation bytes are never ASCII, so bytes work as characters
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')
_ONE_BRACKET_KIND = bytes.maketrans(b"{}", b"[]")


def json_depth_within(data: bytes, max_depth: int = MAX_JSON_DEPTH) -> bool:
    """Whether the arrays and objects in JSON ``data`` nest at most ``max_depth`` deep, without parsing it.

    Escaped backslashes and quotes go first, then everything but quotes and brackets, then what lies between
    quotes (strings); each pass then removes the innermost ``[]`` pairs (``bytes.replace`` does not rescan what
    it joined: one level a pass). Whatever is left after ``max_depth`` passes nests deeper, or is not JSON.
    Exact for JSON; all in C and linear, a few milliseconds for the largest payload accepted.
    """
    structure = data.replace(b"\\\\", b"").replace(b'\\"', b"").translate(_ONE_BRACKET_KIND, _NOT_STRUCTURE)
    brackets = b"".join(structure.split(b'"')[::2])
    for _ in range(max_depth):
        if not brackets:
            return True
        shorter = brackets.replace(b"[]", b"")
        if len(shorter) == len(brackets):
            return False  # no pair left to remove: unbalanced, not JSON
        brackets = shorter
    return not brackets


def parse_json_object(
    payload: str | bytes, max_bytes: int = MAX_PAYLOAD_BYTES, max_depth: int = MAX_JSON_DEPTH
) -> dict[str, Any] | None:
    """A JSON object from an MQTT payload; None for anything else, longer than ``max_bytes`` (UTF-8) or
    nesting deeper than ``max_depth``. Never raises: whoever can publish on the broker chooses the payload."""
    if isinstance(payload, str):
        if len(payload) > max_bytes:
            return None  # before encoding it
        data = payload.encode("utf-8", "surrogatepass")
    elif isinstance(payload, (bytes, bytearray)):
        data = bytes(payload)
    else:
        return None
    if len(data) > max_bytes or not json_depth_within(data, max_depth):
        return None
    try:
        parsed = json.loads(payload)
    except (ValueError, TypeError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    return parsed if isinstance(parsed, dict) else None


def event_type(event: dict[str, Any]) -> str | None:
    """The event's type if it is one the daemon sends."""
    kind = event.get("type") or event.get("event_type")
    return kind if isinstance(kind, str) and kind in EVENT_TYPES else None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and len(value) <= MAX_TEXT_LENGTH else None


def _probability(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if 0 <= value <= 1 else None  # NaN compares false; no float() of a huge int


def event_fields(event: dict[str, Any]) -> dict[str, Any]:
    """``EVENT_FIELDS`` of a daemon event, each of the type the daemon sends: text fields a string of at most
    ``MAX_TEXT_LENGTH`` characters or None, ``reasons`` a list of such strings (at most ``MAX_REASONS``;
    anything else in it dropped), ``cry_probability`` a number in 0..1 or None."""
    fields: dict[str, Any] = {key: _text(event.get(key)) for key in EVENT_TEXT_FIELDS}
    reasons = event.get("reasons")
    fields["reasons"] = [r for r in reasons if _text(r) is not None][:MAX_REASONS] if isinstance(reasons, list) else []
    fields["cry_probability"] = _probability(event.get("cry_probability"))
    return {key: fields[key] for key in EVENT_FIELDS}


def announced_cameras(payload: str | bytes) -> list[str] | None:
    """The cameras in the retained ``_announced`` registry (``{"cameras": {key: [topic, ...]}}``): the valid
    keys whose value is a list of strings, in order (entries of any other shape are left out). An empty
    payload (the registry cleared) is no cameras; None for a payload of any other shape, to be ignored."""
    if not payload:
        return []
    data = parse_json_object(payload, max_bytes=REGISTRY_MAX_BYTES)
    cameras = data.get("cameras") if data is not None else None
    if not isinstance(cameras, dict):
        return None
    return [
        key for key, topics in cameras.items()
        if valid_camera_key(key) and isinstance(topics, list) and all(isinstance(t, str) for t in topics)
    ]


def aware_time(value: object) -> datetime | None:
    """A time as the daemon writes it (ISO 8601 with a time zone, at most 64 characters), or None for anything
    else: not text, not a time, or naive (no telling when that is)."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        return None
    return parsed


def snooze_active(until: object, now: datetime) -> bool:
    """Whether a state's ``snoozed_until`` (ISO 8601 with a time zone, as the daemon writes it) silences alerts
    at ``now`` (time zone aware). Only a time the daemon could have set counts: at most ``MAX_SNOOZE_SECONDS`` (plus
    ``SNOOZE_CLOCK_MARGIN_SECONDS``) ahead. Anything else (not text, not a time, no time zone, too far) does not."""
    parsed = aware_time(until)
    if parsed is None:
        return False
    try:
        return now < parsed <= now + timedelta(seconds=MAX_SNOOZE_SECONDS + SNOOZE_CLOCK_MARGIN_SECONDS)
    except OverflowError:
        return False


def snooze_payload(seconds: float) -> str:
    """The payload of ``<camera>/snooze/set`` for a snooze of ``seconds`` (0 cancels)."""
    if not 0 <= seconds <= MAX_SNOOZE_SECONDS:
        raise ValueError(f"snooze must be between 0 s and 24 h, got {seconds:.0f} s")
    return str(round(seconds)) if seconds else "OFF"


MAX_URL_LENGTH = 300


@dataclass(frozen=True)
class WebAddress:
    """Where the daemon's web page and HTTP API answer, and whether they need a token."""

    url: str
    token_required: bool


def web_address(payload: str | bytes) -> WebAddress | None:
    """``<prefix>/web`` (``{"url": "http://host:port", "token": bool}``) → the address, or None when it is not
    one: only http(s) with a host, no path, no user or password in it, of bounded length."""
    from urllib.parse import urlsplit

    data = parse_json_object(payload, max_bytes=4096)
    if data is None or not isinstance(data.get("url"), str) or not isinstance(data.get("token"), bool):
        return None
    url = data["url"]
    if len(url) > MAX_URL_LENGTH:
        return None
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") or \
            parts.username or parts.password or parts.query or parts.fragment or not port_ok:
        return None
    return WebAddress(url.rstrip("/"), data["token"])


NIGHT_STARTS = timedelta(hours=12)  # a night of evidence is noon to noon


def night_of(moment: datetime) -> str:
    """The night an alert belongs to: the date of the evening before when it is before noon (pure)."""
    return (moment - NIGHT_STARTS).date().isoformat()


def media_browser_path(entry_id: str, camera: str, night: str) -> str:
    """The Media panel's address of one camera's night of evidence (pure): a frontend path, so a notification's tap
    opens it in the Home Assistant app, behind its login. Each level of the trail is ``<type>,<media content id>``
    escaped as one path segment, ``app`` for the top and an empty type for folders, as the panel writes it."""
    root = "media-source://babymon"  # the integration's domain
    trail = [("app", root), ("", f"{root}/{entry_id}/{camera}"), ("", f"{root}/{entry_id}/{camera}/{night}")]
    return "/media-browser/browser/" + "/".join(quote(f"{kind},{content_id}", safe="") for kind, content_id in trail)
