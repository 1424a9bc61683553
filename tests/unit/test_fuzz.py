"""The fuzz suite: arbitrary input on every way in from outside never raises out of the code that reads it.

* arbitrary bytes and JSON on the command topics (`<prefix>/<camera>/{enabled,snooze}/set`) and on the
  retained registry `<prefix>/_announced`, through the MQTT client's own message handler;
* arbitrary YAML (and bytes) as the configuration: `babymon check-config` exits 0 or 2, never a traceback.

`events.jsonl` is fuzzed in tests/test_evidence_*.py. A few dozen examples per property run in `make test`;
`make fuzz` runs thousands (BABYMON_FUZZ_EXAMPLES).
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from babymon.cli import main
from babymon.config import MqttConfig
from babymon.mqtt.client import MqttPublisher, parse_registry
from babymon.mqtt.commands import parse_enabled, parse_snooze

pytestmark = pytest.mark.fuzz

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["seconds", "minutes", "cameras", "x"]) | st.text(max_size=8), children, max_size=4),
    max_leaves=12)
nasty_payloads = st.sampled_from([
    b'{"minutes": null}', b'{"seconds": {"a": 1}}', b"[" * 100_000, b'{"a":' * 50_000, b"\xff\xfe\x00",
    b'{"minutes": 1e400}', b'{"seconds": NaN}', b'{"seconds": true}', b"1e999", b"-5", b"nan", b"",
    b'{"minutes": 10, "extra": 1}', "10 m\u00e9".encode(), b"\x00" * 300])
payloads = st.binary(max_size=300) | nasty_payloads | json_values.map(lambda v: json.dumps(v).encode())


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, object]] = []

    def set_enabled(self, camera: str, enabled: bool) -> None:
        self.calls.append(("enabled", camera, enabled))

    def snooze(self, camera: str, seconds: float) -> None:
        self.calls.append(("snooze", camera, seconds))


@given(payloads)
def test_fuzz_command_parsers_only_raise_value_error(payload):
    for parse in (parse_enabled, parse_snooze):
        try:
            value = parse(payload)
        except ValueError as exc:
            assert str(exc)  # says what was expected
        else:
            if parse is parse_snooze:
                assert isinstance(value, float) and math.isfinite(value) and 0 <= value <= 24 * 3600
            else:
                assert isinstance(value, bool)


@given(topic=st.sampled_from(["babymon/nursery/snooze/set", "babymon/nursery/enabled/set", "babymon/other/snooze/set",
                              "babymon/nursery/snooze/set/x", "babymon//enabled/set", "babymon/_announced"]),
       payload=payloads)
def test_fuzz_mqtt_handler_never_raises_and_passes_on_only_valid_commands(topic, payload):
    recorder = Recorder()
    client = MqttPublisher(MqttConfig(), {"nursery": "Nursery"}, {"nursery": 1800}, commands=recorder)
    if topic.endswith("_announced"):
        registry = parse_registry(payload)
        assert all(isinstance(k, str) and all(isinstance(t, str) for t in v) for k, v in registry.items())
        return
    client._handle_command(topic, payload)
    for kind, camera, value in recorder.calls:
        assert camera == "nursery"
        assert isinstance(value, bool) if kind == "enabled" else 0 <= value <= 24 * 3600


CONFIG_KEYS = ["mqtt", "cameras", "defaults", "http", "logging", "url", "name", "detect", "fps", "rules", "on_delay",
               "prone", "stream", "timeout", "host", "port", "token", "evidence", "path", "max_bytes", "tls",
               "insecure", "crib_region", "enabled", "password", "nursery"]
config_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
    | st.sampled_from(["rtsp://admin:pw@cam:bad/x", "rtsp://u:p#w@cam/x", "${NOT_SET}", "5m", "-1", "1e309"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(CONFIG_KEYS) | st.text(max_size=8), children, max_size=5),
    max_leaves=25)


def _check_config(path: Path, capsys) -> tuple[int, str]:
    try:
        code = main(["check-config", "-c", str(path)])
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@given(document=config_values.map(lambda value: {"defaults": {"analyzers": []}, "cameras": value})
       | config_values)
def test_fuzz_check_config_exits_0_or_2_on_any_yaml(document, capsys):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.yaml"
        path.write_text(yaml.safe_dump(document))
        code, output = _check_config(path, capsys)
    assert code in (0, 2), output
    assert "Traceback" not in output and "could not be checked" not in output  # no checker bug was hit


@given(text=st.binary(max_size=400) | st.text(max_size=400).map(str.encode)
       | st.sampled_from([b"a: " + b"[" * 5000, b"cameras:\n  x: rtsp://a:b@h:bad/\n", b"\xef\xbb\xbfcameras: 1",
                          b"&a [*a]", b"cameras: !!python/object:os.system {}"]))
def test_fuzz_check_config_exits_0_or_2_on_any_bytes(text, capsys):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.yaml"
        path.write_bytes(text)
        code, output = _check_config(path, capsys)
    assert code in (0, 2), output
    assert "Traceback" not in output and "could not be checked" not in output
