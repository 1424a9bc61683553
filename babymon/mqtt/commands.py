"""Parse the payloads of command topics (pure). Bad payloads raise ValueError saying what was expected."""

from __future__ import annotations

import json

from babymon.config import parse_duration

_TRUE = {"on", "true", "1", "yes", "enable", "enabled"}
_FALSE = {"off", "false", "0", "no", "disable", "disabled"}
_CANCEL = {"0", "off", "cancel", "false", "none", ""}


def parse_enabled(payload: bytes | str) -> bool:
    text = (payload.decode() if isinstance(payload, bytes) else payload).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"expected ON or OFF, got '{text[:40]}'")


def parse_snooze(payload: bytes | str) -> float:
    """Seconds to snooze; 0 cancels. Accepts ``600``, ``"10m"``, ``{"minutes": 10}``, ``{"seconds": 600}``, ``OFF``."""
    text = (payload.decode() if isinstance(payload, bytes) else payload).strip()
    if text.lower() in _CANCEL:
        return 0.0
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"invalid JSON: {exc.msg}") from None
        if not isinstance(data, dict) or not ({"seconds", "minutes"} & data.keys()):
            raise ValueError('expected {"minutes": N} or {"seconds": N}')
        seconds = float(data.get("seconds", 0)) + 60.0 * float(data.get("minutes", 0))
    else:
        try:
            seconds = float(parse_duration(text))
        except ValueError:
            raise ValueError(f"expected seconds, a duration such as '10m', or OFF; got '{text[:40]}'") from None
    if not 0 <= seconds <= 24 * 3600:
        raise ValueError(f"snooze must be between 0 and 24 h, got {seconds:.0f} s")
    return seconds
