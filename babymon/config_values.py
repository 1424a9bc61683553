"""The config's value syntaxes (pure): durations (``"30s"``, ``"5m"``) and sizes (``"500MB"``, ``"2GiB"``)."""

from __future__ import annotations

import re
from typing import Any

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)?\s*$", re.IGNORECASE)
_SIZE_BYTES = {None: 1, "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4,
               "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4}


def parse_duration(value: Any) -> Any:
    """Accept seconds as a number, or a string such as ``"30s"``, ``"5m"``, ``"250ms"``, ``"1h"``."""
    if isinstance(value, str):
        match = _DURATION.match(value)
        if not match:
            raise ValueError(f"'{value}' is not a duration (use seconds, or e.g. '30s', '5m', '250ms')")
        return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    return value


def parse_size(value: Any) -> Any:
    """Accept bytes as a number, or a string such as ``"500MB"``, ``"2GiB"``."""
    if isinstance(value, str):
        match = _SIZE.match(value)
        if not match:
            raise ValueError(f"'{value}' is not a size (use bytes, or e.g. '500MB', '2GB')")
        return int(float(match.group(1)) * _SIZE_BYTES[(match.group(2) or "").lower() or None])
    return value
