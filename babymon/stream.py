"""Read one camera with PyAV, in its own thread, and hand decoded frames and audio to a sink.

* RTSP over TCP by default (UDP selectable); local files either paced in real time or as fast as the
  consumer takes them (``realtime=False``, used by ``babymon analyze``).
* Every video frame must be decoded (H.264 frames depend on each other), but only frames sampled to the
  detect fps are converted to pixels, which is most of the cost saved.
* The audio track is resampled to 16 kHz mono float32.
* A stream that fails to open, errors, stalls past the timeout or ends is reopened after an exponential,
  jittered backoff. Each camera has its own thread, so one dead camera never delays another.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import av
import av.error
import numpy as np
from av.video.reformatter import VideoReformatter

from babymon.analyzers.base import VideoFrame
from babymon.audio_windows import SAMPLE_RATE
from babymon.backoff import Backoff
from babymon.config import CameraConfig
from babymon.redact import Redactor, redact_url

log = logging.getLogger(__name__)

HEALTHY_AFTER = 10.0  # seconds of frames after which a connection counts as healthy and backoff resets


class StreamSink(Protocol):
    """Receives what a :class:`StreamSource` reads. Called from the source's thread."""

    def on_connected(self, has_audio: bool) -> None: ...
    def on_disconnected(self, reason: str) -> None: ...
    def on_video(self, frame: VideoFrame) -> None: ...
    def on_audio(self, samples: np.ndarray, start_time: float) -> None: ...
    def on_end(self) -> None: ...


@dataclass
class StreamStats:
    decoded_frames: int = 0
    sampled_frames: int = 0
    audio_seconds: float = 0.0
    reconnects: int = 0
    decode_seconds: float = 0.0  # thread CPU time spent in this source


class StreamEnded(Exception):
    pass


def _open_target(url: str) -> str:
    return url[len("file://"):] if url.lower().startswith("file://") else url


def scaled_size(width: int, height: int, target_width: int, target_height: int | None) -> tuple[int, int]:
    """The size frames are converted to: ``target_width`` wide, aspect kept unless a height is given; even."""
    if target_height is None:
        target_height = round(height * target_width / width)
    return target_width - target_width % 2, max(2, target_height - target_height % 2)


class StreamSource:
    """Reads one camera until :meth:`stop`. Runs :meth:`run` in a daemon thread via :meth:`start`."""

    def __init__(self, camera: str, config: CameraConfig, sink: StreamSink, *, realtime: bool | None = None,
                 stop_at_end: bool = False):
        self.camera = camera
        self.config = config
        self.sink = sink
        self.is_file = config.is_file
        self.realtime = config.realtime if realtime is None else realtime
        self.stop_at_end = stop_at_end
        self.stats = StreamStats()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._backoff = Backoff(config.stream.retry_initial or 0.1, max(config.stream.retry_max, 0.1))
        self._redact = Redactor(urls=[config.url])  # FFmpeg's errors quote the URL, password and all

    @property
    def display_url(self) -> str:
        return redact_url(self.config.url)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name=f"stream-{self.camera}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    # ------------------------------------------------------------------------------------------ thread

    def run(self) -> None:
        cpu_start = time.thread_time()
        first = True
        try:
            while not self._stop.is_set():
                if not first:
                    self.stats.reconnects += 1
                first = False
                try:
                    self._read_once()
                    reason = "stream ended"
                except StreamEnded:
                    return
                except Exception as exc:  # noqa: BLE001 - whatever breaks a stream, it is retried
                    reason = self._redact.text(f"{type(exc).__name__}: {exc}")
                if self._stop.is_set():
                    return
                if self.stop_at_end:  # replaying a file: a broken file is reported, not retried
                    log.error("camera %s: %s", self.camera, reason)
                    self.sink.on_disconnected(reason)
                    return
                delay = self._backoff.next_delay()
                log.warning("camera %s: %s; retrying %s in %.1f s", self.camera, reason, self.display_url, delay)
                self.sink.on_disconnected(reason)
                self._stop.wait(delay)
        finally:
            self.stats.decode_seconds += time.thread_time() - cpu_start
            if self.stop_at_end:
                self.sink.on_end()

    def _open(self) -> av.container.InputContainer:
        options: dict[str, str] = {}
        scheme = urlsplit(self.config.url).scheme.lower()
        timeout = self.config.stream.timeout or 10.0
        if scheme in ("rtsp", "rtsps"):
            options["rtsp_transport"] = self.config.stream.transport
            options["timeout"] = str(int(timeout * 1_000_000))  # socket I/O timeout, microseconds
        target = _open_target(self.config.url)
        if self.is_file and not Path(target).is_file():
            raise OSError(f"video file '{target}' does not exist")
        return av.open(target, options=options, timeout=(timeout, timeout))

    def _read_once(self) -> None:
        container = self._open()
        try:
            if not container.streams.video:
                raise ValueError(f"{self.display_url} has no video stream")
            video = container.streams.video[0]
            audio = container.streams.audio[0] if (container.streams.audio and self.config.stream.audio) else None
            self._decode(container, video, audio)
        finally:
            container.close()

    def _decode(self, container, video, audio) -> None:
        interval = 1.0 / self.config.detect.fps
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE) if audio else None
        reformatter = VideoReformatter()  # reused: a fresh scaler per frame costs ~6x the conversion itself
        connected_at: float | None = None
        next_sample_pts: float | None = None
        tolerance = 0.25 / max(float(video.average_rate or 30), 1.0)  # a quarter frame of timestamp jitter
        anchor_wall = time.time()  # wall time of pts 0 for this connection (re-anchored on loops)
        pts_offset = 0.0  # added to pts after each loop of a file so time keeps running forward
        frame_duration = 1.0 / float(video.average_rate) if video.average_rate else interval
        first_pts: float | None = None  # the file's first video frame time, this pass
        last_pts = 0.0
        size: tuple[int, int] | None = None
        streams = [s for s in (video, audio) if s is not None]
        while not self._stop.is_set():
            for packet in container.demux(streams):
                if self._stop.is_set():
                    return
                if packet.size == 0:
                    continue
                for frame in packet.decode():
                    if frame.time is None:
                        continue
                    pts = frame.time + pts_offset
                    if isinstance(frame, av.AudioFrame):
                        self._emit_audio(resampler, frame, anchor_wall + pts)
                        continue
                    if first_pts is None:
                        first_pts = frame.time
                    if self.is_file and self.realtime:
                        self._pace(anchor_wall + pts)
                    self.stats.decoded_frames += 1
                    if pts + 1.0 < last_pts:  # the camera's clock jumped back (restart, wrap-around)
                        next_sample_pts = None
                    last_pts = pts
                    if connected_at is None:
                        connected_at = time.monotonic()
                        anchor_wall = time.time() - pts
                        log.info("camera %s: connected to %s (%dx%d%s)", self.camera, self.display_url,
                                 frame.width, frame.height, ", with audio" if audio else ", no audio")
                        self.sink.on_connected(audio is not None)
                    elif time.monotonic() - connected_at > HEALTHY_AFTER:
                        self._backoff.reset()
                    if next_sample_pts is not None and pts < next_sample_pts - tolerance:
                        continue
                    # the next sample is one interval on, or one interval after this frame after a gap
                    if next_sample_pts is None or next_sample_pts + interval < pts:
                        next_sample_pts = pts
                    next_sample_pts += interval
                    if size is None:
                        size = scaled_size(frame.width, frame.height, self.config.detect.width,
                                           self.config.detect.height)
                    image = reformatter.reformat(frame, width=size[0], height=size[1], format="bgr24").to_ndarray()
                    timestamp = time.time() if self.realtime else anchor_wall + pts
                    self.sink.on_video(VideoFrame(self.camera, image, timestamp, pts, self.stats.sampled_frames))
                    self.stats.sampled_frames += 1
            if not self.is_file:
                return  # a live stream that ends is a drop: the caller reconnects
            if self.stop_at_end:
                raise StreamEnded()
            if not self.config.loop:
                return
            container.seek(0)
            # the file's first frame follows its last one a frame later, so a looped file keeps its own timing
            pts_offset = last_pts + frame_duration - (first_pts or 0.0)
            first_pts = None
            next_sample_pts = None

    def _emit_audio(self, resampler, frame, start_time: float) -> None:
        for out in resampler.resample(frame):
            samples = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
            if samples.size:
                self.stats.audio_seconds += samples.size / SAMPLE_RATE
                self.sink.on_audio(samples, start_time)
                start_time += samples.size / SAMPLE_RATE

    def _pace(self, due: float) -> None:
        delay = due - time.time()
        if delay > 0:
            self._stop.wait(min(delay, 1.0))
