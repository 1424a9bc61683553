"""The annotated live picture of each camera, encoded once per analysed frame however many clients look."""

from __future__ import annotations

from collections.abc import Mapping

from babymon.http.overlay import draw_overlay, encode_jpeg
from babymon.monitor import CameraMonitor


class LiveView:
    def __init__(self, monitors: Mapping[str, CameraMonitor]):
        self.monitors = monitors
        self._cache: dict[str, tuple[object, object, bytes]] = {}  # camera → (frame, state, jpeg)

    def jpeg(self, camera: str) -> bytes | None:
        """The latest analysed frame of ``camera`` with the overlay, or ``None`` before the first one."""
        monitor = self.monitors[camera]
        frame, state = monitor.last_frame, monitor.last_state
        if frame is None:
            return None
        cached = self._cache.get(camera)
        if cached is not None and cached[0] is frame and cached[1] is state:
            return cached[2]
        data = encode_jpeg(draw_overlay(frame.image, monitor.observation, state))
        self._cache[camera] = (frame, state, data)
        return data
