"""Clips around an alert: the last frames before it, the frames after it, written as H.264 MP4 in a thread."""

from __future__ import annotations

import collections
import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path

import numpy as np

from babymon.evidence.files import unlink_quietly

log = logging.getLogger("babymon.evidence")

MILLISECONDS = Fraction(1, 1000)  # clip timestamps


class ClipRecorder:
    """Keeps the last ``seconds / 2`` of analysed frames per camera; on an alert, records ``seconds / 2`` more
    and writes an H.264 MP4 in a worker thread."""

    def __init__(self, seconds: float, done: Callable[[str, Path], None],
                 failed: Callable[[str, BaseException], None] | None = None):
        self.half = seconds / 2.0
        self.done = done
        self.failed = failed
        self._recent: dict[str, collections.deque] = {}
        self._open: list[tuple[str, str, Path, float, list]] = []  # camera, event id, path, until, frames
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clip")

    def offer(self, camera: str, frame) -> None:
        recent = self._recent.setdefault(camera, collections.deque())
        if recent and recent[-1] is frame:
            return
        recent.append(frame)
        while recent and recent[0].timestamp < frame.timestamp - self.half:
            recent.popleft()
        still_open = []
        for cam, event_id, path, until, frames in self._open:
            if cam == camera:
                frames.append(frame)
            if cam == camera and frame.timestamp >= until:
                self._pool.submit(self._write, event_id, path, frames)
            else:
                still_open.append((cam, event_id, path, until, frames))
        self._open = still_open

    def start(self, camera: str, event_id: str, path: Path) -> None:
        recent = list(self._recent.get(camera, ()))
        now = recent[-1].timestamp if recent else time.time()
        self._open.append((camera, event_id, path, now + self.half, recent))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _write(self, event_id: str, path: Path, frames: list) -> None:
        try:
            write_clip(path, [f.image for f in frames], [f.timestamp for f in frames])
            self.done(event_id, path)
        except Exception as exc:  # noqa: BLE001 - a clip is a nicety
            log.exception("clip %s failed", path)
            if self.failed is not None:
                self.failed(event_id, exc)


def write_clip(path: Path, images: list[np.ndarray], timestamps: list[float]) -> None:
    """BGR images with their times → H.264 MP4 (browser-playable)."""
    import av

    if not images:
        raise ValueError("no frames")
    height, width = images[0].shape[:2]
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with av.open(str(tmp), "w", format="mp4") as container:
            stream = container.add_stream("libx264", rate=30)
            stream.width, stream.height = width - width % 2, height - height % 2
            stream.pix_fmt = "yuv420p"
            # milliseconds for the encoder too: at its default 1/30 s, frames closer than that collide (EINVAL)
            stream.time_base = stream.codec_context.time_base = MILLISECONDS
            stream.options = {"preset": "veryfast", "crf": "28"}
            last_pts = -1
            for image, at in zip(images, timestamps):
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image[: stream.height, : stream.width]),
                                                   format="bgr24")
                frame.pts = max(last_pts + 1, int(round((at - timestamps[0]) * 1000)))
                frame.time_base = MILLISECONDS  # not stream.time_base: the muxer changes that once it starts
                last_pts = frame.pts
                container.mux(stream.encode(frame))
            container.mux(stream.encode(None))
        os.replace(tmp, path)
    except BaseException:
        unlink_quietly(tmp)  # no half-written clip stays behind
        raise
