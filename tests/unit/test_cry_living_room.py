"""Issue 16, pure parts: the named living-room YAMNet features, the time rule (confirm_windows), the living-room
mixtures, per-home sensitivity in the config. No shared data or model needed."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from babymon.config import CameraConfig, CryConfig
from babymon.cry.fusion import CLASS_GROUPS, LIVING_ROOM, feature_matrix
from babymon.cry.hysteresis import CryHysteresis, HysteresisSettings, events
from babymon_lab.cry.fusion_fit import concat, from_living_room
from babymon_lab.cry.living_room import build_living_room, infant_babble, kinds_for, lowpass
from babymon_lab.cry.metrics import clip_score, first_alert_seconds


def test_named_living_room_classes_point_at_the_yamnet_class_map():
    # yamnet_class_map.csv: 0 Speech, 1 Child speech, 4 Babbling, 14 Baby laughter, 266 Lullaby, 518 Television
    assert CLASS_GROUPS["adult_speech"] == (0,) and CLASS_GROUPS["child_speech"] == (1,)
    assert CLASS_GROUPS["babbling"] == (4,) and CLASS_GROUPS["baby_laughter"] == (14,)
    assert 266 in CLASS_GROUPS["lullaby"] and 518 in CLASS_GROUPS["television"]
    assert set(LIVING_ROOM) <= set(CLASS_GROUPS)


def test_living_room_evidence_rises_with_baby_laughter_and_falls_with_crying():
    scores = np.full((3, 521), 1e-3, np.float32)
    scores[1, 14] = 0.8  # baby laughter
    scores[2, 14], scores[2, 20] = 0.8, 0.9  # laughter and a cry at once
    x = feature_matrix(np.full(3, 0.5), scores, ("baby_laughter", "television", "living_room", "living_room_vs_cry"))
    assert x[1, 0] == pytest.approx(np.log(0.8 + 1e-4)) and x[0, 1] == pytest.approx(np.log(1e-3 + 1e-4))
    assert x[1, 2] > x[0, 2]
    assert x[1, 3] > x[0, 3] > x[2, 3] - 10 and x[2, 3] < x[1, 3]
    assert x[2, 3] == pytest.approx(np.log(0.81) - np.log(0.91))


def test_a_burst_passes_one_hop_but_not_a_three_hop_confirmation():
    burst = [0.0, 0.9, 0.9, 0.0, 0.0, 0.0]  # a giggle: about 1.5 s of sound
    sustained = [0.0, 0.9, 0.9, 0.9, 0.9, 0.9]
    assert clip_score(burst, 1) == pytest.approx(0.9)
    assert clip_score(burst, 3) == pytest.approx(0.45)
    assert clip_score(sustained, 3) == pytest.approx(0.9)
    assert clip_score([0.9, 0.9], 3) == pytest.approx(0.9)  # shorter than the rule: its lowest smoothed value
    assert clip_score([], 2) == 0.0


def test_first_alert_waits_for_the_confirmation():
    p = [0.0, 0.9, 0.9, 0.9, 0.9, 0.9]
    # smoothed: 0.45, 0.9 (windows 1-2, ends 2.0 s), 0.9 (2.5 s), 0.9 (3.0 s) ...
    assert first_alert_seconds(p, 0.6, 1) == pytest.approx(2.0)
    assert first_alert_seconds(p, 0.6, 3) == pytest.approx(3.0)
    assert first_alert_seconds([0.0, 0.9, 0.9, 0.0], 0.6, 3) is None


def test_the_live_rule_matches_the_clip_score():
    settings = HysteresisSettings(start=0.6, stop=0.3, confirm_windows=3)
    assert events([0.0, 0.9, 0.9, 0.0, 0.0, 0.0], 0.5, settings) == []
    assert events([0.0, 0.9, 0.9, 0.9, 0.9, 0.9], 0.5, settings) == [(3.0, None)]
    hysteresis = CryHysteresis(settings)
    for t, p in ((1.0, 0.9), (1.5, 0.9), (2.0, 0.9)):
        hysteresis.update(p, t)
    assert not hysteresis.crying  # first window counts half: only 2 hops at or above start so far
    assert hysteresis.update(0.9, 2.5)[0]
    with pytest.raises(ValueError, match="confirm_windows"):
        HysteresisSettings(start=0.6, stop=0.3, confirm_windows=0)


def test_synthetic_infant_babble_comes_in_bursts():
    rng = np.random.default_rng(0)
    sound = infant_babble(5 * 16_000, rng)
    assert sound.shape == (80_000,) and np.isfinite(sound).all()
    frames = np.sqrt(np.mean(sound.reshape(-1, 1600) ** 2, axis=1))
    assert np.mean(frames < 0.05 * frames.max()) > 0.1  # pauses between bursts
    assert np.mean(frames > 0.2 * frames.max()) > 0.1  # and sound


def test_a_wall_takes_the_treble_away():
    rng = np.random.default_rng(1)
    out = lowpass(rng.standard_normal(16_000).astype(np.float32), 1000.0)
    spectrum = np.abs(np.fft.rfft(out))
    freqs = np.fft.rfftfreq(16_000, 1 / 16_000)
    assert spectrum[freqs > 4000].mean() < 0.05 * spectrum[freqs < 500].mean()


def test_synthetic_babble_never_enters_the_test_split_and_laughter_only_where_recorded():
    assert "babble_speech" not in kinds_for("test", True)
    assert "babble_speech" in kinds_for("val", False) and "laugh_speech" not in kinds_for("val", False)
    assert "laugh_speech" in kinds_for("test", True)


def _material(rng):
    speech = [rng.standard_normal(8000).astype(np.float32) * 0.1 for _ in range(3)]
    laughter = [(7, "recorded:laugh_2", rng.standard_normal(80_000).astype(np.float32) * 0.1)]
    cries = [(i, f"donateacry:{i}", rng.standard_normal(90_000).astype(np.float32) * 0.2) for i in (1, 2)]
    return speech, laughter, cries


def test_living_room_mixtures_label_cries_and_keep_laughter_with_its_recording():
    rng = np.random.default_rng(2)
    speech, laughter, cries = _material(rng)
    signals, variants = build_living_room("test", speech, laughter, cries, 3, rng)
    assert len(signals) == len(variants) == 3 * 2 * 3 + len(cries)  # 3 kinds (no synthetic babble) × neg + pos
    assert {v.kind for v in variants} == {"laugh_speech", "music_speech", "tv_next_room", "pink_0db"}
    for signal, variant in zip(signals, variants):
        assert np.isfinite(signal).all() and np.max(np.abs(signal)) <= 1.0
        assert variant.label == (variant.condition != "living_room")
        if variant.kind == "laugh_speech" and variant.label == 0:
            assert variant.group == "recorded:laugh_2" and variant.clip == 7
        if variant.label == 1:
            assert variant.group == f"donateacry:{variant.clip}"
    tv = [s for s, v in zip(signals, variants) if v.kind == "tv_next_room" and v.label == 0]
    assert all(np.max(np.abs(s)) <= 10 ** (-25 / 20) + 1e-6 for s in tv)  # a quiet TV next room


def test_living_room_data_keeps_only_the_chosen_variants_and_concatenates():
    living = {
        "variant_label": np.array([0, 1, 0]), "variant_group": np.array(["a", "b", "c"]),
        "window_variant": np.array([0, 0, 1, 2, 2, 2]), "window_keep": np.ones(6, bool),
        "yamnet_scores": np.zeros((6, 521), np.float16),
    }
    cnn, head = np.arange(6) / 10, np.zeros(6)
    only_negatives = from_living_room(living, cnn, head, living["variant_label"] == 0)
    assert list(only_negatives.clip_group) == ["a", "c"] and list(only_negatives.window_clip) == [0, 0, 1, 1, 1]
    assert np.allclose(only_negatives.cnn, [0.0, 0.1, 0.3, 0.4, 0.5])
    both = concat(only_negatives, from_living_room(living, cnn, head))
    assert len(both.clip_label) == 5 and both.window_clip.max() == 4 and len(both.cnn) == 11


def test_cry_sensitivity_is_a_per_camera_choice_of_three():
    assert CameraConfig(url="rtsp://h/s").cry.sensitivity == "normal"
    assert CameraConfig(url="rtsp://h/s", cry={"sensitivity": "high"}).cry.sensitivity == "high"
    with pytest.raises(ValidationError):
        CryConfig(sensitivity="max")
