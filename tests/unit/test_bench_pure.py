"""The benchmarks' pure parts: when N cameras "fit", where the cuts to face down are, and the latency of each."""

from __future__ import annotations

import pytest

from babymon_lab.bench import fits
from babymon_lab.latency_bench import cut_times, latencies


def result(**changes) -> dict:
    base = {"cameras": 8, "cameras_reporting": 8, "analysed_fps_min": 4.9, "detect_fps": 5.0, "dropped_percent": 0.2}
    return {**base, **changes}


def test_cameras_fit_only_when_every_camera_keeps_its_rate_and_almost_nothing_is_dropped():
    assert fits(result())
    assert not fits(result(analysed_fps_min=4.7))
    assert not fits(result(dropped_percent=1.5))
    assert not fits(result(cameras_reporting=7))


def test_a_cut_is_where_the_looped_clip_crosses_into_its_face_down_half():
    segment = 8.0
    states = [(7.6, 100.0), (7.8, 100.2), (8.0, 100.4), (8.2, 100.6), (15.8, 108.2), (0.0, 108.4),
              (7.9, 116.3), (8.1, 116.5)]
    assert cut_times(states, segment) == [100.4, 116.5]
    looping_on = [(15.8, 10.0), (16.0, 10.2), (23.9, 18.1), (24.1, 18.3)]  # pts that keep growing: 24.1 % 16 = 8.1
    assert cut_times(looping_on, segment) == [18.3]


def test_latency_is_the_first_alert_after_a_cut_beyond_on_delay():
    assert latencies([100.0, 116.0], [98.0, 104.5, 105.0, 121.2], on_delay=3.0, segment=8.0) == pytest.approx([1.5, 2.2])
    assert latencies([100.0], [], on_delay=3.0, segment=8.0) == []
