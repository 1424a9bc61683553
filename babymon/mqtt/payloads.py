"""Turn a camera state into the per-field retained payloads (pure).

Binary values are ``ON``/``OFF``; a value nobody can know (no analyzer, no frame) is ``None``, which Home
Assistant shows as *unknown* rather than a reassuring *off*.
"""

from __future__ import annotations

import json

NONE = "None"

FIELDS = (
    "danger", "reasons", "face_covered", "prone", "standing", "crying", "monitor_unavailable", "face", "posture",
    "baby_present", "cry_probability", "connected", "monitoring", "degraded", "enabled", "snoozed_until", "fps",
    "reconnects", "dropped_frames", "available", "evidence_problem",
)  # fmt: skip


def on_off(value: bool | None) -> str:
    return NONE if value is None else ("ON" if value else "OFF")


def text(value) -> str:
    return NONE if value is None else str(value)


def field_payloads(state: dict) -> dict[str, str]:
    """Field name (the last topic level) → payload, for ``<prefix>/<camera>/<field>``."""
    conditions = state["conditions"]
    undetectable = set(state["undetectable"])
    health = state["health"]

    def condition(name: str) -> str:
        return NONE if name in undetectable else on_off(conditions[name])

    return {
        "danger": on_off(state["danger"]),
        "reasons": json.dumps(state["reasons"]),
        "face_covered": condition("face_covered"),
        "prone": condition("prone"),
        "standing": condition("standing"),
        "crying": condition("crying"),
        "monitor_unavailable": on_off(conditions["monitor_unavailable"]),
        "face": text(state["face"]),
        "posture": text(state["posture"]),
        "baby_present": on_off(state["baby_present"]),
        "cry_probability": NONE if state["cry_probability"] is None else f"{state['cry_probability'] * 100:.0f}",
        "connected": on_off(health["connected"]),
        "monitoring": on_off(state["monitoring"]),
        "degraded": on_off(bool(undetectable)),
        "enabled": on_off(state["enabled"]),
        "snoozed_until": text(state["snoozed_until"]),
        "fps": f"{health['fps']:.1f}",
        "reconnects": str(health["reconnects"]),
        "dropped_frames": str(health["dropped_frames"]),
        "available": "online" if health["connected"] else "offline",
        "evidence_problem": NONE if health.get("evidence") is None else on_off(health["evidence"] != "ok"),
    }
