"""One camera's decisions as a pure step: (observations, time) → (conditions, state, events).

No I/O, no clock, no threads: the driver (:mod:`babymon.monitor`) says what it has observed and when, and
pushes what comes back out to MQTT, the live view and the evidence store. Like :mod:`babymon.rules`, it is
tested by feeding it observations and times.

Per step: fresh observations → raw conditions (``None`` = no evidence) → debounced rules (switch, snooze) →
the state JSON, whether it is worth publishing, the events of the transitions, and whether an alert started
(the outputs then want a picture of this frame).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from babymon.analyzers.base import Observation
from babymon.config import CameraConfig
from babymon.rules import DangerRules, RulesResult
from babymon.state import Coverage, Health, build_event, build_state, significant
from babymon.vocabulary import condition_event


@dataclass(frozen=True)
class Observed:
    """What the driver knows at time ``now``."""

    now: float
    health: Health  # connection and counters (read, never changed here)
    vision: Observation | None = None  # the latest vision result, and the time of its frame
    vision_at: float | None = None
    audio: Observation | None = None  # the audio analyzers' latest results, merged, and the end of their window
    audio_at: float | None = None
    connected_since: float | None = None
    frame_time: float | None = None  # the frame analysed in this step (None on a tick)
    pts: float | None = None


@dataclass
class StepResult:
    state: dict
    publish: bool  # changed, due (``state_interval``), forced, or a replayed frame
    events: list[dict] = field(default_factory=list)
    picture: bool = False  # an alert started: a snapshot of the current frame belongs with the events


def raw_conditions(vision: Observation | None, audio: Observation | None, *, connected: bool,
                   stalled: bool) -> dict[str, bool | None]:
    """Observations → the raw (not yet debounced) input of every danger condition. ``None`` = no evidence."""
    face = vision.face_state if vision else None
    posture = vision.posture if vision else None
    covered: bool | None
    if face == "covered":
        covered = True
    elif face in ("clear", "pacifier", "no_baby"):
        covered = False
    else:  # face_not_visible (turned away or into the mattress) or unknown: hold the last decision
        covered = None
    crying: bool | None = None
    if audio is not None:
        if audio.crying is not None:
            crying = audio.crying
        elif audio.cry_probability is not None:
            crying = audio.cry_probability >= 0.5
    return {
        "face_covered": covered,
        "prone": None if posture is None else posture == "prone",
        "standing": None if posture is None else posture == "standing",
        "crying": crying,
        "monitor_unavailable": (not connected) or stalled,
    }


def condition_onsets(vision: Observation | None, raw: dict[str, bool | None]) -> dict[str, float]:
    """When the evidence began for each vision condition that ``raw`` (:func:`raw_conditions`) says is True: the
    smoother's ``since`` of the face state or posture it comes from."""
    if vision is None:
        return {}
    since = {"face_covered": vision.face_state_since, "prone": vision.posture_since,
             "standing": vision.posture_since}
    return {condition: t for condition, t in since.items() if raw.get(condition) and t is not None}


class CameraStep:
    """The rules, the state and the events of one camera. ``rules``: carried over from a failed monitor."""

    def __init__(self, camera: str, name: str, config: CameraConfig, coverage: Coverage, *,
                 listens: bool, rules: DangerRules | None = None):
        self.camera = camera
        self.name = name
        self.config = config
        self.coverage = coverage
        self.listens = listens  # the camera has an audio analyzer
        self.rules = rules if rules is not None else DangerRules(config.rules, enabled=config.enabled)
        self.last_state: dict | None = None  # the last state worth publishing
        self._published_at = float("-inf")

    # ------------------------------------------------------------------------------------------- steps

    def step(self, observed: Observed, *, force: bool = False, replayed_frame: bool = False,
             events: list[dict] | None = None) -> StepResult:
        now, health = observed.now, observed.health
        stalled = self.stalled(observed)
        timeout = self.config.stall_timeout
        vision = observed.vision if _fresh(observed.vision_at, now, timeout) else None
        audio = observed.audio if _fresh(observed.audio_at, now, timeout) else None
        raw = raw_conditions(vision, audio, connected=health.connected, stalled=stalled)
        result = self.rules.update(raw, now, condition_onsets(vision, raw))
        frame_time = observed.frame_time if observed.frame_time is not None else observed.vision_at
        merged = (observed.vision or Observation()).merged_with(observed.audio or Observation())
        state = build_state(camera=self.camera, name=self.name, now=now, frame_time=frame_time, pts=observed.pts,
                            observation=merged, rules=result, enabled=self.rules.enabled,
                            snoozed_until=self.rules.snoozed_until, health=health, stalled=stalled,
                            coverage=self.coverage_now(audio, health))
        events = [*(events or ()), *self._transition_events(result, observed)]
        changed = self.last_state is None or significant(state) != significant(self.last_state)
        due = now - self._published_at >= self.config.state_interval
        publish = force or changed or due or replayed_frame or bool(events)
        if publish:
            self.last_state, self._published_at = state, now
        return StepResult(state, publish, events, picture=any(t.active for t in result.transitions))

    def set_enabled(self, enabled: bool, observed: Observed) -> StepResult | None:
        """The monitoring switch; ``None`` when it is already so."""
        if enabled == self.rules.enabled:
            return None
        self.rules.enabled = enabled
        event = self._event("monitoring_enabled" if enabled else "monitoring_disabled", observed.now)
        return self.step(observed, force=True, events=[event])

    def snooze(self, seconds: float, observed: Observed) -> StepResult:
        """Silence the baby conditions for ``seconds``; 0 cancels."""
        self.rules.snooze(seconds, observed.now)
        if seconds > 0:
            event = self._event("snoozed", observed.now, details={"snoozed_until": self.rules.snoozed_until})
        else:
            event = self._event("snooze_cancelled", observed.now)
        return self.step(observed, force=True, events=[event])

    # ------------------------------------------------------------------------------------------ pieces

    def stalled(self, observed: Observed) -> bool:
        """Connected, yet no frame analysed for ``stall_timeout`` (counted from the connection if later)."""
        if not observed.health.connected:
            return False
        reference = observed.vision_at
        if reference is None or (observed.connected_since is not None and observed.connected_since > reference):
            reference = observed.connected_since
        return reference is not None and observed.now - reference > self.config.stall_timeout

    def coverage_now(self, fresh_audio: Observation | None, health: Health) -> Coverage:
        """What cannot be detected right now: missing analyzers, plus crying while there is no usable audio
        (no audio track, no recent window, or windows the analyzer calls silent): *unknown*, never *not crying*."""
        if "crying" in self.coverage.undetectable or not self.listens:
            return self.coverage
        heard = fresh_audio is not None and (fresh_audio.crying is not None or fresh_audio.cry_probability is not None)
        if health.has_audio is not False and heard:
            return self.coverage
        return Coverage(self.coverage.missing, (*self.coverage.undetectable, "crying"))

    def _transition_events(self, result: RulesResult, observed: Observed) -> list[dict]:
        vision, audio = observed.vision, observed.audio
        details = {
            "face": vision.face_state if vision else None,
            "posture": vision.posture if vision else None,
            "cry_probability": audio.cry_probability if audio else None,
        }
        events = []
        for transition in result.transitions:
            overall = transition.condition == "danger"
            kind = condition_event(transition.condition, transition.active)
            events.append(self._event(kind, observed.now, reasons=transition.reasons or result.reasons,
                                      condition=None if overall else transition.condition, details=details))
        return events

    def _event(self, kind: str, now: float, reasons=(), condition: str | None = None,
               details: dict | None = None) -> dict:
        return build_event(kind, camera=self.camera, name=self.name, at=now, reasons=reasons, condition=condition,
                           details=details)


def _fresh(at: float | None, now: float, timeout: float) -> bool:
    return at is not None and now - at <= timeout
