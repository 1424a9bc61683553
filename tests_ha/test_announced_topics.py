"""Every topic the daemon's discovery announces is one the daemon really publishes (or, for commands, listens
to), checked on the payloads recorded from a real daemon run. Home Assistant drops an entity whose topic nobody
publishes without a word: the snapshot image was once announced with ``state_topic: babymon/<camera>/True``
and the tests could not see it."""

from __future__ import annotations

import re

from custom_components.babymon.protocol import Topics

from .conftest import daemon_events, entity_configs, retained_configs

# config keys that name a topic Home Assistant reads from, and those it publishes to
READ_KEYS = ("state_topic", "image_topic", "json_attributes_topic", "url_topic", "availability_topic")
WRITE_KEYS = ("command_topic",)


def _configs(payloads) -> dict[str, dict]:
    """Every entity config the daemon announced, in the device schema (retained) and the entity schema (recorded
    while it moved to it)."""
    moved = {m["topic"]: m.get("text", "") for m in payloads["migrations"]["to_entity"]}
    return {**{f"device:{k}": c for k, c in retained_configs(payloads).items()},
            **{f"entity:{k}": c for k, c in entity_configs(moved).items()}}


def _read_topics(config: dict) -> list[str]:
    topics = [config[k] for k in READ_KEYS if k in config]
    topics += [a["topic"] for a in config.get("availability", [])]
    return topics


def test_every_announced_topic_is_published_by_the_daemon(payloads) -> None:
    published = {t for t in payloads["retained"] if not t.startswith("homeassistant/")}
    published |= {topic for topic, _ in daemon_events(payloads)}
    published.add(payloads["offline"]["topic"])
    configs = _configs(payloads)
    assert len(configs) >= 40
    unpublished = {(t, topic) for t, c in configs.items() for topic in _read_topics(c) if topic not in published}
    assert not unpublished, f"announced but never published: {sorted(unpublished)}"


def test_every_command_topic_is_one_the_daemon_listens_to(payloads) -> None:
    topics = Topics("babymon")
    filters = [re.compile(re.escape(f).replace(r"\+", "[^/]+") + "$") for f in (
        f"{topics.prefix}/+/enabled/set", f"{topics.prefix}/+/snooze/set")]
    commands = [c[k] for c in _configs(payloads).values() for k in WRITE_KEYS if k in c]
    assert commands, "the switch and the snooze buttons publish commands"
    assert all(any(f.match(t) for f in filters) for t in commands), commands


def test_the_retired_mqtt_snapshot_image_is_removed_and_its_topics_are_published(payloads) -> None:
    """The snapshot image is the integration's own now: the daemon empties the old discovery config (which removes
    the MQTT entity) and publishes the picture and the time it took it."""
    assert payloads["retained"]["homeassistant/image/babymon_nursery/snapshot/config"]["text"] == ""
    assert "base64" in payloads["retained"]["babymon/nursery/snapshot"]
    assert payloads["retained"]["babymon/nursery/snapshot_time"]["text"].endswith("+00:00")
