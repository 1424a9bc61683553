"""A night-vision clip of a baby lying down, then standing at the rail: ``babymon analyze`` reads standing while
it stands and raises the standing danger after the rule's on-delay, and never while it lies.

There is no real infrared clip of a standing toddler in ../shared/data, so the clip is made from held-out
posture photos (the first supine and the first three standing/climbing photos of the test split, by path),
each shown for 3 s at 5 fps as an IR look-alike (``babymon_lab.vision.ir_manifest.ir_look``) at crib-level
framing: a check of the whole path in IR, not a measurement of real night footage.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import ROOT, SHARED_DATA

SECONDS_EACH, FPS = 3, 5


def _letterboxed(path: Path) -> np.ndarray:
    import cv2

    image = cv2.imread(str(path))
    scale = min(640 / image.shape[1], 480 / image.shape[0])
    resized = cv2.resize(image, (int(image.shape[1] * scale), int(image.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    frame = np.zeros((480, 640, 3), np.uint8)
    y, x = (480 - resized.shape[0]) // 2, (640 - resized.shape[1]) // 2
    frame[y:y + resized.shape[0], x:x + resized.shape[1]] = resized
    return frame


@pytest.fixture(scope="module")
def night_clip(tmp_path_factory) -> Path:
    import cv2

    from babymon_lab.vision.ir_manifest import ir_look
    from babymon_lab.vision.posture_data import read_posture_images, split_images

    if not (SHARED_DATA / "vision" / "infant_posture").is_dir():
        pytest.skip(f"shared data not available: {SHARED_DATA / 'vision' / 'infant_posture'}")
    test = sorted(split_images(read_posture_images(SHARED_DATA))["test"], key=lambda im: str(im.path))
    photos = [im for im in test if im.label == "supine"][:1] + [im for im in test if im.label == "standing"][:3]
    clip = tmp_path_factory.mktemp("night") / "night_standing.mp4"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (640, 480))
    rng = np.random.default_rng(0)
    for photo in photos:
        frame = _letterboxed(photo.path)
        for _ in range(SECONDS_EACH * FPS):
            writer.write(ir_look(frame, rng))
    writer.release()
    return clip


def test_a_baby_standing_at_night_reads_standing_and_raises_the_standing_danger(night_clip):
    proc = subprocess.run([sys.executable, "-m", "babymon", "analyze", str(night_clip), "--json", "--analyzer", "vision"],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    states = [json.loads(line) for line in proc.stdout.splitlines() if '"kind":"state"' in line]
    lying = [s for s in states if s["pts"] < SECONDS_EACH - 0.5]
    upright = [s for s in states if s["pts"] >= SECONDS_EACH + 1.0]  # after a second of smoothing
    assert lying and upright
    assert all(s["posture"] != "standing" and "standing" not in s["reasons"] for s in lying)
    assert sum(s["posture"] == "standing" for s in upright) >= 0.8 * len(upright)
    first_standing = min(s["pts"] for s in states if s["posture"] == "standing")
    alarms = [s["pts"] for s in states if s["danger"] and "standing" in s["reasons"]]
    assert alarms and alarms[0] - first_standing <= 3.0 + 1.0  # the standing rule's on_delay is 3 s
