"""Pure MQTT pieces: discovery configs, per-field payloads, command parsing, topics."""

import json

import pytest

from babymon.analyzers.base import Observation
from babymon.config import RulesConfig
from babymon.mqtt.commands import parse_enabled, parse_snooze
from babymon.mqtt.discovery import MIGRATE, announce_messages, discovery_messages
from babymon.mqtt.payloads import FIELDS, field_payloads
from babymon.mqtt.topics import Topics
from babymon.rules import DangerRules
from babymon.state import Coverage, Health, build_state


def make_state(**kw):
    rules = DangerRules(RulesConfig()).update({"monitor_unavailable": False}, 0)
    args = dict(camera="nursery", name="Nursery", now=1.0, frame_time=None, pts=None, observation=Observation(),
                rules=rules, enabled=True, snoozed_until=None, health=Health(connected=True), stalled=False,
                coverage=Coverage({"vision": "not installed"}, ("face_covered", "prone", "standing")))
    args.update(kw)
    return build_state(**args)


def entity_configs(messages: dict[str, str]) -> dict[str, dict]:
    """Either discovery schema → ``platform/key`` → that entity's whole config (device and origin included)."""
    configs = {}
    for topic, payload in messages.items():
        if not payload:
            continue
        config = json.loads(payload)
        if topic.split("/")[1] == "device":
            for key, component in config["components"].items():
                rest = {k: v for k, v in component.items() if k != "platform"}
                configs[f"{component['platform']}/{key}"] = rest | {"device": config["device"], "origin": config["origin"]}
        else:
            configs[f"{topic.split('/')[1]}/{topic.split('/')[3]}"] = config
    return configs


@pytest.mark.parametrize("schema", ["device", "entity"])
def test_discovery_one_device_stable_ids_and_availability(schema):
    messages = discovery_messages(Topics(), "nursery", "Nursery", 1800, schema)
    configs = entity_configs(messages)
    # the MQTT snapshot image is retired (the integration owns it): an empty retained config removes it
    assert messages["homeassistant/image/babymon_nursery/snapshot/config"] == ""
    danger = configs["binary_sensor/danger"]
    assert danger["unique_id"] == "babymon_nursery_danger"
    assert danger["device_class"] == "safety" and danger["state_topic"] == "babymon/nursery/danger"
    assert danger["origin"]["name"] == "babymon"
    assert {a["topic"] for a in danger["availability"]} == {"babymon/available"}
    face = configs["binary_sensor/face_covered"]
    assert {a["topic"] for a in face["availability"]} == {"babymon/available", "babymon/nursery/available"}
    assert face["availability_mode"] == "all"
    # one device for every entity, and no unique_id twice
    assert len({json.dumps(c["device"], sort_keys=True) for c in configs.values()}) == 1
    assert len({c["unique_id"] for c in configs.values()}) == len(configs)
    components = {t.split("/")[0] for t in configs}
    assert components == {"binary_sensor", "sensor", "switch", "button", "event"}
    switch = configs["switch/enabled"]
    assert switch["command_topic"] == "babymon/nursery/enabled/set"
    snooze = configs["button/snooze"]
    assert snooze["command_topic"] == "babymon/nursery/snooze/set" and snooze["payload_press"] == "1800"
    posture = configs["sensor/posture"]
    assert posture["options"] == ["supine", "prone", "side", "sitting", "standing"]


def test_the_two_schemas_describe_the_same_entities_with_the_same_ids():
    """Same unique ids and discovery ids (``<node> <key>``: the device topic's node, the component's key), which is
    what lets Home Assistant move an entity from one schema to the other and keep its entity id."""
    device = discovery_messages(Topics(), "nursery", "Nursery", 1800, "device")
    entity = discovery_messages(Topics(), "nursery", "Nursery", 1800, "entity")
    assert [t for t, p in device.items() if p] == ["homeassistant/device/babymon_nursery/config"]
    assert entity_configs(device) == entity_configs(entity)
    assert len([p for p in entity.values() if p]) == len(entity_configs(entity))


def test_moving_between_schemas_follows_home_assistants_migration_path():
    topics = Topics()
    device = discovery_messages(topics, "nursery", "Nursery", 1800, "device")
    entity = discovery_messages(topics, "nursery", "Nursery", 1800, "entity")
    entity_topics = [t for t, p in entity.items() if p]
    device_topic = topics.device_discovery("nursery")
    registry = [*entity_topics, "homeassistant/image/babymon_nursery/snapshot/config", "babymon/nursery/state"]

    move = announce_messages(topics, "nursery", device, "device", registry)
    n = len(entity_topics)
    assert move[:n] == [(t, MIGRATE, False) for t in entity_topics]  # 1. unload, keep in the registry (not retained)
    assert move[n:2 * n] == [(t, "", True) for t in entity_topics]  # 2. the old configs removed from the broker
    assert move[2 * n][0] == device_topic and move[2 * n][2]  # 3. the new config binds to the same entities

    back = announce_messages(topics, "nursery", entity, "entity", [device_topic])
    assert back[:2] == [(device_topic, MIGRATE, False), (device_topic, "", True)]
    assert {t for t, p, _ in back[2:] if p} == set(entity_topics)

    # the same schema as last time, or nothing known: no migration
    for previously in ([device_topic], [], ["family/photos/latest"]):
        plain = announce_messages(topics, "nursery", device, "device", previously)
        assert all(p != MIGRATE for _, p, _ in plain) and all(retain for _, _, retain in plain)
        assert [t for t, p, _ in plain if p] == [device_topic]


def test_field_payloads_say_unknown_rather_than_off():
    fields = field_payloads(make_state())
    assert set(fields) == set(FIELDS)
    assert fields["face_covered"] == "None" and fields["face"] == "None"  # no vision analyzer: unknown
    assert fields["crying"] == "OFF"  # detectable here, and quiet
    assert fields["danger"] == "OFF" and fields["connected"] == "ON" and fields["available"] == "online"
    assert fields["degraded"] == "ON"


def test_field_payloads_with_observations():
    obs = Observation(face_state="covered", posture="prone", baby_present=True, cry_probability=0.42)
    fields = field_payloads(make_state(observation=obs, coverage=Coverage()))
    assert fields["face"] == "covered" and fields["posture"] == "prone" and fields["baby_present"] == "ON"
    assert fields["cry_probability"] == "42" and fields["degraded"] == "OFF"


@pytest.mark.parametrize("payload, expected", [(b"ON", True), ("off", False), (b"true", True), ("0", False)])
def test_parse_enabled(payload, expected):
    assert parse_enabled(payload) is expected


@pytest.mark.parametrize("payload, seconds", [
    (b"600", 600), (b"10m", 600), (b'{"minutes": 5}', 300), (b'{"seconds": 90}', 90), (b"OFF", 0), (b"0", 0),
])
def test_parse_snooze(payload, seconds):
    assert parse_snooze(payload) == seconds


@pytest.mark.parametrize("payload, message", [
    (b"maybe", "expected seconds"), (b'{"hours": 1}', "minutes"), (b"90000", "between 0 and 24 h"), (b"{", "JSON"),
])
def test_parse_snooze_rejects_with_reason(payload, message):
    with pytest.raises(ValueError, match=message):
        parse_snooze(payload)


def test_parse_enabled_rejects_with_reason():
    with pytest.raises(ValueError, match="expected ON or OFF"):
        parse_enabled(b"sometimes")


def test_command_topics():
    topics = Topics("babymon")
    assert topics.parse_command("babymon/nursery/snooze/set") == ("nursery", "snooze")
    assert topics.parse_command("babymon/nursery/enabled/set") == ("nursery", "enabled")
    assert topics.parse_command("babymon/nursery/danger") is None
    assert topics.parse_command("other/nursery/snooze/set") is None


def test_every_topic_discovery_announces_is_one_the_daemon_publishes_or_listens_to():
    topics = Topics()
    published = {topics.available, topics.camera("nursery", "events"), topics.camera("nursery", "available")}
    published |= {topics.camera("nursery", f) for f in ("state", "snapshot", "snapshot_time", *FIELDS)}
    listened = {topics.camera("nursery", "enabled/set"), topics.camera("nursery", "snooze/set")}
    for config in entity_configs(discovery_messages(topics, "nursery", "Nursery", 1800)).values():
        reads = [config[k] for k in ("state_topic", "image_topic", "json_attributes_topic") if k in config]
        reads += [a["topic"] for a in config["availability"]]
        assert set(reads) <= published, (config["unique_id"], reads)
        assert config.get("command_topic", next(iter(listened))) in listened, config["unique_id"]
