"""Every Home Assistant entity of a camera, described once (pure).

A row says the platform, the object id, the name, which per-field topic (``<prefix>/<camera>/<field>``) it
shows and how that payload is made from the state JSON, whether it needs the camera stream, and any other
discovery options. Discovery (:mod:`babymon.mqtt.discovery`) and the per-field payloads
(:mod:`babymon.mqtt.payloads`) are both made from this table.

Binary values are ``ON``/``OFF``; a value nobody can know (no analyzer, no frame) is ``None``, which Home
Assistant shows as *unknown* rather than a reassuring *off*.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from babymon.vocabulary import CONDITION_LIST, EVENT_TYPES, FACE_STATES, POSTURES

NONE = "None"
Show = Callable[[dict], str]  # the state JSON → a field's payload


def on_off(value: bool | None) -> str:
    return NONE if value is None else ("ON" if value else "OFF")


def text(value) -> str:
    return NONE if value is None else str(value)


@dataclass(frozen=True)
class Entity:
    component: str  # binary_sensor, sensor, switch, button, event
    key: str  # object id, unique per camera
    name: str
    field: str | None = None  # the per-field state topic it shows
    show: Show | None = None  # how that field's payload is made
    needs_camera: bool = False  # unavailable while the camera stream is down
    extra: tuple[tuple[str, object], ...] = ()


def _condition(key: str) -> Show:
    """A baby condition: unknown when it cannot be detected on this camera."""
    return lambda s: NONE if key in s["undetectable"] else on_off(s["conditions"][key])


def _health(key: str, show: Callable[[object], str] = str) -> Show:
    return lambda s: show(s["health"][key])


def _evidence_problem(state: dict) -> str:
    evidence = state["health"].get("evidence")
    return NONE if evidence is None else on_off(evidence != "ok")


def _cry_probability(state: dict) -> str:
    return NONE if state["cry_probability"] is None else f"{state['cry_probability'] * 100:.0f}"


SAFETY = (("device_class", "safety"),)
DIAGNOSTIC = (("entity_category", "diagnostic"),)
PROBLEM = (("device_class", "problem"),)


def _condition_entity(key: str) -> Entity:
    condition = next(c for c in CONDITION_LIST if c.key == key)
    show = _condition(key) if condition.about_baby else (lambda s: on_off(s["conditions"][key]))
    return Entity("binary_sensor", key, condition.title, key, show, condition.about_baby,
                  (("device_class", condition.device_class),))


def entities(snooze_seconds: int) -> list[Entity]:
    """Every entity of one camera, in the order Home Assistant lists them."""
    return [
        Entity("binary_sensor", "danger", "Danger", "danger", lambda s: on_off(s["danger"]),
               extra=SAFETY + (("icon", "mdi:alert"),)),
        *(_condition_entity(key) for key in ("face_covered", "prone", "standing", "crying")),
        Entity("binary_sensor", "baby_present", "Baby present", "baby_present", lambda s: on_off(s["baby_present"]),
               True, (("device_class", "occupancy"),)),
        _condition_entity("monitor_unavailable"),
        Entity("binary_sensor", "connected", "Camera connected", "connected", _health("connected", on_off),
               extra=(("device_class", "connectivity"),) + DIAGNOSTIC),
        Entity("binary_sensor", "degraded", "Detection degraded", "degraded",
               lambda s: on_off(bool(s["undetectable"])), extra=PROBLEM + DIAGNOSTIC),
        Entity("binary_sensor", "evidence_problem", "Evidence storage problem", "evidence_problem", _evidence_problem,
               extra=PROBLEM + DIAGNOSTIC),
        Entity("sensor", "posture", "Posture", "posture", lambda s: text(s["posture"]), True,
               (("device_class", "enum"), ("options", list(POSTURES)), ("icon", "mdi:human-child"))),
        Entity("sensor", "face", "Face state", "face", lambda s: text(s["face"]), True,
               (("device_class", "enum"), ("options", list(FACE_STATES)), ("icon", "mdi:face-man-shimmer"))),
        Entity("sensor", "cry_probability", "Cry probability", "cry_probability", _cry_probability, True,
               (("unit_of_measurement", "%"), ("state_class", "measurement"), ("icon", "mdi:emoticon-cry"))),
        Entity("sensor", "snoozed_until", "Alerts snoozed until", "snoozed_until", lambda s: text(s["snoozed_until"]),
               extra=(("device_class", "timestamp"), ("icon", "mdi:bell-sleep"))),
        Entity("sensor", "fps", "Analysed frames per second", "fps", _health("fps", lambda v: f"{v:.1f}"),
               extra=(("unit_of_measurement", "fps"), ("state_class", "measurement")) + DIAGNOSTIC),
        Entity("sensor", "reconnects", "Stream reconnects", "reconnects", _health("reconnects"),
               extra=(("state_class", "total_increasing"),) + DIAGNOSTIC),
        Entity("sensor", "dropped_frames", "Dropped frames", "dropped_frames", _health("dropped_frames"),
               extra=(("state_class", "total_increasing"),) + DIAGNOSTIC),
        Entity("switch", "enabled", "Monitoring", "enabled", lambda s: on_off(s["enabled"]),
               extra=(("icon", "mdi:baby-face-outline"),)),
        Entity("button", "snooze", f"Snooze alerts {snooze_seconds // 60} min",
               extra=(("payload_press", str(snooze_seconds)), ("icon", "mdi:bell-sleep"))),
        Entity("button", "snooze_cancel", "Cancel snooze", extra=(("payload_press", "0"), ("icon", "mdi:bell-ring"))),
        Entity("event", "events", "Danger events", extra=(("event_types", list(EVENT_TYPES)),)),
    ]


# Entities an earlier version announced and this one does not: an empty retained config removes them from Home
# Assistant. The snapshot image is the Home Assistant integration's own now (``custom_components/babymon/image.py``):
# MQTT's image entity takes the time Home Assistant received the picture as its state, so every restart of Home
# Assistant changed it; the integration's takes the time the daemon took it (``<prefix>/<camera>/snapshot_time``).
RETIRED: tuple[tuple[str, str], ...] = (("image", "snapshot"),)


# per-field topics that no entity shows but automations and the integration read
OTHER_FIELDS: dict[str, Show] = {
    "reasons": lambda s: json.dumps(s["reasons"]),
    "monitoring": lambda s: on_off(s["monitoring"]),
    "available": lambda s: "online" if s["health"]["connected"] else "offline",  # the baby entities' availability
}


def field_shows() -> dict[str, Show]:
    """Every per-field topic → how its payload is made (the snooze length does not change any)."""
    return {**{e.field: e.show for e in entities(60) if e.field and e.show}, **OTHER_FIELDS}
