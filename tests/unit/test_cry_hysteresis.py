"""Cry hysteresis and metrics: pure logic, no data or model needed."""

from __future__ import annotations

import numpy as np
import pytest

from babymon.cry.hysteresis import CryHysteresis, HysteresisSettings, events
from babymon.cry.windows import clip_windows, rms_db
from babymon_lab.cry.metrics import at_threshold, clip_score, roc_auc, threshold_for_fpr

SETTINGS = HysteresisSettings(start=0.6, stop=0.3, min_on_seconds=2.0, min_off_seconds=3.0)


def test_one_loud_window_is_smoothed_away_but_two_start_crying():
    assert events([0.0, 0.9, 0.0, 0.0], 0.5, SETTINGS) == []  # (0.9 + 0) / 2 < start
    assert events([0.0, 0.9, 0.9, 0.9], 0.5, SETTINGS) == [(2.0, None)]


def test_crying_stops_only_after_min_off_below_stop_threshold():
    probabilities = [0.9] * 6 + [0.45] * 10 + [0.1] * 10  # 0.45 is between stop and start: stays on
    (start, stop), = events(probabilities, 0.5, SETTINGS)
    assert start == 1.5
    # below stop from window 17 (smoothed (0.45+0.1)/2 = 0.275 at end 9.0 s), off 3 s later
    assert stop == pytest.approx(12.0)


def test_minimum_on_duration_holds_a_short_cry():
    (start, stop), = events([0.9, 0.9] + [0.0] * 12, 0.5, HysteresisSettings(0.6, 0.3, 5.0, 0.0))
    assert stop - start >= 5.0


def test_a_gap_in_the_stream_restarts_smoothing():
    hysteresis = CryHysteresis(SETTINGS)
    assert hysteresis.update(0.9, 1.0) == (False, pytest.approx(0.45))  # one window alone never starts crying
    crying, smoothed = hysteresis.update(0.9, 10.0)  # 9 s later (reconnect): not averaged with the last one
    assert smoothed == pytest.approx(0.45) and not crying
    assert hysteresis.update(0.9, 10.5)[0]


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="stop < start"):
        HysteresisSettings(start=0.3, stop=0.5)


def test_metrics():
    labels = np.array([1, 1, 0, 0, 0])
    scores = np.array([0.9, 0.4, 0.5, 0.1, 0.1])
    assert roc_auc(labels, scores) == pytest.approx(5 / 6)
    threshold = threshold_for_fpr(labels, scores, 0.0)
    assert 0.5 < threshold <= 0.9
    assert at_threshold(labels, scores, threshold) == {"accuracy": 0.8, "precision": 1.0, "recall": 0.5,
                                                       "false_positive_rate": 0.0}
    assert clip_score(np.array([0.1, 0.9, 0.1, 0.7, 0.8])) == pytest.approx(0.75)


def test_windows_and_levels():
    windows = clip_windows(np.ones(40_000, dtype=np.float32))
    assert windows.shape == (4, 16_000)
    assert clip_windows(np.ones(100, dtype=np.float32)).shape == (1, 16_000)
    assert rms_db(np.zeros(16_000)) == -120.0
    assert rms_db(np.full(16_000, 0.1)) == pytest.approx(-20.0)
