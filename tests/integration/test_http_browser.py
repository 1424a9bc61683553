"""The web page in headless Chromium, against the real daemon and a real RTSP server.

Loads ``/``, waits for the live image and the timeline, presses "This was wrong", fails on any console error,
uncaught exception or failed request, and saves a screenshot (also copied to docs/live-view.png when
BABYMON_UPDATE_DOCS=1). The label page (``/label``) runs against the real app in-process on a prepared nursery
folder (docs/label-page.png).
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
    config = http_config(broker, rtsp.url, tmp_path / "evidence", port, token=TOKEN)
    config["nursery"] = {"path": str(tmp_path / "nursery")}
    run_daemon(config)
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
    kept = {p.name: json.loads(p.read_text()) for p in (tmp_path / "nursery" / "nursery").glob("*.json")}
    alerts = {s["event_id"]: s for s in kept.values() if s["source"] == "alert"}
    events = {e["id"]: e["type"] for e in api.get("/api/events").json()["events"]}
    assert {events[i] for i in alerts} == {"face_covered_started", "prone_started"}  # the frame each alert began on
    [prone] = [s for s in alerts.values() if events[s["event_id"]] == "prone_started"]
    assert prone["prediction"]["posture"] == "prone"
    assert [events[s["event_id"]] for s in alerts.values() if s.get("wrong")] == ["prone_started"]  # marked on the page
    assert sum(s["source"] == "wrong" for s in kept.values()) == 1  # the live view's "This was wrong"
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
        # "This was wrong" under the live view, and on the newest alert in the list
        await _click(browser, "#camera-nursery button.wrong")
        await browser.wait_for("!!document.querySelector('#camera-nursery .wrong-note a')")
        note = await browser.evaluate("[document.querySelector('#camera-nursery .wrong-note').textContent,"
                                      " document.querySelector('#camera-nursery .wrong-note a').href]")
        assert note[0] == "kept for labelling — label it at /label", note
        assert note[1].endswith(f"/label?token={TOKEN}"), note
        await _click(browser, "#events tbody button.wrong")
        await browser.wait_for("!!document.querySelector('#events tbody .wrong-note a')")
        assert browser.errors == [], json.dumps(browser.errors, indent=1)
        return path


# ------------------------------------------------------------------------------------------ the label page

NIGHT = time.mktime((2026, 12, 5, 2, 40, 0, 0, 0, -1))
#: the frames of a night: (source, what babymon said, the parent's label already given, marked wrong)
NIGHT_FRAMES = [
    ("wrong", {"baby_present": True, "posture": "side", "face_state": "face_not_visible"}, None, False),
    ("capture", {"baby_present": True, "posture": "supine", "face_state": "clear"}, ("supine", "clear"), False),
    ("alert", {"baby_present": True, "posture": "supine", "face_state": "covered"}, None, False),
    ("capture", {"baby_present": True, "posture": "supine", "face_state": "pacifier"}, ("supine", "pacifier"), False),
    ("capture", {"baby_present": False, "posture": None, "face_state": "no_baby"}, None, False),
    ("alert", {"baby_present": True, "posture": "prone", "face_state": "covered"}, None, True),
]


def night_pictures(count: int) -> list[bytes]:
    """JPEG frames at a detect size of 640×480, drawn: a crib seen from above (mattress, rails, a sleeping shape),
    some in colour, some grey as night vision. Drawn, not taken from ../shared/data: the screenshot made from them
    goes into docs/, and that data may not be redistributed."""
    import cv2
    import numpy as np

    pictures = []
    for i in range(count):
        night = i % 2 == 1
        image = np.full((480, 640, 3), (70, 75, 80), np.uint8)
        cv2.rectangle(image, (110, 60), (530, 420), (205, 215, 225), -1)  # mattress
        for x in range(110, 531, 30):  # rails along the top and bottom
            cv2.line(image, (x, 40), (x, 75), (120, 140, 170), 6)
            cv2.line(image, (x, 405), (x, 440), (120, 140, 170), 6)
        if i != 4:  # frame 4: an empty crib
            angle = 20 * i
            centre = (320 + 25 * (i % 3 - 1), 240)
            cv2.ellipse(image, centre, (110, 55), angle, 0, 360, (150, 160, 215), -1)  # sleep sack
            head = (int(centre[0] + 125 * np.cos(np.radians(angle))), int(centre[1] + 125 * np.sin(np.radians(angle))))
            cv2.circle(image, head, 38, (150, 180, 225), -1)
            if i in (2, 5):  # a blanket over the face
                cv2.ellipse(image, head, (48, 34), angle + 90, 0, 360, (180, 130, 90), -1)
        if night:
            grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
            image = cv2.cvtColor((grey * 0.7 + 30).astype(np.uint8), cv2.COLOR_GRAY2BGR)
        pictures.append(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes())
    return pictures


def prepare_nursery(base: Path) -> list[str]:
    """A camera's nursery folder with a night's frames; → their names in the page's order (wrong first, newest)."""
    from babymon.nursery.folder import NurseryFolder

    folder = NurseryFolder(base / "nursery")
    kept = []
    for i, ((source, said, label, wrong), jpeg) in enumerate(zip(NIGHT_FRAMES, night_pictures(len(NIGHT_FRAMES)))):
        event_id = f"{i:032x}" if source == "alert" else None
        name = folder.save_frame(jpeg, said, source, taken_at=NIGHT + 1500 * i + 7.25, event_id=event_id)
        if label:
            folder.set_label(name, *label)
        if wrong:
            folder.mark_wrong(name)
        kept.append((not (wrong or source == "wrong"), -i, name))
    return [name for *_, name in sorted(kept)]


def label_rows(base: Path) -> dict[str, list[str]]:
    path = base / "nursery" / "labels.csv"
    lines = path.read_text().splitlines() if path.exists() else []
    return {line.split(",")[0]: line.split(",")[1:] for line in lines[1:]}


def test_label_page_labels_frames_by_click_and_key_and_shows_them_after_a_reload(chromium, tmp_path):
    base = tmp_path / "nursery-folders"
    order = prepare_nursery(base)
    screenshot = asyncio.run(_label_frames(chromium, base, order, tmp_path))
    assert screenshot.stat().st_size > 10_000
    if os.environ.get("BABYMON_UPDATE_DOCS"):
        shutil.copy(screenshot, ROOT / "docs" / "label-page.png")


async def _label_frames(chromium: str, base: Path, order: list[str], tmp_path: Path) -> Path:
    from aiohttp import web

    from babymon.config import EvidenceConfig
    from babymon.evidence import EvidenceStore
    from babymon.http.live import LiveView
    from babymon.http.metrics import EventCounter
    from babymon.http.server import make_app

    evidence = EvidenceStore(EvidenceConfig(path=tmp_path / "evidence", max_age=1e9)).open()
    app = make_app(LiveView({"nursery": "Nursery"}), evidence, EventCounter(), TOKEN, nursery=base)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with Browser(chromium, tmp_path / "chromium-profile") as browser:
            await browser.goto(f"http://127.0.0.1:{port}/label?token={TOKEN}")
            await browser.wait_for("document.body?.dataset.ready === '1'")
            tiles = await browser.evaluate("[...document.querySelectorAll('.tile')].map(t => t.dataset.name)")
            assert tiles == order  # marked wrong first, then newest first
            assert await browser.evaluate(f"document.querySelector('.tile[data-name=\"{order[0]}\"] .badge')"
                                          ".textContent") == "wrong"
            assert await browser.evaluate("document.querySelector('.tile.current').dataset.name") == order[0]
            said = await browser.evaluate("document.getElementById('said').textContent")
            assert said.startswith("said: prone / covered · alert · marked wrong"), said

            # the first frame: a real click on a posture button, then on a face-state button
            await _click(browser, 'button[data-field="posture"][data-label="supine"]')
            await _eventually(lambda: label_rows(base).get(order[0]) == ["supine", ""], "posture saved")
            await _click(browser, 'button[data-field="face_state"][data-label="pacifier"]')
            await _eventually(lambda: label_rows(base).get(order[0]) == ["supine", "pacifier"], "face saved")
            # the next frame by keyboard: j, then 2 (prone) and e (covered)
            for key in ("j", "2", "e"):
                await _press(browser, key)
            await _eventually(lambda: label_rows(base).get(order[1]) == ["prone", "covered"], "keys saved")
            counts = await browser.evaluate("document.getElementById('counts').textContent")
            assert "prone 1" in counts and "pacifier 2" in counts and f"unlabelled 2 of {len(order)}" in counts, counts

            await browser.evaluate("window.beforeReload = true; location.reload()")
            await browser.wait_for("!window.beforeReload && document.body?.dataset.ready === '1'")
            shown = await browser.evaluate(
                "Object.fromEntries([...document.querySelectorAll('.tile')].map(t => "
                "[t.dataset.name, t.querySelector('.yours').textContent]))")
            assert shown[order[0]] == "you: supine / pacifier" and shown[order[1]] == "you: prone / covered", shown
            pressed = await browser.evaluate(
                "[...document.querySelectorAll('button.choice[aria-pressed=\"true\"]')].map(b => b.dataset.label)")
            assert pressed == ["supine", "pacifier"], pressed  # the selected (first) frame's stored label

            await browser.wait_for("[...document.images].every(i => i.complete && i.naturalWidth > 0)")
            path = await browser.screenshot(tmp_path / "label-page.png")
            assert browser.errors == [], json.dumps(browser.errors, indent=1)
            return path
    finally:
        await runner.cleanup()
        evidence.close()


async def _click(browser: Browser, selector: str) -> None:
    """A real mouse click (pressed and released) in the middle of the element."""
    box = await browser.evaluate(f"(() => {{ const e = document.querySelector('{selector}');"
                                 " e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
                                 " const x = r.x + r.width / 2, y = r.y + r.height / 2;"
                                 " return [x, y, e.contains(document.elementFromPoint(x, y))]; })()")
    assert box[2], f"{selector} is not where the click would land"
    for kind in ("mousePressed", "mouseReleased"):
        await browser.send("Input.dispatchMouseEvent", session=True, type=kind, x=box[0], y=box[1], button="left",
                           clickCount=1)


async def _press(browser: Browser, key: str) -> None:
    code = f"Digit{key}" if key.isdigit() else f"Key{key.upper()}"
    await browser.send("Input.dispatchKeyEvent", session=True, type="keyDown", key=key, code=code, text=key,
                       windowsVirtualKeyCode=ord(key.upper()))
    await browser.send("Input.dispatchKeyEvent", session=True, type="keyUp", key=key, code=code,
                       windowsVirtualKeyCode=ord(key.upper()))
    await asyncio.sleep(0.3)  # each label is its own request: let it land before the next key


async def _eventually(predicate, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for: {what}")
        await asyncio.sleep(0.1)
