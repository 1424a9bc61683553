"""Turn a camera state into the per-field retained payloads (pure); the fields are those of the entity
table (:mod:`babymon.mqtt.entities`) plus a few read by automations."""

from __future__ import annotations

from babymon.mqtt.entities import NONE, field_shows, on_off, text  # noqa: F401 - NONE, on_off, text re-exported

SHOWS = field_shows()
FIELDS: tuple[str, ...] = tuple(SHOWS)


def field_payloads(state: dict) -> dict[str, str]:
    """Field name (the last topic level) → payload, for ``<prefix>/<camera>/<field>``."""
    return {name: show(state) for name, show in SHOWS.items()}
