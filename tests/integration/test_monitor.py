"""One camera monitor in-process, on a real file played in real time, with test-double analyzers."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

from babymon.analyzers.registry import load_analyzers
from babymon.config import CameraConfig
from babymon.monitor import CameraMonitor
from babymon_lab.synthetic_clip import make_clip


class Recorder:
    def __init__(self):
        self.states, self.events, self.snapshots = [], [], []

    def camera_state(self, camera, state):
        self.states.append(state)

    def camera_event(self, camera, event):
        self.events.append(event)

    def camera_snapshot(self, camera, jpeg):
        self.snapshots.append(jpeg)


async def run_for(monitor: CameraMonitor, seconds: float) -> None:
    task = asyncio.create_task(monitor.run())
    await asyncio.sleep(seconds)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_slow_analysis_drops_frames_instead_of_queueing(tmp_path):
    clip = make_clip(tmp_path / "c.mp4", seconds=6, width=320, height=240, fps=10)
    config = CameraConfig.model_validate({"url": str(clip), "detect": {"fps": 10},
                                          "analyzers": ["tests.support.scripted:SlowAnalyzer"], "state_interval": 0})
    recorder = Recorder()
    with ThreadPoolExecutor(1) as pool:
        monitor = CameraMonitor("crib", "Crib", config, load_analyzers("crib", config), recorder, pool)
        await run_for(monitor, 4.0)
    # 10 frames/s offered, 2 frames/s analysed: the rest are dropped and counted, never queued
    analysed = len({s["pts"] for s in recorder.states if s["pts"] is not None})
    assert 5 <= analysed <= 9
    assert monitor.health.dropped_frames >= 20
    assert monitor.source.stats.sampled_frames - analysed - monitor.health.dropped_frames <= 2
    # and the newest frame is what gets analysed: the last analysed frame is recent, not 3 s old
    newest = max(s["frame_time"] for s in recorder.states if s["frame_time"])
    assert time.time() - newest < 1.5


async def test_failing_analyzer_is_counted_and_stalls_into_monitor_unavailable(tmp_path, monkeypatch):
    clip = make_clip(tmp_path / "c.mp4", seconds=8, width=320, height=240, fps=10)
    script = tmp_path / "script.json"
    script.write_text('{"fail": true}')
    monkeypatch.setenv("BABYMON_TEST_SCRIPT", str(script))
    config = CameraConfig.model_validate({
        "url": str(clip), "analyzers": ["tests.support.scripted:ScriptedAnalyzer"], "stall_timeout": 1,
        "rules": {"monitor_unavailable": {"on_delay": 1}}, "state_interval": 0})
    recorder = Recorder()
    monitor = CameraMonitor("crib", "Crib", config, load_analyzers("crib", config), recorder)
    await run_for(monitor, 4.0)
    assert monitor.health.analysis_errors >= 5
    assert "scripted failure" in monitor.health.last_error
    assert any(e["type"] == "danger_started" and e["reasons"] == ["monitor_unavailable"] for e in recorder.events)
    assert any("analysis stalled" in r for s in recorder.states for r in s["not_monitoring_reasons"])
