"""What the web server shows of each camera, pushed to it by the camera drivers (an output).

It keeps each camera's latest state and analysed frame, draws the annotated live picture at most once per
frame however many clients look, and wakes the MJPEG streams when a new frame arrives.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

from babymon.outputs import AnalysedFrame, StageTime
from babymon.overlay import draw_overlay, encode_jpeg


@dataclass
class CameraView:
    name: str
    enabled: bool  # the config's switch, until the first state says otherwise
    state: dict | None = None
    analysed: AnalysedFrame | None = None
    frames: int = 0  # analysed frames received: a stream sends each once


class LiveView:
    """An output: ``camera_frame`` and ``camera_state`` from every camera; read by the HTTP handlers."""

    def __init__(self, names: Mapping[str, str], enabled: Mapping[str, bool] | None = None):
        self.cameras = {key: CameraView(name, (enabled or {}).get(key, True)) for key, name in names.items()}
        self._cache: dict[str, tuple[object, object, bytes]] = {}  # camera → (frame, state, jpeg)
        self._new_frame: dict[str, asyncio.Event] = {}

    # -------------------------------------------------------------------------------------- pushed in

    def camera_frame(self, camera: str, analysed: AnalysedFrame) -> None:
        view = self.cameras[camera]
        view.analysed = analysed
        view.frames += 1
        event = self._new_frame.pop(camera, None)  # each wait has its own event: setting it wakes all waiters
        if event is not None:
            event.set()

    def camera_state(self, camera: str, state: dict) -> None:
        view = self.cameras[camera]
        view.state = state
        view.enabled = bool(state.get("enabled", view.enabled))

    def camera_event(self, camera: str, event: dict) -> None:
        """Events are the evidence store's business."""

    def camera_snapshot(self, camera: str, jpeg: bytes) -> None:
        """Alert snapshots are the evidence store's business."""

    # -------------------------------------------------------------------------------------- read out

    def state(self, camera: str) -> dict | None:
        return self.cameras[camera].state

    def stage_ms(self, camera: str) -> Mapping[str, StageTime]:
        analysed = self.cameras[camera].analysed
        return analysed.stage_ms if analysed else {}

    def latest(self, camera: str) -> AnalysedFrame | None:
        """The latest analysed frame of ``camera`` as it was analysed: the raw picture (BGR, detect size, no
        overlay) and what was seen in it; ``None`` before the first one."""
        return self.cameras[camera].analysed

    def jpeg(self, camera: str) -> bytes | None:
        """The latest analysed frame of ``camera`` with the overlay, or ``None`` before the first one."""
        view = self.cameras[camera]
        if view.analysed is None:
            return None
        frame, state = view.analysed.frame, view.state
        cached = self._cache.get(camera)
        if cached is not None and cached[0] is frame and cached[1] is state:
            return cached[2]
        data = encode_jpeg(draw_overlay(frame.image, view.analysed.observation, state))
        self._cache[camera] = (frame, state, data)
        return data

    async def next_frame(self, camera: str, seen: int, timeout: float) -> int:
        """Wait until ``camera`` has a frame newer than number ``seen`` (or ``timeout`` seconds pass); → the
        number of the latest frame."""
        view = self.cameras[camera]
        if view.frames == seen:
            event = self._new_frame.setdefault(camera, asyncio.Event())
            try:
                await asyncio.wait_for(event.wait(), timeout)
            except TimeoutError:
                pass
        return view.frames
