"""Danger rules: pure, clock-driven logic with no I/O.

Each condition (``face_covered``, ``prone``, ``standing``, ``crying``, ``monitor_unavailable``) is a
:class:`Debouncer`: its raw input must hold for ``on_delay`` seconds before it turns on and be absent for
``off_delay`` seconds before it turns off. A raw input of ``None`` means "no evidence" (no analyzer, no
frame) and changes nothing: a condition is never cleared without evidence that it is over.

:class:`DangerRules` combines the conditions of one camera with its enable switch and snooze, and
returns the transitions that became true at each update, so callers can publish events.

Turning a camera off (the enable switch) silences all of its alerts, ``monitor_unavailable`` included:
it is the parent's explicit choice, and the published state still says the camera is not monitoring.
Snoozing silences only the baby conditions: a snoozed monitor still reports that it stopped working.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from babymon.config import RulesConfig
from babymon.vocabulary import BABY_CONDITIONS, CONDITIONS


class Debouncer:
    """A boolean that follows its input only after the input has held steady long enough."""

    def __init__(self, on_delay: float, off_delay: float):
        self.on_delay = on_delay
        self.off_delay = off_delay
        self.active = False
        self._pending_since: float | None = None  # when the input started disagreeing with `active`

    def update(self, raw: bool | None, now: float, since: float | None = None) -> bool:
        """``since``: when the evidence for a raw ``True`` began, if earlier than ``now`` (the first frame that
        showed the condition, before the smoothing confirmed it); the on-delay is counted from there."""
        if raw is None or raw == self.active:
            if raw is not None:
                self._pending_since = None
            return self.active
        if self._pending_since is None:
            self._pending_since = min(now, since) if raw and since is not None else now
        delay = self.on_delay if raw else self.off_delay
        if now - self._pending_since >= delay:
            self.active = raw
            self._pending_since = None
        return self.active

    def reset(self) -> None:
        self.active = False
        self._pending_since = None


@dataclass(frozen=True)
class Transition:
    condition: str  # one of CONDITIONS, or "danger" for the overall state
    active: bool
    at: float
    reasons: tuple[str, ...] = ()


@dataclass
class RulesResult:
    conditions: dict[str, bool]  # debounced, before snooze/enable
    alerting: dict[str, bool]  # what is alerted: after the enable switch and snooze
    danger: bool
    reasons: tuple[str, ...]
    transitions: list[Transition] = field(default_factory=list)


class DangerRules:
    """All conditions of one camera. Feed it raw observations with :meth:`update`."""

    def __init__(self, rules: RulesConfig, enabled: bool = True):
        self._config = rules
        self._debouncers = {c: Debouncer(rules.get(c).on_delay, rules.get(c).off_delay) for c in CONDITIONS}
        self.enabled = enabled
        self.snoozed_until: float | None = None
        self._alerting = {c: False for c in CONDITIONS}
        self._danger = False

    def snooze(self, seconds: float, now: float) -> None:
        """Silence baby alerts for ``seconds`` (0 cancels). ``monitor_unavailable`` is never snoozed."""
        self.snoozed_until = now + seconds if seconds > 0 else None

    def is_snoozed(self, now: float) -> bool:
        return self.snoozed_until is not None and now < self.snoozed_until

    def update(self, raw: dict[str, bool | None], now: float, onsets: dict[str, float] | None = None) -> RulesResult:
        """``raw``: each condition's input (None = no evidence); ``onsets``: for a condition whose input is True,
        when the evidence for it began, if known (see :meth:`Debouncer.update`)."""
        if self.snoozed_until is not None and now >= self.snoozed_until:
            self.snoozed_until = None
        snoozed = self.is_snoozed(now)
        conditions: dict[str, bool] = {}
        alerting: dict[str, bool] = {}
        transitions: list[Transition] = []
        for condition, debouncer in self._debouncers.items():
            active = debouncer.update(raw.get(condition), now, (onsets or {}).get(condition))
            conditions[condition] = active
            alert = (
                active
                and self._config.get(condition).enabled
                and self.enabled
                and not (snoozed and condition in BABY_CONDITIONS)
            )
            alerting[condition] = alert
            if alert != self._alerting[condition]:
                transitions.append(Transition(condition, alert, now))
        self._alerting = alerting
        reasons = tuple(c for c in CONDITIONS if alerting[c])
        danger = bool(reasons)
        if danger != self._danger:
            transitions.append(Transition("danger", danger, now, reasons))
            self._danger = danger
        return RulesResult(conditions, alerting, danger, reasons, transitions)
