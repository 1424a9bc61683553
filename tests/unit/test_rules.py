"""The danger rules' timings: on/off delays, evidence-free updates, enable switch and snooze."""

from babymon.config import RuleConfig, RulesConfig
from babymon.rules import DangerRules, Debouncer


def quiet(**overrides):
    raw = {"face_covered": False, "prone": False, "standing": False, "crying": False, "monitor_unavailable": False}
    raw.update(overrides)
    return raw


def test_debouncer_needs_on_delay_of_steady_input():
    d = Debouncer(on_delay=3, off_delay=5)
    assert d.update(True, 0) is False
    assert d.update(True, 2.9) is False
    assert d.update(True, 3.0) is True


def test_debouncer_blip_resets_the_wait():
    d = Debouncer(on_delay=3, off_delay=5)
    d.update(True, 0)
    d.update(False, 2)  # one clear frame: start over
    assert d.update(True, 4) is False
    assert d.update(True, 6.9) is False
    assert d.update(True, 7) is True


def test_debouncer_counts_the_on_delay_from_when_the_evidence_began():
    d = Debouncer(on_delay=3, off_delay=5)
    assert d.update(False, 0) is False
    assert d.update(True, 1.0, since=0.2) is False  # the smoothing confirmed at 1.0 what frames showed from 0.2
    assert d.update(True, 3.1, since=0.2) is False
    assert d.update(True, 3.2, since=0.2) is True
    assert d.update(False, 4, since=3.9) is True  # clearing is never back-dated: off_delay from now
    assert d.update(False, 8.9) is True and d.update(False, 9) is False
    assert Debouncer(on_delay=3, off_delay=5).update(True, 1.0, since=5.0) is False  # never later than now


def test_debouncer_off_delay():
    d = Debouncer(on_delay=0, off_delay=5)
    assert d.update(True, 0) is True
    assert d.update(False, 1) is True
    assert d.update(False, 5.9) is True
    assert d.update(False, 6) is False


def test_no_evidence_never_clears_a_condition():
    d = Debouncer(on_delay=0, off_delay=1)
    d.update(True, 0)
    for t in range(1, 100):
        assert d.update(None, t) is True


def test_rules_emit_condition_and_danger_transitions():
    rules = DangerRules(RulesConfig(face_covered=RuleConfig(on_delay=2, off_delay=4)))
    assert rules.update(quiet(face_covered=True), 0).transitions == []
    result = rules.update(quiet(face_covered=True), 2)
    assert result.danger and result.reasons == ("face_covered",)
    assert [(t.condition, t.active) for t in result.transitions] == [("face_covered", True), ("danger", True)]
    assert rules.update(quiet(), 3).danger  # off delay not over
    result = rules.update(quiet(), 7)
    assert not result.danger
    assert [(t.condition, t.active) for t in result.transitions] == [("face_covered", False), ("danger", False)]


def test_each_condition_has_its_own_delays():
    rules = DangerRules(RulesConfig(prone=RuleConfig(on_delay=10, off_delay=0),
                                    crying=RuleConfig(on_delay=1, off_delay=0)))
    rules.update(quiet(prone=True, crying=True), 0)
    assert rules.update(quiet(prone=True, crying=True), 1).reasons == ("crying",)
    assert rules.update(quiet(prone=True, crying=True), 10).reasons == ("prone", "crying")


def test_disabled_condition_never_alerts_but_is_still_detected():
    rules = DangerRules(RulesConfig(standing=RuleConfig(enabled=False, on_delay=0)))
    result = rules.update(quiet(standing=True), 0)
    assert result.conditions["standing"] is True
    assert result.alerting["standing"] is False and not result.danger


def test_snooze_silences_baby_conditions_until_it_ends():
    rules = DangerRules(RulesConfig(crying=RuleConfig(on_delay=0, off_delay=0)))
    rules.snooze(60, now=0)
    assert not rules.update(quiet(crying=True), 1).danger
    assert rules.is_snoozed(59)
    result = rules.update(quiet(crying=True), 61)
    assert result.danger and result.reasons == ("crying",)
    assert rules.snoozed_until is None


def test_snooze_zero_cancels():
    rules = DangerRules(RulesConfig(crying=RuleConfig(on_delay=0, off_delay=0)))
    rules.snooze(600, now=0)
    rules.snooze(0, now=1)
    assert rules.update(quiet(crying=True), 2).danger


def test_snooze_never_hides_monitor_unavailable():
    rules = DangerRules(RulesConfig(monitor_unavailable=RuleConfig(on_delay=5, off_delay=0)))
    rules.snooze(3600, now=0)
    rules.update(quiet(monitor_unavailable=True), 0)
    result = rules.update(quiet(monitor_unavailable=True), 5)
    assert result.danger and result.reasons == ("monitor_unavailable",)


def test_switched_off_camera_alerts_nothing_and_resumes():
    rules = DangerRules(RulesConfig(prone=RuleConfig(on_delay=0, off_delay=0),
                                    monitor_unavailable=RuleConfig(on_delay=0, off_delay=0)), enabled=False)
    result = rules.update(quiet(prone=True, monitor_unavailable=True), 0)
    assert not result.danger and result.conditions["prone"]
    rules.enabled = True
    result = rules.update(quiet(prone=True, monitor_unavailable=True), 1)
    assert result.reasons == ("prone", "monitor_unavailable")
    assert [t.condition for t in result.transitions] == ["prone", "monitor_unavailable", "danger"]
