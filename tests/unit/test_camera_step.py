"""The camera step, pure: observations and times in; conditions, state, events and "take a picture" out."""

from __future__ import annotations

from babymon.analyzers.base import Observation
from babymon.camera_step import CameraStep, Observed, raw_conditions
from babymon.config import CameraConfig
from babymon.state import Coverage, Health

CLEAR = Observation(face_state="clear", posture="supine", baby_present=True)
COVERED = Observation(face_state="covered", posture="supine", baby_present=True)
FAST = {"on_delay": 2, "off_delay": 2}


def camera(**overrides) -> CameraConfig:
    rules = {"face_covered": FAST, "prone": FAST, "standing": FAST, "crying": FAST,
             "monitor_unavailable": {"on_delay": 3, "off_delay": 0}}
    return CameraConfig.model_validate({"url": "rtsp://cam/live", "stall_timeout": 5, "state_interval": 10,
                                        "rules": rules, **overrides})


def new_step(listens: bool = False, **overrides) -> CameraStep:
    return CameraStep("nursery", "Nursery", camera(**overrides), Coverage(), listens=listens)


def seen(now: float, vision: Observation | None = CLEAR, at: float | None = None, connected: bool = True,
         audio: Observation | None = None, since: float = 0.0) -> Observed:
    health = Health(connected=connected, has_audio=True)
    return Observed(now=now, health=health, vision=vision, vision_at=now if at is None else at, audio=audio,
                    audio_at=None if audio is None else now, connected_since=since, frame_time=now)


def kinds(result) -> list[str]:
    return [e["type"] for e in result.events]


def test_a_covered_face_alerts_after_its_delay_with_a_picture():
    step = new_step()
    assert kinds(step.step(seen(0, CLEAR))) == []
    assert kinds(step.step(seen(1, COVERED))) == []  # not yet: on_delay 2 s
    result = step.step(seen(3, COVERED))
    assert kinds(result) == ["face_covered_started", "danger_started"]
    assert result.picture and result.publish
    assert result.state["danger"] is True and result.state["reasons"] == ["face_covered"]
    assert result.events[1]["reasons"] == ["face_covered"] and result.events[0]["face"] == "covered"
    assert kinds(step.step(seen(4, CLEAR))) == []  # clear since 4: off_delay 2 s
    cleared = step.step(seen(6, CLEAR))
    assert kinds(cleared) == ["face_covered_cleared", "danger_cleared"] and not cleared.picture


def test_a_condition_is_timed_from_the_first_frame_that_showed_it():
    """The vision smoothers say when the evidence for a label began; the on-delay counts from there."""
    step = new_step()
    assert kinds(step.step(seen(0, CLEAR))) == []
    prone = Observation(face_state="clear", posture="prone", baby_present=True, posture_since=0.6)
    assert kinds(step.step(seen(1.5, prone))) == []
    assert kinds(step.step(seen(2.6, prone))) == ["prone_started", "danger_started"]  # 2 s after 0.6, not 1.5
    covered = Observation(face_state="covered", posture="supine", baby_present=True, face_state_since=2.0)
    step = new_step()
    step.step(seen(0, CLEAR))
    step.step(seen(2.5, covered))
    assert kinds(step.step(seen(4.0, covered))) == ["face_covered_started", "danger_started"]


def test_an_old_observation_is_no_evidence_and_a_stall_becomes_monitor_unavailable():
    step = new_step()
    step.step(seen(0, COVERED))
    step.step(seen(2.5, COVERED))  # face covered on
    # no new frame since 2.5: the covered face is not cleared by silence, and after stall_timeout (5 s)
    # plus monitor_unavailable's on_delay (3 s) the monitor says it is not monitoring
    held = step.step(seen(6, COVERED, at=2.5))
    assert held.state["conditions"]["face_covered"] is True and held.state["monitoring"] is True
    assert kinds(step.step(seen(8, COVERED, at=2.5))) == []  # stalled since 7.5, not 3 s yet
    unavailable = step.step(seen(11, COVERED, at=2.5))
    assert "monitor_unavailable_started" in kinds(unavailable)
    assert unavailable.state["conditions"]["face_covered"] is True  # held: no evidence it is over
    assert "no frame analysed recently (analysis stalled)" in unavailable.state["not_monitoring_reasons"]


def test_a_snooze_silences_the_baby_but_never_a_dead_camera():
    step = new_step()
    step.step(seen(0))
    snoozed = step.snooze(600, seen(1))
    assert kinds(snoozed) == ["snoozed"] and snoozed.publish
    step.step(seen(2, COVERED))
    assert kinds(step.step(seen(5, COVERED))) == []  # covered, but snoozed
    step.step(seen(6, COVERED, connected=False))
    down = step.step(seen(9.5, COVERED, connected=False))
    assert kinds(down) == ["monitor_unavailable_started", "danger_started"]
    assert down.state["reasons"] == ["monitor_unavailable"]
    cancelled = step.snooze(0, seen(10, COVERED, connected=False))
    assert kinds(cancelled)[0] == "snooze_cancelled" and "face_covered_started" in kinds(cancelled)


def test_the_switch_silences_everything_and_says_so():
    step = new_step()
    step.step(seen(0))
    assert step.set_enabled(True, seen(1)) is None  # already on: nothing happens
    off = step.set_enabled(False, seen(1))
    assert kinds(off) == ["monitoring_disabled"]
    assert off.state["monitoring"] is False and "monitoring is switched off" in off.state["not_monitoring_reasons"]
    step.step(seen(2, connected=False))
    assert kinds(step.step(seen(10, connected=False))) == []  # switched off: not even a dead camera alerts
    on = step.set_enabled(True, seen(11, connected=False))
    assert kinds(on) == ["monitoring_enabled", "monitor_unavailable_started", "danger_started"]


def test_states_are_published_when_they_change_or_fall_due():
    step = new_step()
    assert step.step(seen(0)).publish  # the first
    assert not step.step(seen(1)).publish  # the same again (time and health are not news)
    assert step.step(seen(2, Observation(face_state="pacifier", posture="supine"))).publish  # changed
    assert not step.step(seen(5, Observation(face_state="pacifier", posture="supine"))).publish
    assert step.step(seen(12, Observation(face_state="pacifier", posture="supine"))).publish  # state_interval
    assert step.step(seen(13, Observation(face_state="pacifier", posture="supine")), replayed_frame=True).publish
    assert step.last_state["time"] == 13


def test_crying_is_unknown_until_audio_is_heard():
    step = new_step(listens=True)
    deaf = step.step(seen(0))
    assert deaf.state["crying"] is None and "crying" in deaf.state["undetectable"]
    heard = step.step(seen(1, audio=Observation(cry_probability=0.1)))
    assert heard.state["crying"] is False and "crying" not in heard.state["undetectable"]


def test_raw_conditions_hold_without_evidence():
    nothing = raw_conditions(None, None, connected=True, stalled=False)
    assert nothing == {"face_covered": None, "prone": None, "standing": None, "crying": None,
                       "monitor_unavailable": False}
    turned_away = raw_conditions(Observation(face_state="face_not_visible", posture="prone"), None,
                                 connected=True, stalled=False)
    assert turned_away["face_covered"] is None and turned_away["prone"] is True
    assert raw_conditions(None, Observation(cry_probability=0.7), connected=False, stalled=False)["crying"] is True
    assert raw_conditions(None, None, connected=False, stalled=False)["monitor_unavailable"] is True
