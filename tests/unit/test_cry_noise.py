"""Issue 16, cries under loud noise, pure parts: YAMNet's broadband-noise group and the ``*_x_noise`` gates of the
fusion layer, their sign rule, the hard-noise report. No shared data or model needed."""

from __future__ import annotations

import numpy as np
import pytest

from babymon.cry.fusion import CLASS_GROUPS, Fusion, feature_matrix
from babymon_lab.cry.fusion_fit import NOISE_CANDIDATES, FusionData, _fit, expected_sign
from babymon_lab.cry.train import evaluate_hard_noise


def test_the_noise_group_points_at_yamnets_noise_and_water_classes():
    # yamnet_class_map.csv: 282 Water, 287 Waterfall (what YAMNet calls a cry in pink noise at 0 dB), 507 Noise,
    # 514 White noise, 515 Pink noise; never a cry class or a living-room class
    assert {282, 287, 507, 514, 515} <= set(CLASS_GROUPS["noise"])
    assert not set(CLASS_GROUPS["noise"]) & set(CLASS_GROUPS["cry"] + CLASS_GROUPS["speech"] + CLASS_GROUPS["music"])


def test_a_gated_feature_is_the_feature_times_the_noise_score():
    scores = np.full((2, 521), 1e-3, np.float32)
    scores[1, 515] = 0.6  # pink noise
    cnn = np.array([0.9, 0.9])
    x = feature_matrix(cnn, scores, ("cnn_logit", "noise", "cnn_logit_x_noise", "not_cry_vs_cry_x_noise"))
    assert x[0, 1] == pytest.approx(np.log(1e-3 + 1e-4)) and x[1, 1] == pytest.approx(np.log(0.6 + 1e-4))
    assert x[0, 2] == pytest.approx(np.log(9) * 1e-3, rel=1e-3)
    assert x[1, 2] == pytest.approx(np.log(9) * 0.6, rel=1e-3)
    with pytest.raises(ValueError, match="unknown fusion feature 'tuba'"):
        feature_matrix(cnn, scores, ("tuba_x_noise",))


def test_noise_is_context_of_either_sign_and_a_gate_keeps_the_sign_of_its_feature():
    assert expected_sign("noise") == 0
    assert expected_sign("cnn_logit_x_noise") == 1 and expected_sign("not_cry_vs_cry_x_noise") == -1
    assert expected_sign("yamnet_baby_cry_x_noise") == 1 and expected_sign("music") == -1
    assert all("noise" in features for features in NOISE_CANDIDATES)


def test_the_sign_rule_keeps_a_noise_weight_of_either_sign():
    """Cries drowned in noise score low on the CNN; the noise score is allowed to lift them back (a positive
    weight), which the sign rule would forbid for a sound class."""
    rng = np.random.default_rng(2)
    n = 800
    label = (rng.random(n) < 0.5).astype(int)
    noisy = rng.random(n) < 0.5
    cnn = np.where(label == 1, np.where(noisy, rng.uniform(0.2, 0.6, n), rng.uniform(0.7, 0.99, n)),
                   rng.uniform(0.01, 0.3, n))
    scores = np.full((n, 521), 1e-3, np.float32)
    scores[:, 515] = np.where(noisy, 0.5, 1e-3)
    data = FusionData(cnn=cnn, head=cnn, scores=scores, window_label=label, window_clip=np.arange(n),
                      window_keep=np.ones(n, bool), clip_label=label, clip_group=np.arange(n).astype(str))
    fusion = _fit(data, ("cnn_logit", "noise"), 1.0, np.ones(n, bool))
    assert fusion.features == ("cnn_logit", "noise")
    assert fusion.weights[1] > 0
    round_trip = Fusion.from_json(fusion.to_json())
    assert round_trip.features == fusion.features


def test_the_hard_noise_report_gives_recall_and_false_alarms_per_noise():
    data = {"variant_label": np.array([1, 1, 0, 0, 1, 0]),
            "variant_condition": np.array(["pink_low_snr"] * 4 + ["white_low_snr"] * 2)}
    report = evaluate_hard_noise(data, np.array([0.9, 0.2, 0.95, 0.1, 0.8, 0.0]), 0.5)
    assert report["pink_low_snr"] == {"n": 4, "recall": 0.5, "false_positive_rate": 0.5}
    assert report["white_low_snr"] == {"n": 2, "recall": 1.0, "false_positive_rate": 0.0}


def test_the_selection_table_marks_the_choice_and_gives_each_candidates_paired_gap():
    from babymon_lab.cry.fusion_fit import select_fusion

    rng = np.random.default_rng(3)
    n = 400
    label = (rng.random(n) < 0.5).astype(int)
    cnn = np.clip(label * 0.5 + rng.uniform(0.0, 0.5, n), 0.01, 0.99)
    scores = np.full((n, 521), 1e-3, np.float32)
    data = FusionData(cnn=cnn, head=cnn, scores=scores, window_label=label, window_clip=np.arange(n),
                      window_keep=np.ones(n, bool), clip_label=label, clip_group=np.arange(n).astype(str))
    fusion, windows, table = select_fusion(data, lambda p: p, (("cnn_logit",), ("cnn_logit", "noise")), (1.0,))
    assert windows.shape == (n,) and len(table) == 2
    assert sum(row["chosen"] for row in table) == 1
    chosen = next(row for row in table if row["chosen"])
    assert chosen["fold_gap_to_best"] == 0.0 and chosen["fold_gap_standard_error"] == 0.0
    assert list(fusion.features) == chosen["features"][: len(fusion.features)]
    assert all(row["fold_gap_standard_error"] >= 0 for row in table)
