"""Issue 16 with the shipped model (models/cry/) on real held-out clips from ../shared/data: a laughing baby with
an adult talking is not crying, a cry with an adult talking is; per-home sensitivity. Skips with the reason
when ../shared/data is absent."""

from __future__ import annotations

import os

import numpy as np
import pytest

from babymon.cry.windows import clip_windows
from babymon_lab.cry.audio_io import load_audio
from babymon_lab.cry.metrics import clip_score
from babymon_lab.cry.mixing import continuous, mix_at_snr
from tests.conftest import ROOT, shared_file

# all three from the held-out test split (babymon_lab/cry/dataset.py): laugh_2, Louise_01, speaker theo
LAUGH_2 = ["audio/recorded_segments/baby_laugh/laugh_2.m4a_10.ogg", "audio/recorded_segments/baby_laugh/laugh_2.m4a_19.ogg"]
CRY = "audio/recorded_segments/crying_baby/Louise_01.m4a_3.ogg"
THEO = "audio/speech_fsdd/theo"


@pytest.fixture(scope="module")
def model():
    from babymon.cry.model import CryModel

    return CryModel()  # the model mirror: tests/conftest.py points BABYMON_MODEL_MIRROR at ../shared/models


def _score(model, samples: np.ndarray) -> float:
    return clip_score(model.predict(clip_windows(samples)), model.hysteresis.confirm_windows)


def _adult_speech(length: int, seed: int) -> np.ndarray:
    digits = sorted(shared_file(THEO).glob("*.ogg"))[:20]
    return continuous([load_audio(p) for p in digits], length, np.random.default_rng(seed))


def test_the_shipped_default_uses_the_living_room_evidence(model):
    if model.kind != "logmel_cnn_yamnet_fusion":
        pytest.skip(f"YAMNet did not load (model {model.kind}): the living-room features need it")
    features = set(model._fusion.features)
    assert {"cnn_logit", "yamnet_baby_cry"} <= features
    assert features & {"baby_laughter", "babbling", "adult_speech", "television", "lullaby", "singing"}
    assert model.hysteresis.confirm_windows >= 2  # the time rule: a burst is not enough


@pytest.mark.parametrize("relative", LAUGH_2)
@pytest.mark.parametrize("snr_db", [0.0, 6.0])
def test_a_held_out_laughing_baby_with_an_adult_talking_is_not_crying(model, relative, snr_db):
    laugh = load_audio(shared_file(relative))
    mixed = mix_at_snr(laugh, _adult_speech(len(laugh), seed=int(snr_db)), snr_db)  # speech snr_db below the laugh
    score = _score(model, mixed)
    assert score < model.threshold, f"{relative} + speech at -{snr_db} dB: {score:.3f} >= {model.threshold:.3f}"


@pytest.mark.parametrize("snr_db", [
    pytest.param(0.0, marks=pytest.mark.xfail(reason="known weakness (model card): a cry with an adult talking as "
                                                     "loud scores just under the threshold (0.82 vs 0.83)", strict=False)),
    10.0])
def test_a_held_out_cry_with_an_adult_talking_is_crying(model, snr_db):
    cry = load_audio(shared_file(CRY))
    score = _score(model, mix_at_snr(cry, _adult_speech(len(cry), seed=3), snr_db))
    assert score >= model.threshold, f"cry + speech at -{snr_db} dB: {score:.3f} < {model.threshold:.3f}"


def test_sensitivity_moves_the_threshold_the_right_way():
    from babymon.analyzers.base import AnalyzerUnavailable
    from babymon.cry.model import CryModel

    low, normal, high = (CryModel(sensitivity=s) for s in ("low", "normal", "high"))
    assert low.kind == normal.kind == high.kind
    assert low.threshold > normal.threshold > high.threshold
    with pytest.raises(AnalyzerUnavailable, match="sensitivity 'max'"):
        CryModel(sensitivity="max")


def test_the_analyzer_takes_the_sensitivity_from_the_camera_config():
    from babymon.config import CameraConfig
    from babymon.cry.analyzer import CryAnalyzer
    from babymon.cry.model import CryModel

    analyzer = CryAnalyzer("nursery", CameraConfig(url="rtsp://h/s", cry={"sensitivity": "low"}))
    assert analyzer.model.sensitivity == "low"
    assert analyzer.model.threshold == CryModel(sensitivity="low").threshold
    assert analyzer.hysteresis.settings.start == analyzer.model.threshold


def test_check_config_prints_each_cameras_cry_sensitivity_and_threshold(tmp_path):
    import json
    import subprocess
    import sys

    from babymon.cry.model import CRY_MODEL_DIR

    config = tmp_path / "c.yaml"
    config.write_text("defaults:\n  analyzers: [cry]\ncameras:\n  a: rtsp://cam/a\n"
                      "  b: {url: rtsp://cam/b, cry: {sensitivity: high}}\n")
    env = {**os.environ, "BABYMON_MODEL_MIRROR": os.environ.get("BABYMON_MODEL_MIRROR")
           or str(ROOT.parent / "shared" / "models")}
    proc = subprocess.run([sys.executable, "-m", "babymon", "check-config", "-c", str(config)], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    shipped = json.loads((CRY_MODEL_DIR / "config.json").read_text())
    lines = [line.strip() for line in proc.stdout.splitlines() if "cry sensitivity" in line]
    assert len(lines) == 2, proc.stdout
    kind = lines[0].rsplit("(", 1)[1].rstrip(")")
    assert lines[0] == f"cry sensitivity normal: threshold {shipped['thresholds'][kind]:.4g} ({kind})"
    assert lines[1] == f"cry sensitivity high: threshold {shipped['sensitivity'][kind]['high']:.4g} ({kind})"
