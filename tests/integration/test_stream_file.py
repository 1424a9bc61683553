"""The stream reader on real files: sampling to the detect fps, 16 kHz mono audio, replay without drops."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from babymon.config import CameraConfig
from babymon.stream import StreamSource, scaled_size
from babymon_lab.synthetic_clip import make_clip
from tests.conftest import shared_file


class Collect:
    def __init__(self):
        self.frames, self.audio, self.connected, self.errors = [], [], [], []
        self.done = threading.Event()

    def on_connected(self, has_audio):
        self.connected.append(has_audio)

    def on_disconnected(self, reason):
        self.errors.append(reason)

    def on_video(self, frame):
        self.frames.append(frame)

    def on_audio(self, samples, start_time):
        self.audio.append((samples, start_time))

    def on_end(self):
        self.done.set()


def read_file(path: Path, **camera) -> Collect:
    sink = Collect()
    config = CameraConfig.model_validate({"url": str(path), **camera})
    StreamSource("test", config, sink, realtime=False, stop_at_end=True).run()
    return sink


@pytest.fixture(scope="module")
def clip15(tmp_path_factory) -> Path:
    return make_clip(tmp_path_factory.mktemp("c") / "c.mp4", seconds=4, width=640, height=480, fps=15)


def test_a_looped_file_keeps_its_own_timing(clip15):
    """Each pass of a looped file starts one source frame after the last one, so a 4 s file repeats every 4 s of
    pts (a bench that places cuts by pts modulo the clip's length relies on it; it once drifted 0.2 s a loop)."""
    sink = Collect()
    config = CameraConfig.model_validate({"url": str(clip15), "loop": True, "detect": {"fps": 5, "width": 160}})
    source = StreamSource("test", config, sink, realtime=False)

    def enough(frame):
        Collect.on_video(sink, frame)
        if len(sink.frames) >= 62:
            source._stop.set()

    sink.on_video = enough
    source.run()
    pts = np.array([f.pts for f in sink.frames[:60]])
    assert np.allclose(np.diff(pts), 0.2, atol=0.01)  # every 0.2 s, across the loops too
    assert pts[20] - pts[0] == pytest.approx(4.0, abs=0.01) and pts[40] - pts[20] == pytest.approx(4.0, abs=0.01)


def test_file_is_sampled_to_detect_fps_and_scaled(clip15):
    sink = read_file(clip15, detect={"fps": 5, "width": 320})
    assert sink.connected == [True] and sink.errors == []
    assert len(sink.frames) == 20  # 4 s at 5 fps
    steps = np.diff([f.pts for f in sink.frames])
    assert np.allclose(steps, 0.2, atol=0.01)
    assert sink.frames[0].image.shape == (240, 320, 3) and sink.frames[0].image.dtype == np.uint8
    assert [f.index for f in sink.frames] == list(range(20))


def test_audio_is_16khz_mono_float(clip15):
    sink = read_file(clip15)
    samples = np.concatenate([s for s, _ in sink.audio])
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert abs(len(samples) / 16000 - 4.0) < 0.15
    assert 0.05 < np.abs(samples).max() <= 1.0  # the clip's 440 Hz tone, not silence
    starts = [t for _, t in sink.audio]
    assert starts == sorted(starts)


def test_video_without_audio_reports_no_audio(tmp_path):
    sink = read_file(make_clip(tmp_path / "silent.mp4", seconds=1, width=320, height=240, audio=False))
    assert sink.connected == [False] and sink.audio == [] and len(sink.frames) == 5


def test_broken_file_is_reported_not_hidden(tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 100)
    sink = read_file(broken)
    assert sink.frames == [] and len(sink.errors) == 1  # reported once, not retried when replaying a file
    assert "broken.mp4" in sink.errors[0]


def test_scaled_size_keeps_aspect_and_even_dimensions():
    assert scaled_size(1280, 720, 640, None) == (640, 360)
    assert scaled_size(480, 852, 640, None) == (640, 1136)
    assert scaled_size(1280, 720, 641, 481) == (640, 480)


def test_analyze_json_on_a_real_baby_clip():
    video = shared_file("video/newborn_supine_720p_aac.mp4")
    result = subprocess.run([sys.executable, "-m", "babymon", "analyze", str(video), "--json"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    states = [r for r in rows if r["kind"] == "state"]
    assert len(states) == 50  # 10 s at 5 fps
    assert states[0]["health"]["audio"] == "ok"
    # crying is unknown until the first 1 s audio window is heard, then known for the rest of the clip
    assert "crying" in states[0]["undetectable"] and states[0]["crying"] is None
    late = [r for r in states if r["pts"] >= 1.5]
    undetectable = late[0]["undetectable"]
    assert "crying" not in undetectable and all(r["undetectable"] == undetectable for r in late)
    assert all(r["crying"] is not None for r in late)
    assert ("NOT detected" in result.stderr) == bool(undetectable)  # says so loudly, or can detect everything


def test_analyze_reports_events_from_an_analyzer(tmp_path, clip15, monkeypatch):
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"face_state": "covered"}))
    monkeypatch.setenv("BABYMON_TEST_SCRIPT", str(script))
    result = subprocess.run([sys.executable, "-m", "babymon", "analyze", str(clip15), "--json",
                             "--analyzer", "tests.support.scripted:ScriptedAnalyzer"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    events = [r for r in rows if r["kind"] == "event"]
    # the default face_covered on-delay is 3 s of video time: replayed as fast as possible, still 3 s of video
    started = next(e for e in events if e["type"] == "face_covered_started")
    first = next(r for r in rows if r["kind"] == "state")
    assert started["timestamp"] - first["frame_time"] == pytest.approx(3.0, abs=0.25)
    assert any(e["type"] == "danger_started" and e["reasons"] == ["face_covered"] for e in events)
    assert rows[-1]["face"] == "covered" and rows[-1]["danger"] is True


def test_analyze_missing_file_is_named(tmp_path):
    result = subprocess.run([sys.executable, "-m", "babymon", "analyze", str(tmp_path / "nope.mp4")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "nope.mp4" in result.stderr
