"""The driver of one camera: stream source → analyzers → the camera step (rules, state, events) → outputs.

The decisions are made by :class:`~babymon.camera_step.CameraStep`, a pure step; this module feeds it what
the stream and the analyzers produced, and pushes each result to the output (MQTT, live view, evidence).

The source's thread hands frames over with ``call_soon_threadsafe``. Live, only the newest frame waits
for analysis: a frame that arrives while the previous one is still waiting replaces it and is counted as
dropped, so nothing queues without bound. Replaying a file as fast as possible (``babymon analyze``), the
source waits for the analyzers instead and nothing is dropped.

A one-second tick re-evaluates the rules when no frames arrive, which is how a dead stream or a stalled
analyzer turns into ``monitor_unavailable``.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from concurrent.futures import Executor
from typing import Callable

import numpy as np

from babymon.analyzers.base import Observation, VideoFrame
from babymon.analyzers.registry import LoadedAnalyzers
from babymon.audio_windows import AudioWindow, AudioWindower
from babymon.config import CameraConfig
from babymon.camera_step import CameraStep, Observed, StepResult
from babymon.outputs import AnalysedFrame, Output, StageTime
from babymon.overlay import draw_overlay, encode_jpeg
from babymon.redact import Redactor
from babymon.state import Coverage, Health
from babymon.stream import StreamSource
from babymon.tasks import cancel_and_wait

log = logging.getLogger(__name__)

FPS_WINDOW = 10.0  # seconds over which the analysed fps is measured
AUDIO_BACKLOG = 8  # audio windows that may wait for analysis before the oldest are dropped


class CameraMonitor:
    def __init__(
        self,
        camera: str,
        name: str,
        config: CameraConfig,
        analyzers: LoadedAnalyzers,
        output: Output,
        executor: Executor | None = None,
        *,
        realtime: bool | None = None,
        stop_at_end: bool = False,
        previous: CameraMonitor | None = None,
        evidence_status: Callable[[], str | None] | None = None,
    ):
        """``previous``: the monitor this one replaces after a failure; its rules (switch, snooze, conditions
        under way) and health counters carry over. ``evidence_status``: what the evidence store says.
        ``output`` receives every analysed frame (if it has ``camera_frame``), state, event and snapshot."""
        self.camera = camera
        self.name = name
        self.config = config
        self.analyzers = analyzers
        self.output = output
        self.executor = executor
        self.live = config.realtime if realtime is None else realtime
        self.health = previous.health if previous else Health()
        self.health.connected = False
        self._counted_before = (self.health.reconnects, self.health.decoded_frames)  # by the monitors replaced
        self.evidence_status = evidence_status
        self._redact = Redactor(urls=[config.url])
        self.coverage = Coverage(dict(analyzers.missing), analyzers.undetectable)
        self.step = CameraStep(camera, name, config, self.coverage, listens=bool(analyzers.audio),
                               rules=previous.step.rules if previous else None)
        self.source = StreamSource(camera, config, self, realtime=self.live, stop_at_end=stop_at_end)

        self._loop: asyncio.AbstractEventLoop | None = None
        self._vision: Observation | None = None
        self._audio_by_analyzer: dict[int, Observation] = {}  # the latest result of each audio analyzer
        self._last_frame: VideoFrame | None = None
        self._last_analysis: float | None = None  # time of the last analysed frame
        self._last_audio: float | None = None
        self._analysed: collections.deque[tuple[float, float]] = collections.deque()  # (timestamp, pts)
        self._pending_frame: VideoFrame | None = None
        self._frame_ready = asyncio.Event()
        self._frames: asyncio.Queue[VideoFrame] = asyncio.Queue(maxsize=2)  # replay mode only
        self._audio_chunks: asyncio.Queue[tuple[np.ndarray, float]] = asyncio.Queue(maxsize=8)  # replay mode only
        self._audio_windows: collections.deque[tuple[int, AudioWindow]] = collections.deque()
        self._audio_ready = asyncio.Event()
        self._windowers = [AudioWindower(a.window_seconds, a.hop_seconds) for a in analyzers.audio]
        self._ended = asyncio.Event()
        self._connected_since: float | None = None
        #: per analysis stage: ``<analyzer>`` (its whole call) and ``<analyzer>.<stage>`` (its timings_ms)
        self.stage_ms: dict[str, StageTime] = {}

    # ------------------------------------------------------------------------------ read by its owner

    @property
    def last_state(self) -> dict | None:
        """The most recently published state (the same JSON as ``<prefix>/<camera>/state``)."""
        return self.step.last_state

    @property
    def enabled(self) -> bool:
        return self.step.rules.enabled

    @property
    def _audio(self) -> Observation | None:
        """The audio analyzers' latest results, merged (each analyzer's newest result replaces its older one)."""
        merged = None
        for observation in self._audio_by_analyzer.values():
            merged = observation if merged is None else merged.merged_with(observation)
        return merged

    # --------------------------------------------------------------------------- called from the source thread

    def on_connected(self, has_audio: bool) -> None:
        self._call(self._set_connected, True, has_audio, None)

    def on_disconnected(self, reason: str) -> None:
        self._call(self._set_connected, False, None, reason)

    def on_end(self) -> None:
        self._call(self._ended.set)

    def on_video(self, frame: VideoFrame) -> None:
        if self.live:
            self._call(self._offer_frame, frame)
        else:
            self._put_blocking(self._frames, frame)

    def on_audio(self, samples: np.ndarray, start_time: float) -> None:
        if not self._windowers:
            return
        if self.live:
            self._call(self._offer_audio, samples, start_time)
        else:
            self._put_blocking(self._audio_chunks, (samples, start_time))

    def _call(self, func, *args) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(func, *args)
            except RuntimeError:  # loop closed while shutting down
                pass

    def _put_blocking(self, queue: asyncio.Queue, item) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        future = asyncio.run_coroutine_threadsafe(queue.put(item), loop)
        while True:
            try:
                future.result(timeout=0.5)
                return
            except TimeoutError:
                if loop.is_closed() or self._ended.is_set() or self.source.stopping:
                    future.cancel()
                    return

    # ---------------------------------------------------------------------------------- on the event loop

    def _set_connected(self, connected: bool, has_audio: bool | None, reason: str | None) -> None:
        self.health.connected = connected
        self.health.reconnects = self._counted_before[0] + self.source.stats.reconnects
        if connected:
            self.health.has_audio = has_audio
            if has_audio is False and self.analyzers.audio:
                log.warning("camera %s: the stream has no audio track: crying cannot be detected", self.camera)
            self.health.last_error = None
            self._connected_since = time.time()
            self._analysed.clear()  # a new connection starts its timestamps over
        else:
            self.health.last_error = self._redact(reason)
            self._connected_since = None
        self._evaluate(time.time() if self.live else self._clock())

    def _offer_frame(self, frame: VideoFrame) -> None:
        if self._pending_frame is not None:
            self.health.dropped_frames += 1
        self._pending_frame = frame
        self._frame_ready.set()

    def _offer_audio(self, samples: np.ndarray, start_time: float) -> None:
        for index, windower in enumerate(self._windowers):
            for window in windower.push(samples, start_time):
                self._audio_windows.append((index, window))
        while len(self._audio_windows) > AUDIO_BACKLOG * max(1, len(self._windowers)):
            self._audio_windows.popleft()
            self.health.dropped_audio_windows += 1
        if self._audio_windows:
            self._audio_ready.set()

    async def run(self, start_delay: float = 0.0) -> None:
        """Monitor until cancelled (live) or until the file ends (``stop_at_end``). ``start_delay``: seconds
        to wait before opening the stream (a restart's backoff); the rules are evaluated meanwhile."""
        self._loop = asyncio.get_running_loop()
        for name, why in self.coverage.missing.items():
            log.warning("camera %s: analyzer '%s' is not available: %s", self.camera, name, why)
        if self.coverage.undetectable:
            log.warning("camera %s: NOT detected on this camera: %s", self.camera, ", ".join(self.coverage.undetectable))
        tasks = [
            asyncio.create_task(self._video_loop(), name=f"{self.camera}-video"),
            asyncio.create_task(self._audio_loop(), name=f"{self.camera}-audio"),
        ]
        if self.live:
            tasks.append(asyncio.create_task(self._tick_loop(), name=f"{self.camera}-tick"))
        self._evaluate(time.time())  # publish "not connected yet" right away
        ended = asyncio.create_task(self._ended.wait(), name=f"{self.camera}-ended")
        try:
            if start_delay > 0:
                done, _ = await asyncio.wait([*tasks, ended], timeout=start_delay, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    task.result()
            self.source.start()
            done, _ = await asyncio.wait([*tasks, ended], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not ended:
                    task.result()  # a loop died: re-raise rather than monitor half-way
                    raise RuntimeError(f"camera {self.camera}: {task.get_name()} stopped unexpectedly")
            await self._drain()
        finally:
            self._ended.set()  # releases a source thread blocked on a full queue
            self.source.stop(timeout=0.5)
            await cancel_and_wait([*tasks, ended])

    async def _drain(self) -> None:
        """Replay mode: let the frames and audio already read through the analyzers before returning."""
        await self._frames.join()
        await self._audio_chunks.join()

    async def _video_loop(self) -> None:
        while True:
            if self.live:
                await self._frame_ready.wait()
                self._frame_ready.clear()
                frame, self._pending_frame = self._pending_frame, None
                if frame is not None:
                    await self._process_frame(frame)
            else:
                frame = await self._frames.get()
                try:
                    await self._process_frame(frame)
                finally:
                    self._frames.task_done()

    async def _process_frame(self, frame: VideoFrame) -> None:
        observation = await self._analyze(self.analyzers.video, frame)
        if observation is None:
            return
        self._vision = observation
        self._last_frame = frame
        self._last_analysis = frame.timestamp
        if self._analysed and frame.pts < self._analysed[-1][1]:
            self._analysed.clear()  # the stream's clock jumped back: measure afresh
        self._analysed.append((frame.timestamp, frame.pts))
        self._push("camera_frame", AnalysedFrame(frame, self._merged(), self.stage_ms))
        # live, rules run on the wall clock (as the 1 s tick does); replaying a file, on the video's own clock
        self._evaluate(time.time() if self.live else frame.timestamp, frame=frame)

    async def _audio_loop(self) -> None:
        while True:
            if self.live:
                await self._audio_ready.wait()
                self._audio_ready.clear()
            else:
                samples, start_time = await self._audio_chunks.get()
                self._offer_audio(samples, start_time)
            try:
                while self._audio_windows:
                    index, window = self._audio_windows.popleft()
                    await self._process_audio(index, window)
            finally:
                if not self.live:
                    self._audio_chunks.task_done()

    async def _process_audio(self, index: int, window: AudioWindow) -> None:
        observation = await self._analyze([self.analyzers.audio[index]], window)
        if observation is None:
            return
        self._audio_by_analyzer[index] = observation
        self._last_audio = window.end_time
        self._evaluate(time.time() if self.live else window.end_time)

    async def _analyze(self, analyzers, item) -> Observation | None:
        """Run analyzers on a frame or window in the executor; ``None`` if one of them failed."""
        observation = Observation()
        for analyzer in analyzers:
            try:
                started = time.perf_counter()
                if self.executor is None:
                    result = analyzer.analyze(item)
                else:
                    result = await asyncio.get_running_loop().run_in_executor(self.executor, analyzer.analyze, item)
                self._record_timings(analyzer.name, (time.perf_counter() - started) * 1000.0, result.timings_ms)
            except Exception as exc:  # noqa: BLE001 - one bad frame must not stop the camera
                self.health.analysis_errors += 1
                self.health.last_error = self._redact(f"analyzer {analyzer.name}: {type(exc).__name__}: {exc}")
                log.exception("camera %s: analyzer %s failed", self.camera, analyzer.name)
                return None
            observation = observation.merged_with(result)
        return observation

    def _record_timings(self, analyzer: str, total_ms: float, stages: dict[str, float]) -> None:
        self.stage_ms.setdefault(analyzer, StageTime()).add(total_ms)
        for stage, ms in stages.items():
            self.stage_ms.setdefault(f"{analyzer}.{stage}", StageTime()).add(float(ms))

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self._evaluate(time.time())

    def _clock(self) -> float:
        return self._last_analysis if self._last_analysis is not None else time.time()

    # --------------------------------------------------------------------------------------------- rules

    def set_enabled(self, enabled: bool) -> None:
        result = self.step.set_enabled(enabled, self._observed(time.time()))
        if result is not None:
            log.warning("camera %s: monitoring switched %s", self.camera, "ON" if enabled else "OFF")
            self._send(result)

    def snooze(self, seconds: float) -> None:
        if seconds > 0:
            log.warning("camera %s: alerts snoozed for %.0f s", self.camera, seconds)
        else:
            log.info("camera %s: snooze cancelled", self.camera)
        self._send(self.step.snooze(seconds, self._observed(time.time())))

    def _merged(self) -> Observation:
        """The current vision and audio observations, merged."""
        return (self._vision or Observation()).merged_with(self._audio or Observation())

    def _observed(self, now: float, frame: VideoFrame | None = None) -> Observed:
        self._update_health(now)
        return Observed(now=now, health=self.health, vision=self._vision, vision_at=self._last_analysis,
                        audio=self._audio, audio_at=self._last_audio, connected_since=self._connected_since,
                        frame_time=frame.timestamp if frame else None, pts=frame.pts if frame else None)

    def _evaluate(self, now: float, frame: VideoFrame | None = None) -> None:
        observed = self._observed(now, frame)
        self._send(self.step.step(observed, replayed_frame=not self.live and frame is not None))

    def _send(self, result: StepResult) -> None:
        """Push a step's result out: the alert's snapshot first, then its events, then the state."""
        if result.picture and self._last_frame is not None:
            self._push("camera_snapshot", self._snapshot(result.state))
        for event in result.events:
            alarming = event["type"].endswith("_started") or event["type"] == "monitoring_disabled"
            log.log(logging.WARNING if alarming else logging.INFO, "camera %s: %s %s", self.camera, event["type"], ", ".join(event["reasons"]))
            self.output.camera_event(self.camera, event)
        if result.publish:
            self.output.camera_state(self.camera, result.state)

    def _snapshot(self, state: dict) -> bytes | None:
        """The alert's picture: the analysed frame with what babymon saw drawn on it, encoded once for all."""
        try:
            return encode_jpeg(draw_overlay(self._last_frame.image, self._merged(), state))
        except Exception:  # noqa: BLE001 - a snapshot is a nicety; the event itself goes out
            log.exception("camera %s: snapshot failed", self.camera)
            return None

    def _push(self, method: str, payload) -> None:
        if payload is None:
            return
        handler = getattr(self.output, method, None)
        if handler is not None:
            handler(self.camera, payload)

    def _update_health(self, now: float) -> None:
        # analysed frames per second of stream time: immune to the burst of buffered frames at connect
        samples = self._analysed
        while samples and samples[0][0] < now - FPS_WINDOW:
            samples.popleft()
        span = samples[-1][1] - samples[0][1] if len(samples) > 1 else 0.0
        self.health.fps = (len(samples) - 1) / span if span >= 1.0 else 0.0
        self.health.last_frame_age = None if self._last_analysis is None else max(0.0, now - self._last_analysis)
        self.health.reconnects = self._counted_before[0] + self.source.stats.reconnects
        self.health.decoded_frames = self._counted_before[1] + self.source.stats.decoded_frames
        self.health.evidence = self.evidence_status() if self.evidence_status else None
