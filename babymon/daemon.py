"""The daemon: one :class:`CameraMonitor` per camera, all publishing through one MQTT connection."""

from __future__ import annotations

import asyncio
import logging
import os
from concurrent.futures import ThreadPoolExecutor

from babymon.analyzers.registry import load_analyzers
from babymon.config import Config, redact_url
from babymon.http.service import HttpService
from babymon.monitor import CameraMonitor, FanOut, Publisher
from babymon.mqtt.client import MqttPublisher

log = logging.getLogger(__name__)


class Daemon:
    def __init__(self, config: Config, publisher: Publisher | None = None):
        self.config = config
        names = {key: config.camera_name(key) for key in config.cameras}
        snooze = {key: int(cam.snooze_minutes * 60) for key, cam in config.cameras.items()}
        self.mqtt = MqttPublisher(config.mqtt, names, snooze, commands=self)
        self.executor = ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1)),
                                           thread_name_prefix="analyzer")
        self.monitors: dict[str, CameraMonitor] = {}
        self.http = HttpService(config.http, self.monitors) if config.http.enabled else None
        output: Publisher = publisher or self.mqtt
        if self.http is not None:
            self.http.open()
            output = FanOut([output, *self.http.publishers])
        for key, camera in config.cameras.items():
            analyzers = load_analyzers(key, camera)
            executor = self.executor if (analyzers.video or analyzers.audio) else None
            self.monitors[key] = CameraMonitor(key, names[key], camera, analyzers, output, executor)

    # CommandHandler (called by the MQTT client)
    def set_enabled(self, camera: str, enabled: bool) -> None:
        self.monitors[camera].set_enabled(enabled)

    def snooze(self, camera: str, seconds: float) -> None:
        self.monitors[camera].snooze(seconds)

    async def run(self) -> None:
        for key, monitor in self.monitors.items():
            log.info("camera %s (%s): %s at %.1f fps, analyzers: %s", key, monitor.name,
                     redact_url(monitor.config.url), monitor.config.detect.fps,
                     ", ".join(a.name for a in [*monitor.analyzers.video, *monitor.analyzers.audio]) or "NONE")
        tasks = [asyncio.create_task(self.mqtt.run(), name="mqtt")]
        tasks += [asyncio.create_task(m.run(), name=f"camera-{k}") for k, m in self.monitors.items()]
        if self.http is not None:
            tasks.append(asyncio.create_task(self.http.run(), name="http"))
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                task.result()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for monitor in self.monitors.values():
                monitor.analyzers.close()
            self.executor.shutdown(wait=False, cancel_futures=True)
