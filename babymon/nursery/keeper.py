"""The output that keeps, for labelling, the frame each alert about the baby started on.

It remembers every camera's latest analysed frame (the raw picture at detect size, without the overlay, and
what babymon saw in it) and, when an alert about the baby starts (face covered, prone, standing, crying),
writes that frame to the camera's nursery folder with ``source: alert`` and the event's id, so the parent can
later say "this was wrong" about the alert and label the frame on ``/label``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from babymon.nursery.folder import camera_folder, prediction_of
from babymon.outputs import AnalysedFrame
from babymon.overlay import encode_jpeg
from babymon.vocabulary import CONDITION_LIST

log = logging.getLogger(__name__)

#: the events whose frame is kept: every alert about the baby starting
ALERT_STARTS: frozenset[str] = frozenset(c.started for c in CONDITION_LIST if c.about_baby)
JPEG_QUALITY = 90


def keep_frame(base: Path, camera: str, analysed: AnalysedFrame, source: str, event_id: str | None = None) -> str:
    """Save ``analysed`` (its raw picture and what babymon said about it) in ``base/<camera>``; → its name."""
    return camera_folder(base, camera).save_frame(encode_jpeg(analysed.frame.image, JPEG_QUALITY), prediction_of(analysed.observation),
                                                  source, taken_at=analysed.frame.timestamp, event_id=event_id)


class NurseryKeeper:
    """An output (see :mod:`babymon.outputs`): never raises; a frame that cannot be kept is logged."""

    def __init__(self, base_path: Path, cameras: Iterable[str], max_alert_frames: int = 500):
        self.base = Path(base_path).expanduser()
        self.max_alert_frames = max_alert_frames
        self.cameras = frozenset(cameras)
        self._latest: dict[str, AnalysedFrame] = {}

    def latest(self, camera: str) -> AnalysedFrame | None:
        return self._latest.get(camera)

    def camera_frame(self, camera: str, analysed: AnalysedFrame) -> None:
        self._latest[camera] = analysed

    def camera_state(self, camera: str, state: dict) -> None:
        """States are not frames."""

    def camera_snapshot(self, camera: str, jpeg: bytes) -> None:
        """The snapshot has the overlay drawn on it; the raw frame is kept instead."""

    def camera_event(self, camera: str, event: dict) -> None:
        kind = None
        try:
            kind = event.get("type")
            if kind not in ALERT_STARTS:
                return
            analysed = self._latest.get(camera)
            if analysed is None:
                log.info("nursery: camera %s: %s without an analysed frame; nothing kept", camera, kind)
                return
            name = keep_frame(self.base, camera, analysed, "alert", event_id=event.get("id"))
            log.info("nursery: camera %s: kept %s (%s) for labelling", camera, name, kind)
            pruned = camera_folder(self.base, camera).prune("alert", self.max_alert_frames)
            if pruned:
                log.info("nursery: camera %s: deleted %d old unlabelled alert frame(s) (max_alert_frames %d)",
                         camera, len(pruned), self.max_alert_frames)
        except Exception:  # noqa: BLE001 - a frame for labelling is a nicety; monitoring goes on
            log.exception("nursery: camera %s: the frame of %s could not be kept in %s", camera, kind,
                          self.base / camera)
