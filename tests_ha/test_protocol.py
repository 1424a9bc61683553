"""The integration's pure checks on what it reads from MQTT (custom_components/babymon/protocol.py): plain unit
tests and property-based fuzzing, no Home Assistant needed."""

from __future__ import annotations

import importlib.util
import json
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from custom_components.babymon import protocol
from custom_components.babymon.const import ALERT_CONDITIONS
from custom_components.babymon.protocol import (
    EVENT_FIELDS,
    EVENT_TYPES,
    MAX_CAMERAS,
    MAX_JSON_DEPTH,
    MAX_PAYLOAD_BYTES,
    MAX_REASONS,
    MAX_SNOOZE_SECONDS,
    MAX_TEXT_LENGTH,
    REGISTRY_MAX_BYTES,
    SNOOZE_CLOCK_MARGIN_SECONDS,
    Topics,
    announced_cameras,
    event_fields,
    event_type,
    json_depth_within,
    parse_json_object,
    snooze_active,
    valid_camera_key,
)

DAEMON_VOCABULARY_PY = Path(__file__).parents[1] / "babymon" / "vocabulary.py"
NOW = datetime(2026, 11, 22, 3, 36, 22, tzinfo=UTC)

# the conftest's autouse fixtures give every test here a (function-scoped) hass it does not use; no example
# database: it would be written into the working tree
FUZZ = settings(max_examples=300, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _daemon_vocabulary():
    """The daemon's babymon/vocabulary.py (plain Python, no dependencies), loaded from its file: this
    virtualenv has Home Assistant, not the daemon."""
    assert DAEMON_VOCABULARY_PY.is_file(), "the daemon's babymon/vocabulary.py moved: update this test"
    spec = importlib.util.spec_from_file_location("daemon_vocabulary", DAEMON_VOCABULARY_PY)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_event_types_and_conditions_match_the_daemon() -> None:
    """The integration ships apart from the daemon, so it keeps its own copy of the daemon's words."""
    daemon = _daemon_vocabulary()
    assert EVENT_TYPES == daemon.EVENT_TYPES
    assert ALERT_CONDITIONS == daemon.CONDITIONS
    assert protocol.UNSNOOZABLE_CONDITIONS == frozenset(daemon.CONDITIONS) - daemon.BABY_CONDITIONS
    assert {condition: daemon.condition_event(condition, True) for condition in daemon.CONDITIONS} == {
        condition: kind for kind, condition in protocol.CONDITION_STARTS.items()}
    # and everything the integration maps from is among them
    assert set(protocol.TRIGGER_EVENT_TYPES.values()) <= set(EVENT_TYPES)
    assert set(protocol.CONDITION_STARTS) <= set(EVENT_TYPES)


@pytest.mark.parametrize("payload", [
    "[" * 100_000, "[" * 100_000 + "]" * 100_000, '{"a":' * 40_000 + "1" + "}" * 40_000,
    '{"a": ' + "[" * 5_000 + "]" * 5_000 + "}",  # json.loads would parse this one (Python 3.13's C limit)
])
def test_deep_json_is_refused_without_raising(payload: str) -> None:
    assert parse_json_object(payload) is None
    assert parse_json_object(payload.encode()) is None
    assert parse_json_object(payload, max_bytes=REGISTRY_MAX_BYTES) is None


def test_depth_bound_is_exact() -> None:
    def nested(depth: int) -> str:  # an object holding arrays: ``depth`` levels in all
        return '{"a": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"

    assert parse_json_object(nested(MAX_JSON_DEPTH)) == json.loads(nested(MAX_JSON_DEPTH))
    assert parse_json_object(nested(MAX_JSON_DEPTH + 1)) is None
    assert parse_json_object(nested(3), max_depth=2) is None


def test_brackets_inside_strings_do_not_count() -> None:
    text = json.dumps({"a": "[" * 1000, "b": "]]]}}", "c": '\\"[[[', "d": ["\\", ["\"]"]]})
    assert parse_json_object(text) == json.loads(text)
    assert json_depth_within(text.encode(), 3) and not json_depth_within(text.encode(), 2)


def test_size_bound() -> None:
    fits = json.dumps({"a": "x" * (MAX_PAYLOAD_BYTES - 20)})
    assert parse_json_object(fits) is not None and parse_json_object(fits.encode()) is not None
    too_big = json.dumps({"a": "x" * MAX_PAYLOAD_BYTES})
    assert parse_json_object(too_big) is None and parse_json_object(too_big.encode()) is None
    # counted in UTF-8 bytes, not characters
    wide = json.dumps({"a": "\u00e4" * (MAX_PAYLOAD_BYTES // 2)}, ensure_ascii=False)
    assert len(wide) < MAX_PAYLOAD_BYTES < len(wide.encode())
    assert parse_json_object(wide) is None
    assert parse_json_object("x" * (REGISTRY_MAX_BYTES + 1), max_bytes=REGISTRY_MAX_BYTES) is None


@pytest.mark.parametrize("payload", ["", "null", "[]", '"x"', "1", "{", b"\xff\xfe{}", b'{"a": "\xff"}', "NaN"])
def test_anything_but_a_json_object_is_none(payload) -> None:
    assert parse_json_object(payload) is None


def test_camera_keys() -> None:
    for key in ("nursery", "0", "a" * 63, "kid_2", "a_"):
        assert valid_camera_key(key), key
    for key in ("", "_announced", "Nursery", "a" * 64, "a-b", "a b", "a/b", "+", "#", "a\n", "\u00e4", None, 1, ["a"]):
        assert not valid_camera_key(key), key
    topics = Topics("babymon")
    assert topics.camera_of("babymon/nursery/state") == "nursery"
    for topic in ("babymon/_announced/state", "babymon/Nursery/state", "babymon/a b/events", "babymon//state",
                  f"babymon/{'a' * 64}/state", "babymon/nursery/x/state", "other/nursery/state"):
        assert topics.camera_of(topic) is None, topic


def test_registry_shape() -> None:
    assert announced_cameras(json.dumps({"cameras": {"nursery": ["babymon/nursery/state"], "kid": []}})) == [
        "nursery", "kid"]
    assert announced_cameras("") == [] and announced_cameras(b"") == []  # the registry was cleared
    for payload in ('{"cameras": ["nursery"]}', '{"cameras": "nursery"}', "{}", '["nursery"]', "not json",
                    '{"cameras": ' + "[" * 100_000, "null"):
        assert announced_cameras(payload) is None, payload[:40]
    mixed = {"cameras": {"good": ["t"], "text": "t", "numbers": [1], "nested": [["t"]], "Bad": ["t"], "_x": []}}
    assert announced_cameras(json.dumps(mixed)) == ["good"]
    # as large as the daemon's own limit (a registry of 64 cameras with long names is over 256 KiB)
    big = {"cameras": {f"camera_{n:02d}_{'x' * 50}": [f"babymon/camera_{n:02d}_{'x' * 50}/{t:03d}" for t in range(60)]
                       for n in range(MAX_CAMERAS)}}
    assert MAX_PAYLOAD_BYTES < len(json.dumps(big)) < REGISTRY_MAX_BYTES
    assert len(announced_cameras(json.dumps(big))) == MAX_CAMERAS


def test_snooze_must_be_a_time_the_daemon_could_set() -> None:
    def at(delta: timedelta) -> str:
        return (NOW + delta).isoformat(timespec="milliseconds")

    assert snooze_active(at(timedelta(minutes=10)), NOW)
    assert snooze_active(at(timedelta(seconds=MAX_SNOOZE_SECONDS)), NOW)
    assert snooze_active(at(timedelta(seconds=MAX_SNOOZE_SECONDS + SNOOZE_CLOCK_MARGIN_SECONDS)), NOW)
    assert snooze_active((NOW + timedelta(hours=1)).astimezone(timezone(timedelta(hours=2))).isoformat(), NOW)
    assert snooze_active(at(timedelta(hours=1)).replace("+00:00", "Z"), NOW)
    for until in (at(timedelta(seconds=MAX_SNOOZE_SECONDS + SNOOZE_CLOCK_MARGIN_SECONDS + 1)),
                  at(timedelta(days=365)), "9999-12-31T23:59:59+00:00", at(timedelta(seconds=-1)), at(timedelta(0)),
                  (NOW + timedelta(hours=1)).replace(tzinfo=None).isoformat(),  # no time zone
                  "2026-11-23", "tomorrow", "", None, 1795318598.392, ["2026-11-22T04:00:00+00:00"],
                  at(timedelta(hours=1)) + " " * 100):
        assert not snooze_active(until, NOW), until


def test_event_fields_keep_the_daemons_types() -> None:
    good = {"type": "cry_started", "id": "e3", "name": "Nursery", "condition": "crying", "reasons": ["crying"],
            "time": "2026-11-22T03:36:30.640+00:00", "face": "clear", "posture": "supine", "cry_probability": 0.95,
            "timestamp": 1.0, "camera": "nursery"}
    assert event_fields(good) == {k: good[k] for k in EVENT_FIELDS}
    bad = {"id": 1, "name": "N" * (MAX_TEXT_LENGTH + 1), "condition": ["crying"], "reasons": {"crying": 1},
           "time": {"t": 1}, "face": True, "posture": None, "cry_probability": "0.9"}
    assert event_fields(bad) == {k: None for k in EVENT_FIELDS} | {"reasons": []}
    assert event_fields({})["reasons"] == []
    assert event_fields({"reasons": ["a", 1, None, "b" * (MAX_TEXT_LENGTH + 1), "c"]})["reasons"] == ["a", "c"]
    assert event_fields({"reasons": ["r"] * 1000})["reasons"] == ["r"] * MAX_REASONS
    for value, expected in ((0, 0.0), (1, 1.0), (0.5, 0.5), (1.01, None), (-1, None), (float("nan"), None),
                            (float("inf"), None), (True, None), (10**400, None), (None, None)):
        assert event_fields({"cry_probability": value})["cry_probability"] == expected, value


def test_event_type_is_one_of_the_daemons() -> None:
    assert event_type({"type": "cry_started"}) == "cry_started"
    assert event_type({"event_type": "danger_started"}) == "danger_started"
    for event in ({"type": "bogus"}, {"type": ["cry_started"]}, {}, {"type": None}, {"type": "CRY_STARTED"}):
        assert event_type(event) is None, event


# ------------------------------------------------------------------------------ fuzzing

def _depth(value) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


_TEXT = st.text(alphabet=st.sampled_from('ab"\\[]{}:,\u00e4 \n'), max_size=12) | st.text(max_size=8)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | _TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_TEXT, children, max_size=4),
    max_leaves=60,
)


@FUZZ
@given(JSON_VALUES, st.integers(min_value=0, max_value=40), st.booleans())
def test_fuzz_depth_check_is_exact_for_json(value, max_depth: int, ascii_only: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    assert json_depth_within(text.encode(), max_depth) == (_depth(value) <= max_depth)


@FUZZ
@given(st.dictionaries(_TEXT, JSON_VALUES, max_size=6))
def test_fuzz_parse_agrees_with_json_loads_within_bounds(value: dict) -> None:
    text = json.dumps(value)
    expected = value if _depth(value) <= MAX_JSON_DEPTH else None
    assert parse_json_object(text) == expected
    assert parse_json_object(text.encode()) == expected


@FUZZ
@given(st.text(alphabet=st.sampled_from('[]{}"\\:,0a \u00e4'), max_size=400) | st.text(max_size=200)
       | st.binary(max_size=200))
def test_fuzz_parse_never_raises(payload) -> None:
    result = parse_json_object(payload)
    assert result is None or isinstance(result, dict)
    assert announced_cameras(payload) is None or isinstance(announced_cameras(payload), list)


@FUZZ
@given(st.dictionaries(st.sampled_from([*EVENT_FIELDS, "type", "x"]), JSON_VALUES, max_size=10))
def test_fuzz_event_fields_are_always_of_the_daemons_types(event: dict) -> None:
    fields = event_fields(event)
    assert tuple(fields) == EVENT_FIELDS
    for key in protocol.EVENT_TEXT_FIELDS:
        assert fields[key] is None or (isinstance(fields[key], str) and len(fields[key]) <= MAX_TEXT_LENGTH)
    assert isinstance(fields["reasons"], list) and len(fields["reasons"]) <= MAX_REASONS
    assert all(isinstance(r, str) and len(r) <= MAX_TEXT_LENGTH for r in fields["reasons"])
    p = fields["cry_probability"]
    assert p is None or (type(p) is float and 0 <= p <= 1)
    assert event_type(event) in (None, *EVENT_TYPES)
    json.dumps(fields)  # serialisable for the bus, the recorder and diagnostics


@FUZZ
@given(st.one_of(st.none(), st.integers(), st.floats(), st.text(max_size=40), JSON_VALUES,
                 st.datetimes(timezones=st.timezones() | st.none()).map(datetime.isoformat)))
def test_fuzz_snooze_never_raises_nor_exceeds_a_day(until) -> None:
    if snooze_active(until, NOW):
        parsed = datetime.fromisoformat(until)
        assert NOW < parsed <= NOW + timedelta(seconds=MAX_SNOOZE_SECONDS + SNOOZE_CLOCK_MARGIN_SECONDS)
