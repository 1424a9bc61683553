"""A test double analyzer: reports whatever a JSON file says, so tests can make danger happen on demand.

The file is named by the environment variable ``BABYMON_TEST_SCRIPT``; it holds Observation fields, e.g.
``{"face_state": "covered", "posture": "prone"}``, optionally per camera under ``"cameras"``. A missing file
means "a clear, supine baby". Faults on demand: ``"fail"`` (the analyzer raises), ``"bad_scores"`` (a
malformed result that makes the monitor fail), ``"exit"`` (SystemExit in the worker thread).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from babymon.analyzers.base import Observation, VideoAnalyzer, VideoFrame


class ScriptedAnalyzer(VideoAnalyzer):
    name = "scripted"
    conditions = ("face_covered", "prone", "standing")

    def analyze(self, frame: VideoFrame) -> Observation:
        path = Path(os.environ.get("BABYMON_TEST_SCRIPT", "/nonexistent"))
        fields = {"face_state": "clear", "posture": "supine", "baby_present": True}
        if path.is_file():
            script = json.loads(path.read_text() or "{}")
            per_camera = script.pop("cameras", {})  # {"cameras": {"attic": {...}}}: that camera only
            fields.update(script)
            fields.update(per_camera.get(frame.camera, {}))
        if fields.pop("fail", False):
            raise RuntimeError("scripted failure")
        if fields.pop("exit", False):  # a library that calls sys.exit() in the worker thread
            raise SystemExit(3)
        if fields.pop("bad_scores", False):  # a malformed result: the monitor itself fails on it
            fields["scores"] = {"face_covered": "not a number"}
        return Observation(**fields)


class SlowAnalyzer(VideoAnalyzer):
    """Takes longer per frame than the frame interval, like an overloaded CPU."""

    name = "slow"
    conditions = ()
    seconds_per_frame = 0.5

    def analyze(self, frame: VideoFrame) -> Observation:
        import time

        time.sleep(self.seconds_per_frame)
        return Observation()
