"""The daemon: one :class:`CameraMonitor` per camera, all publishing through one MQTT connection.

Failure handling, the part a parent relies on:

* A camera whose monitor fails (a bug, a malformed analyzer result) is logged, counted in its
  ``health.restarts`` and started again with backoff, its switch, snooze and alerts carried over. The
  other cameras go on.
* Anything else that fails (the MQTT task, the HTTP task) ends the daemon: the MQTT connection says
  ``offline`` for the daemon and every camera before it closes, and ``babymon run`` exits non-zero so a
  supervisor (the systemd unit in ``deploy/``) starts it again. Nothing ends it while it still looks online.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor

from babymon.analyzers.registry import LoadedAnalyzers, load_analyzers
from babymon.backoff import Backoff
from babymon.config import Config
from babymon.http.service import HttpService
from babymon.monitor import CameraMonitor
from babymon.mqtt.client import MqttPublisher
from babymon.outputs import FanOut, Output
from babymon.redact import Redactor, redact_url
from babymon.tasks import cancel_and_wait

log = logging.getLogger(__name__)

RESTART_INITIAL = 1.0  # seconds before a failed camera monitor is started again; doubles up to RESTART_MAX
RESTART_MAX = 60.0
HEALTHY_RUN = 120.0  # a monitor that ran this long before failing starts its backoff over


def config_redactor(config: Config) -> Redactor:
    """Every secret in the configuration: camera URLs' credentials, the MQTT password, the HTTP token."""
    secrets = [config.mqtt.password.get_secret_value() if config.mqtt.password else None,
               config.http.token.get_secret_value() if config.http.token else None]
    return Redactor(urls=[camera.url for camera in config.cameras.values()], secrets=secrets)


class Daemon:
    def __init__(self, config: Config, output: Output | None = None):
        self.config = config
        self.names = {key: config.camera_name(key) for key in config.cameras}
        snooze = {key: int(cam.snooze_minutes * 60) for key, cam in config.cameras.items()}
        self.mqtt = MqttPublisher(config.mqtt, self.names, snooze, commands=self)
        self.executor = ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1)),
                                           thread_name_prefix="analyzer")
        self.monitors: dict[str, CameraMonitor] = {}
        enabled = {key: camera.enabled for key, camera in config.cameras.items()}
        self.http = HttpService(config.http, self.names, enabled, config.nursery) if config.http.enabled else None
        self.output: Output = output or self.mqtt
        if self.http is not None:
            self.http.open()
            self.mqtt.announce_web(config.http.public_url(), token_required=config.http.token is not None)
            self.output = FanOut([self.output, *self.http.outputs])
        self.analyzers: dict[str, LoadedAnalyzers] = {}
        for key, camera in config.cameras.items():
            self.analyzers[key] = load_analyzers(key, camera)
            self.monitors[key] = self._new_monitor(key)

    def _new_monitor(self, key: str, previous: CameraMonitor | None = None) -> CameraMonitor:
        analyzers = self.analyzers[key]
        executor = self.executor if (analyzers.video or analyzers.audio) else None
        evidence = self._evidence_status if self.http is not None else None
        return CameraMonitor(key, self.names[key], self.config.cameras[key], analyzers, self.output, executor,
                             previous=previous, evidence_status=evidence)

    def _evidence_status(self) -> str | None:
        """``ok``, or what is wrong with the evidence store (it never stops monitoring)."""
        return (getattr(self.http.evidence, "problem", None) or "ok") if self.http is not None else None

    # CommandHandler (called by the MQTT client)
    def set_enabled(self, camera: str, enabled: bool) -> None:
        self.monitors[camera].set_enabled(enabled)

    def snooze(self, camera: str, seconds: float) -> None:
        self.monitors[camera].snooze(seconds)

    async def _watch_camera(self, key: str) -> None:
        """Run one camera's monitor for ever, starting it again (with backoff) whenever it fails."""
        backoff = Backoff(RESTART_INITIAL, RESTART_MAX)
        delay = 0.0
        while True:
            monitor = self.monitors[key]
            started = time.monotonic()
            try:
                await monitor.run(start_delay=delay)
                raise RuntimeError("the monitor stopped by itself")  # a live monitor runs until cancelled
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - one camera's failure must not stop the others
                if time.monotonic() - started >= HEALTHY_RUN:
                    backoff.reset()
                delay = backoff.next_delay()
                log.error("camera %s: monitoring FAILED (%s: %s); starting it again in %.1f s", key,
                          type(exc).__name__, exc, delay, exc_info=exc)
                replacement = self._new_monitor(key, previous=monitor)
                replacement.health.restarts += 1
                replacement.health.last_error = f"monitor restarted after {type(exc).__name__}: {exc}"
                self.monitors[key] = replacement

    async def run(self) -> None:
        for key, monitor in self.monitors.items():
            log.info("camera %s (%s): %s at %.1f fps, analyzers: %s", key, monitor.name,
                     redact_url(monitor.config.url), monitor.config.detect.fps,
                     ", ".join(a.name for a in [*monitor.analyzers.video, *monitor.analyzers.audio]) or "NONE")
        mqtt = asyncio.create_task(self.mqtt.run(), name="mqtt")
        others = [asyncio.create_task(self._watch_camera(k), name=f"camera-{k}") for k in self.monitors]
        if self.http is not None:
            others.append(asyncio.create_task(self.http.run(), name="http"))
        try:
            done, _ = await asyncio.wait([mqtt, *others], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # re-raise what ended it
                raise RuntimeError(f"task {task.get_name()} stopped by itself")
        finally:
            # all at once: the MQTT task says offline (daemon and cameras) as it is cancelled
            await cancel_and_wait([mqtt, *others], grace=3.0)  # longer than the MQTT task's 2 s to say offline
            for analyzers in self.analyzers.values():
                analyzers.close()
            self.executor.shutdown(wait=False, cancel_futures=True)
