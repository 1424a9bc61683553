"""Parse the payloads of command topics (pure). Bad payloads raise ValueError saying what was expected.

Anyone on the broker can publish to a command topic, so nothing here trusts the payload: it is bounded in
size before it is decoded, must be UTF-8, and JSON values must have exactly the expected types.
"""

from __future__ import annotations

import json
import math

from babymon.config_values import parse_duration

MAX_PAYLOAD = 256  # bytes; the longest valid command is a few dozen
MAX_SNOOZE = 24 * 3600.0

_TRUE = {"on", "true", "1", "yes", "enable", "enabled"}
_FALSE = {"off", "false", "0", "no", "disable", "disabled"}
_CANCEL = {"0", "off", "cancel", "false", "none", ""}


def _text(payload: bytes | str) -> str:
    if isinstance(payload, str):
        payload = payload.encode("utf-8", "surrogatepass")
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes is too long for a command (at most {MAX_PAYLOAD})")
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("payload is not UTF-8 text") from None


def _show(text: str) -> str:
    return ascii(text[:40])


def parse_enabled(payload: bytes | str) -> bool:
    text = _text(payload).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"expected ON or OFF, got {_show(text)}")


def _number(value: object, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f'"{key}" must be a number, got {_show(json.dumps(value))}')
    return float(value)


def parse_snooze(payload: bytes | str) -> float:
    """Seconds to snooze; 0 cancels. Accepts ``600``, ``"10m"``, ``{"minutes": 10}``, ``{"seconds": 600}``, ``OFF``."""
    text = _text(payload).strip()
    if text.lower() in _CANCEL:
        return 0.0
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"invalid JSON: {exc.msg}") from None
        except RecursionError:
            raise ValueError("invalid JSON: nested too deeply") from None
        keys = {"seconds", "minutes"}
        if not isinstance(data, dict) or not (keys & data.keys()) or data.keys() - keys:
            raise ValueError('expected {"minutes": N} or {"seconds": N}')
        seconds = sum(_number(data[key], key) * (60.0 if key == "minutes" else 1.0) for key in keys & data.keys())
    else:
        try:
            seconds = float(parse_duration(text))
        except (ValueError, OverflowError):
            raise ValueError(f"expected seconds, a duration such as '10m', or OFF; got {_show(text)}") from None
    if not 0 <= seconds <= MAX_SNOOZE:  # also refuses NaN
        raise ValueError(f"snooze must be between 0 and 24 h, got {_show(str(seconds))} s")
    return seconds
