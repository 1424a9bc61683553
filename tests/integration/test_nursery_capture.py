"""``babymon nursery capture`` against a real RTSP server and a video file: frames at detect size, one every
``--every`` seconds of the stream, each with babymon's answer in its sidecar, in the camera's nursery folder."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import pytest

from babymon.nursery.capture import due
from babymon.nursery.folder import NurseryFolder
from tests.conftest import ROOT

pytestmark = pytest.mark.integration


def capture(config, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "babymon", "nursery", "capture", "-c", str(config), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=180)


def write_config(tmp_path, url: str):
    config = tmp_path / "config.yaml"
    config.write_text(f"cameras:\n  cot:\n    url: {url}\n    detect: {{width: 256}}\n"
                      f"nursery:\n  path: {tmp_path / 'nursery'}\nhttp: {{enabled: false}}\n")
    return config


def check_frames(folder: NurseryFolder, count: int, every: float) -> None:
    frames = folder.frames()
    assert len(frames) == count
    for info in frames:
        image = cv2.imread(str(folder.root / info.name))
        assert image.shape[1] == 256  # detect size, not the stream's
        assert info.source == "capture"
        assert set(info.prediction) == {"baby_present", "face_state", "posture", "scores"}
        assert "presence" in info.prediction["scores"]
    times = [f.taken_at for f in frames]
    assert all(b - a >= every - 0.01 for a, b in zip(times, times[1:]))


def test_capture_from_a_running_rtsp_camera(rtsp, tmp_path):
    config = write_config(tmp_path, rtsp.url)
    done = capture(config, "--camera", "cot", "--every", "1s", "--count", "3")
    assert done.returncode == 0, done.stderr[-2000:]
    check_frames(NurseryFolder(tmp_path / "nursery" / "cot"), 3, 1.0)
    assert "kept 3 frame(s)" in done.stdout


def test_capture_from_a_video_file_stops_at_its_end(clip, tmp_path):
    config = write_config(tmp_path, str(clip))
    done = capture(config, "--camera", "cot", "--video", str(clip), "--every", "5s")
    assert done.returncode == 0, done.stderr[-2000:]
    check_frames(NurseryFolder(tmp_path / "nursery" / "cot"), 4, 5.0)  # a 20 s clip: 0, 5, 10, 15 s
    sidecar = json.loads(next((tmp_path / "nursery" / "cot").glob("*.json")).read_text())
    assert sidecar["source"] == "capture" and "taken_at" in sidecar


def test_capture_refuses_bad_arguments_by_name(clip, tmp_path):
    config = write_config(tmp_path, str(clip))
    unknown = capture(config, "--camera", "hall")
    assert unknown.returncode == 2 and "--camera 'hall'" in unknown.stderr
    bad_every = capture(config, "--camera", "cot", "--every", "soon")
    assert bad_every.returncode == 2 and "--every soon" in bad_every.stderr


def test_a_frame_is_due_every_interval():
    assert due(None, 5.0, 30.0)
    assert not due(0.0, 29.0, 30.0)
    assert due(0.0, 30.0, 30.0)
