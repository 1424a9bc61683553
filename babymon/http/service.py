"""Glue for the daemon: the evidence store, event counter, nursery keeper and web server, started as one task."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from aiohttp import web

from babymon.config import HttpConfig, NurseryConfig
from babymon.evidence import EvidenceStore
from babymon.http.live import LiveView
from babymon.http.metrics import EventCounter
from babymon.http.server import make_app
from babymon.nursery.keeper import NurseryKeeper
from babymon.outputs import Output
from babymon.tasks import cancel_and_wait

log = logging.getLogger(__name__)

RETENTION_INTERVAL = 600.0  # seconds between age checks when nothing happens
RETRY_INTERVAL = 5.0  # seconds between tries of an evidence folder that could not be written


class HttpService:
    def __init__(self, config: HttpConfig, names: Mapping[str, str], enabled: Mapping[str, bool] | None = None,
                 nursery: NurseryConfig | None = None):
        """``names``: camera key → display name; ``enabled``: each camera's switch in the config; ``nursery``:
        where frames are kept for labelling (None: no nursery routes, no alert frames kept)."""
        self.config = config
        self.nursery = nursery
        self.live = LiveView(names, enabled)
        self.evidence = EvidenceStore(config.evidence)
        self.event_counter = EventCounter()
        self.keeper = (NurseryKeeper(nursery.path, names, nursery.max_alert_frames) if nursery is not None and nursery.keep_alert_frames
                       else None)

    @property
    def outputs(self) -> list[Output]:
        """What the camera drivers must also push to."""
        return [self.live, self.evidence, self.event_counter, *([self.keeper] if self.keeper else [])]

    def open(self) -> None:
        """Opens the evidence store. Never raises: a folder that cannot be used is logged, reported in
        ``evidence.problem`` and retried every few seconds while the daemon monitors on."""
        try:
            self.evidence.open()
        except Exception:  # noqa: BLE001 - the store says what is wrong itself; this is a last resort
            log.exception("evidence store %s could not be opened", self.config.evidence.path)
        if self.evidence.problem:
            log.error("HTTP: evidence is kept in memory only until %s works (retried every %.0f s)",
                      self.config.evidence.path, RETRY_INTERVAL)

    async def run(self) -> None:
        token = self.config.token.get_secret_value() if self.config.token else None
        app = make_app(self.live, self.evidence, self.event_counter, token, self.config.host,
                       nursery=self.nursery.path if self.nursery is not None else None)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        tasks = [asyncio.create_task(self._retention_loop(), name="evidence-retention"),
                 asyncio.create_task(self._retry_loop(), name="evidence-retry")]
        try:
            site = web.TCPSite(runner, self.config.host, self.config.port)
            try:
                await site.start()
            except OSError as exc:
                # the monitor itself (MQTT) matters more than the web page: keep monitoring, say so loudly
                log.error("HTTP: cannot listen on %s:%d: %s; the API and live view are OFF (evidence is still kept)",
                          self.config.host, self.config.port, exc.strerror or exc)
            else:
                log.info("HTTP: live view and API on http://%s:%d/%s", self.config.host, self.config.port,
                         " (token required)" if token else "")
            await asyncio.gather(*tasks)
        finally:
            await cancel_and_wait(tasks)
            await runner.cleanup()
            self.evidence.close()

    async def _retention_loop(self) -> None:
        while True:
            await asyncio.sleep(RETENTION_INTERVAL)
            self.evidence.enforce_retention()

    async def _retry_loop(self) -> None:
        """While the evidence folder has a problem, tries it again (in a thread: a hung disk must not stall us)."""
        while True:
            await asyncio.sleep(RETRY_INTERVAL)
            if self.evidence.problem:
                try:
                    await asyncio.to_thread(self.evidence.retry)
                except Exception:  # noqa: BLE001 - retry() does not raise; this loop must not end if it did
                    log.exception("evidence: retry failed")
