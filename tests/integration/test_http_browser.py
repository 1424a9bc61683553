"""The web page in headless Chromium, against the real daemon and a real RTSP server.

Loads ``/``, waits for the live image and the timeline, fails on any console error, uncaught exception or
failed request, and saves a screenshot (also copied to docs/live-view.png when BABYMON_UPDATE_DOCS=1).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, wait_until
from tests.support.browser import Browser, chromium_binary
from tests.support.http_client import Api
from tests.support.services import free_port
from tests.integration.test_http_api import TOKEN, http_config, set_script

pytestmark = pytest.mark.integration


@pytest.fixture
def chromium() -> str:
    binary = chromium_binary()
    if binary is None:
        pytest.skip("chromium is not installed (apt-get install chromium): the browser test needs it")
    return binary


def test_page_shows_live_view_and_timeline_without_errors(broker, rtsp, run_daemon, chromium, tmp_path,
                                                           monkeypatch):
    script = tmp_path / "script.json"
    set_script(script, face_state="clear", posture="supine")
    monkeypatch.setenv("BABYMON_TEST_SCRIPT", str(script))
    port = free_port()
    run_daemon(http_config(broker, rtsp.url, tmp_path / "evidence", port, token=TOKEN))
    api = Api(port, token=TOKEN)
    api.wait_up()
    wait_until(lambda: api.get("/api/health").status == 200, message="healthy")
    time.sleep(1.5)  # past the start-up's own events
    # a short night: face covered, then cleared; then lying prone
    set_script(script, face_state="covered", posture="supine")
    wait_until(lambda: any(e["type"] == "face_covered_started" for e in api.get("/api/events").json()["events"]),
               message="face covered")
    time.sleep(1.5)
    set_script(script, face_state="clear", posture="prone")
    wait_until(lambda: any(e["type"] == "prone_started" for e in api.get("/api/events").json()["events"]),
               message="prone")
    time.sleep(1.0)

    screenshot = asyncio.run(_visit(chromium, f"http://127.0.0.1:{port}/?token={TOKEN}", tmp_path))
    assert screenshot.stat().st_size > 10_000
    if os.environ.get("BABYMON_UPDATE_DOCS"):
        shutil.copy(screenshot, ROOT / "docs" / "live-view.png")


async def _visit(chromium: str, url: str, tmp_path: Path) -> Path:
    async with Browser(chromium, tmp_path / "chromium-profile") as browser:
        await browser.goto(url)
        width = await browser.wait_for("(() => { const i = document.querySelector('#camera-nursery img.live');"
                                       " return i && i.complete !== undefined && i.naturalWidth; })()")
        assert width == 320  # the MJPEG stream is showing the camera's analysed frames
        await browser.wait_for("document.body.dataset.ready === '1'")
        status = await browser.evaluate("document.querySelector('#camera-nursery .status').textContent")
        assert status.startswith("DANGER: prone"), status
        lanes = await browser.evaluate(
            "[...document.querySelectorAll('#timelines rect.span')].map(r => r.dataset.lane)")
        assert {"danger", "face covered", "prone"} <= set(lanes), lanes
        rows = await browser.evaluate("document.querySelectorAll('#events tbody tr').length")
        assert rows >= 4
        await asyncio.sleep(1.0)  # let a few more frames arrive, then look
        path = await browser.screenshot(tmp_path / "live-view.png")
        assert browser.errors == [], json.dumps(browser.errors, indent=1)
        return path
