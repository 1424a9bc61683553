"""Where a camera's results go: the ``Output`` interface and a fan-out to several outputs.

The camera driver (:mod:`babymon.monitor`) pushes everything an output needs: each analysed frame with
what was seen in it, each state worth publishing, each event, and a snapshot (the annotated JPEG, encoded
once) when an alert starts, always before that alert's events. Outputs never reach back into the driver.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from babymon.analyzers.base import Observation, VideoFrame

log = logging.getLogger(__name__)


RECENT_STAGE_TIMES = 512  # durations kept per stage for the quantiles


@dataclass
class StageTime:
    """Running total of one analysis stage's duration, and its latest :data:`RECENT_STAGE_TIMES` values for the
    quantiles (``/metrics`` shows them as a Prometheus summary)."""

    count: int = 0
    total_ms: float = 0.0
    last_ms: float = 0.0
    recent: deque = field(default_factory=lambda: deque(maxlen=RECENT_STAGE_TIMES))

    def add(self, ms: float) -> None:
        self.count += 1
        self.total_ms += ms
        self.last_ms = ms
        self.recent.append(ms)

    def quantile(self, q: float) -> float | None:
        """The ``q`` quantile (nearest rank) of the recent durations; None before the first."""
        if not self.recent:
            return None
        ordered = sorted(self.recent)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass(frozen=True)
class AnalysedFrame:
    """A frame as analysed: the picture, what the analyzers saw in it, and the running stage timings."""

    frame: VideoFrame
    observation: Observation
    stage_ms: Mapping[str, StageTime] = field(default_factory=dict)


class Output(Protocol):
    """Methods must not block. ``camera_frame`` is optional: an output without it gets no frames."""

    def camera_state(self, camera: str, state: dict) -> None: ...
    def camera_event(self, camera: str, event: dict) -> None: ...
    def camera_snapshot(self, camera: str, jpeg: bytes) -> None: ...


class FanOut:
    """One output that hands everything to several (MQTT, the evidence store, the web server …) in order.

    An output that raises is logged and the others still get the message: a full disk must not stop MQTT.
    """

    def __init__(self, outputs: list[Output]):
        self.outputs = list(outputs)

    def _each(self, method: str, camera: str, payload) -> None:
        for output in self.outputs:
            handler = getattr(output, method, None)
            if handler is None:
                continue
            try:
                handler(camera, payload)
            except Exception:  # noqa: BLE001 - isolate outputs from each other
                log.exception("camera %s: %s.%s failed", camera, type(output).__name__, method)

    def camera_frame(self, camera: str, analysed: AnalysedFrame) -> None:
        self._each("camera_frame", camera, analysed)

    def camera_state(self, camera: str, state: dict) -> None:
        self._each("camera_state", camera, state)

    def camera_event(self, camera: str, event: dict) -> None:
        self._each("camera_event", camera, event)

    def camera_snapshot(self, camera: str, jpeg: bytes) -> None:
        self._each("camera_snapshot", camera, jpeg)
