import pytest

from babymon.vision.smoothing import LabelSmoother, PresenceSmoother

POSTURE = ("supine", "prone", "side")


def test_one_bad_frame_does_not_flip_the_label():
    smoother = LabelSmoother(POSTURE, time_constant=1.0)
    for i in range(10):
        assert smoother.update({"supine": 0.9, "prone": 0.05, "side": 0.05}, i * 0.2) == "supine"
    assert smoother.update({"supine": 0.0, "prone": 1.0, "side": 0.0}, 2.0) == "supine"
    assert smoother.update({"supine": 0.9, "prone": 0.1, "side": 0.0}, 2.2) == "supine"


def test_a_lasting_change_is_followed_within_a_few_frames():
    smoother = LabelSmoother(POSTURE, time_constant=1.0)
    smoother.update({"supine": 1.0}, 0.0)
    labels = [smoother.update({"prone": 1.0}, 0.2 * i) for i in range(1, 16)]
    assert labels[0] == "supine"
    assert labels[-1] == "prone"
    assert labels.index("prone") <= 6  # about a second at 5 fps


def test_a_switch_is_dated_from_the_first_frame_that_showed_it():
    """``since``: the smoothing takes about a second to accept a change; the change began at its first frame."""
    smoother = LabelSmoother(POSTURE, time_constant=1.0)
    for i in range(5):
        smoother.update({"supine": 1.0}, 0.2 * i)
    assert smoother.since == 0.0
    smoother.update({"prone": 1.0}, 1.0)
    smoother.update({"supine": 1.0}, 1.2)  # the run of prone frames is broken: it starts again at 1.4
    times = [1.4 + 0.2 * i for i in range(10)]
    labels = [smoother.update({"prone": 0.9, "supine": 0.1}, t) for t in times]
    switched = times[labels.index("prone")]
    assert switched >= 2.2 and smoother.since == pytest.approx(1.4)
    # a switch not preceded by a run of frames led by the new label is dated at the switch
    drift = LabelSmoother(("a", "b", "c"), time_constant=1.0, switch_margin=0.1)
    drift.update({"a": 1.0}, 0.0)
    for i in range(1, 30):  # b and c take turns leading each frame; their average overtakes a
        label = drift.update({"b": 0.5, "c": 0.3, "a": 0.2} if i % 2 else {"c": 0.5, "b": 0.4, "a": 0.1}, 0.2 * i)
        if label != "a":
            assert drift.since == pytest.approx(0.2 * i)
            break
    else:
        raise AssertionError("never switched")


def test_close_classes_do_not_flap():
    smoother = LabelSmoother(("clear", "pacifier"), time_constant=0.5, switch_margin=0.15)
    smoother.update({"clear": 0.55, "pacifier": 0.45}, 0.0)
    seen = {smoother.update({"clear": 0.45 + 0.1 * (i % 2), "pacifier": 0.55 - 0.1 * (i % 2)}, 0.2 * i)
            for i in range(1, 30)}
    assert seen == {"clear"}


def test_a_long_gap_starts_afresh():
    smoother = LabelSmoother(POSTURE, time_constant=5.0, max_gap=10.0)
    for i in range(20):
        smoother.update({"supine": 1.0}, float(i))
    assert smoother.update({"prone": 1.0}, 40.0) == "prone"


def test_unknown_labels_are_refused():
    with pytest.raises(ValueError, match="unknown label"):
        LabelSmoother(POSTURE).update({"upside_down": 1.0}, 0.0)


def test_presence_has_hysteresis():
    presence = PresenceSmoother(on_threshold=0.5, off_threshold=0.3, time_constant=0.0)
    assert presence.update(0.6, 0.0) is True
    assert presence.update(0.4, 0.2) is True   # between the thresholds: stays on
    assert presence.update(0.2, 0.4) is False
    assert presence.update(0.45, 0.6) is False  # between the thresholds: stays off
    assert presence.update(0.55, 0.8) is True


def test_presence_ignores_a_single_dropout():
    presence = PresenceSmoother(time_constant=1.0)
    for i in range(10):
        presence.update(0.9, 0.2 * i)
    assert presence.update(0.0, 2.0) is True
