"""The fusion layer (approach e): YAMNet class-group features, the logistic fit, the sign rule, the shipped
settings, and the model kind on real clips."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from babymon.cry.fusion import CLASS_GROUPS, Fusion, feature_matrix, fit_logistic, group_scores
from babymon_lab.cry.fusion_fit import FusionData, _fit, expected_sign
from tests.conftest import shared_file


def _scores(n: int, **groups: float) -> np.ndarray:
    scores = np.full((n, 521), 1e-3, np.float32)
    for group, value in groups.items():
        scores[:, CLASS_GROUPS[group][0]] = value
    return scores


def test_group_features_are_log_scores_of_the_loudest_class_in_the_group():
    scores = _scores(2, siren=0.5, cry=0.02)
    x = feature_matrix(np.array([0.5, 0.9]), scores, ("cnn_logit", "siren", "cry", "not_cry", "not_cry_vs_cry"))
    assert x.shape == (2, 5)
    assert x[0, 0] == pytest.approx(0.0) and x[1, 0] == pytest.approx(np.log(9))
    assert x[0, 1] == pytest.approx(np.log(0.5 + 1e-4))
    assert group_scores(scores, "cry")[0] == pytest.approx(0.02)
    assert x[0, 3] == pytest.approx(np.log(0.5 + 1e-4))  # the siren is the loudest "against" group
    assert x[0, 4] == pytest.approx(np.log(0.51) - np.log(0.03))


@pytest.mark.parametrize("bad, message", [
    (dict(features=("cnn_logit", "tuba"), scores=_scores(1)), "unknown fusion feature 'tuba'"),
    (dict(features=("cnn_logit",), scores=np.zeros((1, 520))), r"\(n, 521\)"),
    (dict(features=("head_logit",), scores=_scores(1)), "needs the YAMNet head"),
])
def test_bad_feature_requests_name_the_problem(bad, message):
    with pytest.raises(ValueError, match=message):
        feature_matrix(np.array([0.5]), bad["scores"], bad["features"])


def test_logistic_fit_finds_the_informative_feature():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2000, 2))
    y = (x[:, 0] + 0.3 * rng.standard_normal(2000) > 0).astype(float)
    weights, bias = fit_logistic(x, y, l2=1.0)
    assert weights[0] > 2.0 and abs(weights[1]) < 0.3 and abs(bias) < 0.3
    strong, _ = fit_logistic(x, y, l2=1e5)
    assert 0 < strong[0] < weights[0]  # regularisation shrinks


def test_a_sound_class_that_would_raise_the_cry_score_is_dropped():
    """In the data, "music" happens to come with cries: the layer must not learn "music means crying"."""
    rng = np.random.default_rng(1)
    n = 600
    label = (rng.random(n) < 0.5).astype(int)
    cnn = np.where(label == 1, rng.uniform(0.6, 0.99, n), rng.uniform(0.01, 0.5, n))
    scores = _scores(n)
    scores[:, CLASS_GROUPS["music"][0]] = np.where(label == 1, 0.6, 0.01)  # spurious: music with the cries
    data = FusionData(cnn=cnn, head=np.full(n, 0.5), scores=scores, window_label=label, window_clip=np.arange(n),
                      window_keep=np.ones(n, bool), clip_label=label, clip_group=np.arange(n).astype(str))
    fusion = _fit(data, ("cnn_logit", "music"), 1.0, np.ones(n, bool))
    assert expected_sign("music") == -1
    assert fusion.features == ("cnn_logit",) and fusion.weights[0] > 0


def test_fusion_settings_round_trip_and_bad_settings_are_named():
    fusion = Fusion(("cnn_logit", "not_cry"), (0.5, -0.25), 1.0)
    again = Fusion.from_json(json.loads(json.dumps(fusion.to_json())))
    assert again == fusion
    assert again.predict(np.array([0.9]), _scores(1, music=0.9))[0] < fusion.predict(np.array([0.9]), _scores(1))[0]
    with pytest.raises(ValueError, match="2 features but 1 weights"):
        Fusion.from_json({"features": ["cnn_logit", "cry"], "weights": [1.0], "bias": 0})
    with pytest.raises(ValueError, match="'features', 'weights' and 'bias'"):
        Fusion.from_json({"features": ["cnn_logit"]})


def test_synthetic_unseen_classes_come_alone_as_negatives_and_under_cries_as_positives():
    from babymon_lab.cry.synthetic import SYNTHETIC_KINDS, build_synthetic

    rng = np.random.default_rng(0)
    speech = [rng.standard_normal(8000).astype(np.float32) * 0.1 for _ in range(3)]
    cries = [(7, rng.standard_normal(3 * 16000).astype(np.float32) * 0.1)]
    signals, variants = build_synthetic(speech, cries, per_kind=2, rng=rng)
    assert len(signals) == len(variants) == 2 * 2 * len(SYNTHETIC_KINDS)
    negatives = [(s, v) for s, v in zip(signals, variants) if v.label == 0]
    positives = [(s, v) for s, v in zip(signals, variants) if v.label == 1]
    assert {v.kind for _, v in negatives} == set(SYNTHETIC_KINDS) == {v.kind for _, v in positives}
    assert all(len(s) == 5 * 16000 and v.clip == -1 and v.condition == "synthetic" for s, v in negatives)
    assert all(len(s) == 3 * 16000 and v.clip == 7 and v.condition == "cry_over_synthetic" for s, v in positives)
    assert all(np.isfinite(s).all() and 0 < np.abs(s).max() <= 1.0 for s in signals)


@pytest.fixture(scope="module")
def fusion_model():
    from babymon.cry.model import CryModel

    return CryModel("logmel_cnn_yamnet_fusion")  # the model mirror: tests/conftest.py points BABYMON_MODEL_MIRROR at ../shared/models


@pytest.mark.parametrize("relative, crying", [
    ("audio/recorded_segments/crying_baby/Louise_01.m4a_3.ogg", True),  # held-out test split
    ("audio/esc10/dog_bark/4-182395-A.ogg", False),
])
def test_the_fusion_model_on_held_out_clips(fusion_model, relative, crying):
    from babymon.cry.windows import clip_windows
    from babymon_lab.cry.audio_io import load_audio
    from babymon_lab.cry.metrics import clip_score

    score = clip_score(fusion_model.predict(clip_windows(load_audio(shared_file(relative)))),
                       fusion_model.hysteresis.confirm_windows)
    assert (score >= fusion_model.threshold) is crying, f"{relative}: {score:.3f} vs {fusion_model.threshold:.3f}"


def test_bad_fusion_settings_make_the_model_unavailable_naming_the_file(tmp_path):
    from babymon.analyzers.base import AnalyzerUnavailable
    from babymon.cry.model import CRY_MODEL_DIR, CryModel

    for name in ("logmel_cnn.npz", "yamnet_head.npz"):
        shutil.copy(CRY_MODEL_DIR / name, tmp_path / name)
    config = json.loads((CRY_MODEL_DIR / "config.json").read_text())
    config["fusion"] = {"features": ["cnn_logit", "tuba"], "weights": [1.0, 1.0], "bias": 0.0}
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(AnalyzerUnavailable, match=r"config.json: bad 'fusion' settings: unknown fusion feature 'tuba'"):
        CryModel("logmel_cnn_yamnet_fusion", directory=tmp_path)
