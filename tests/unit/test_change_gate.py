"""The change gate: the vision models are skipped only while the crib region looks as it did at the last full
analysis, and never for longer than ``reuse_unchanged_seconds``."""

from __future__ import annotations

import numpy as np

from babymon.analyzers.base import VideoFrame
from babymon.config import CameraConfig
from babymon.vision.analyzer import VisionAnalyzer
from babymon.vision.change_gate import THRESHOLD, ChangeGate, largest_tile_change, thumbnail
from babymon.vision.pipeline import VisionResult


def scene(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(40, 200, (480, 640, 3), dtype=np.uint8)


def noisy(image: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0, sigma, image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


def test_sensor_noise_is_not_a_change_but_a_moved_hand_is():
    image = scene()
    assert largest_tile_change(thumbnail(image), thumbnail(noisy(image, 10, 1))) < THRESHOLD
    moved = image.copy()
    moved[200:260, 300:360] = 255  # something bright appears in one place
    assert largest_tile_change(thumbnail(image), thumbnail(moved)) > THRESHOLD


def test_the_gate_reuses_only_while_unchanged_and_recent():
    gate = ChangeGate(max_reuse_seconds=1.0)
    still = thumbnail(scene())
    assert gate.needs_analysis(still, 0.0)  # nothing analysed yet
    gate.analysed(still, 0.0)
    assert not gate.needs_analysis(still, 0.4)
    assert gate.needs_analysis(still, 1.0)  # too old: the models run at least once a second
    assert gate.needs_analysis(still, -0.5)  # the clock went back
    changed = still.copy()
    changed[:8, :8] += 40
    assert gate.needs_analysis(changed, 0.2)


def test_reuse_zero_analyses_every_frame():
    gate = ChangeGate(max_reuse_seconds=0.0)
    still = thumbnail(scene())
    gate.analysed(still, 0.0)
    assert gate.needs_analysis(still, 0.1)


def test_the_gate_looks_only_inside_the_crib_region():
    image = scene()
    outside = image.copy()
    outside[:, :100] = 0  # a change left of the crib region
    region = (0.3, 0.0, 1.0, 1.0)
    assert largest_tile_change(thumbnail(image, region), thumbnail(outside, region)) == 0.0


class CountingPipeline:
    """Counts the full analyses (the models are tested elsewhere; here only how often they run)."""

    def __init__(self) -> None:
        self.calls = 0

    def analyze(self, image: np.ndarray) -> VisionResult:
        self.calls += 1
        return VisionResult(baby_present=True, presence_score=0.9, face_state="clear",
                            face_state_probs={"clear": 0.9, "pacifier": 0.04, "covered": 0.03, "face_not_visible": 0.03},
                            posture="supine", posture_probs={"supine": 0.9, "prone": 0.04, "side": 0.02,
                                                             "sitting": 0.02, "standing": 0.02},
                            timings_ms={"locate": 10.0})


def frames(images: list[np.ndarray], fps: float = 5.0) -> list[VideoFrame]:
    return [VideoFrame(camera="cot", image=im, timestamp=1000.0 + i / fps, pts=i / fps, index=i)
            for i, im in enumerate(images)]


def test_the_analyzer_runs_the_models_once_a_second_on_a_still_scene_and_at_once_on_a_change():
    pipeline = CountingPipeline()
    analyzer = VisionAnalyzer("cot", CameraConfig(url="rtsp://camera/stream"), pipeline=pipeline)
    still = scene()
    observations = [analyzer.analyze(f) for f in frames([noisy(still, 6, i) for i in range(10)])]
    assert pipeline.calls == 2  # at 0 s and 1 s of 2 s at 5 fps
    assert all(o.face_state == "clear" and o.posture == "supine" for o in observations)
    assert set(observations[1].timings_ms) == {"gate"}
    changed = still.copy()
    changed[100:200, 100:200] = 0
    analyzer.analyze(VideoFrame(camera="cot", image=changed, timestamp=1002.05, pts=2.05, index=10))
    assert pipeline.calls == 3


def test_with_reuse_off_every_frame_is_analysed():
    pipeline = CountingPipeline()
    config = CameraConfig(url="rtsp://camera/stream", vision={"reuse_unchanged_seconds": 0})
    analyzer = VisionAnalyzer("cot", config, pipeline=pipeline)
    for f in frames([scene()] * 6):
        analyzer.analyze(f)
    assert pipeline.calls == 6
