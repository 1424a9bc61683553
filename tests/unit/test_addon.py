"""The Home Assistant add-on (deploy/home-assistant-addon/) as far as it can be checked without building its image.

The manifest parses and its default options satisfy its own schema (checked by a small implementation of the
Supervisor's schema syntax below), every option is mapped by babymon.addon, the mapped options pass babymon's
real config validation, bad options are refused by name, and run.sh / Dockerfile hold what the add-on needs.
"""

from __future__ import annotations

import json
import re
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

import babymon
from babymon import addon
from babymon.config import load_config

ADDON = Path(__file__).resolve().parents[2] / "deploy" / "home-assistant-addon"
README = Path(__file__).resolve().parents[2] / "README.md"
MQTT = {"host": "core-mosquitto", "port": "1883", "username": "addons", "password": "s3cret-from-supervisor",
        "ssl": "false"}


def manifest() -> dict[str, Any]:
    return yaml.safe_load((ADDON / "config.yaml").read_text())


# ------------------------------------------------------------------ the Supervisor's option schema syntax

# one schema element: a type, optionally with bounds or choices, and '?' for an optional option
ELEMENT = re.compile(
    r"(?P<type>bool|email|url|port"
    r"|str(?:\((?P<s_min>\d+)?,(?P<s_max>\d+)?\))?"
    r"|password(?:\((?P<p_min>\d+)?,(?P<p_max>\d+)?\))?"
    r"|int(?:\((?P<i_min>-?\d+)?,(?P<i_max>-?\d+)?\))?"
    r"|float(?:\((?P<f_min>-?[\d.]+)?,(?P<f_max>-?[\d.]+)?\))?"
    r"|match\((?P<match>.*)\)"
    r"|list\((?P<choices>.+)\))"
    r"(?P<optional>\?)?"
)


def _bounds(m: re.Match[str], lo: str, hi: str, value: float, what: str) -> list[str]:
    low, high = m.group(lo), m.group(hi)
    if low is not None and value < float(low):
        return [f"{what} {value} is below {low}"]
    if high is not None and value > float(high):
        return [f"{what} {value} is above {high}"]
    return []


def check_element(rule: str, value: Any, path: str) -> list[str]:
    m = ELEMENT.fullmatch(rule)
    if m is None:
        return [f"{path}: {rule!r} is not a schema element the Supervisor knows"]
    kind = m.group("type").split("(")[0]
    if kind == "bool":
        return [] if isinstance(value, bool) else [f"{path}: expected a bool"]
    if kind in ("str", "password", "email", "url", "match"):
        if not isinstance(value, str):
            return [f"{path}: expected text"]
        if kind == "url" and not re.match(r"[a-z][a-z0-9+.-]*://[^/\s]+", value):
            return [f"{path}: not a URL"]
        if kind == "email" and not re.fullmatch(r"[^@\s]+@[^@\s]+", value):
            return [f"{path}: not an e-mail address"]
        if kind == "match" and not re.match(m.group("match"), value):
            return [f"{path}: does not match {m.group('match')}"]
        key = "s" if kind == "str" else "p"
        return _bounds(m, f"{key}_min", f"{key}_max", len(value), f"{path}: length") if kind in ("str", "password") else []
    if kind in ("int", "port"):
        if isinstance(value, bool) or not isinstance(value, int):
            return [f"{path}: expected a whole number"]
        if kind == "port":
            return [] if 1 <= value <= 65535 else [f"{path}: {value} is not a port"]
        return _bounds(m, "i_min", "i_max", value, path)
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return [f"{path}: expected a number"]
        return _bounds(m, "f_min", "f_max", value, path)
    choices = m.group("choices").split("|")
    return [] if value in choices else [f"{path}: {value!r} is not one of {choices}"]


def check_options(schema: Any, value: Any, path: str = "options") -> list[str]:
    """Problems of ``value`` against ``schema``: dicts (unknown and missing keys), lists of one element, elements."""
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            return [f"{path}: expected a mapping"]
        problems = [f"{path}.{key}: not in the schema" for key in value if key not in schema]
        for key, rule in schema.items():
            if key in value:
                problems += check_options(rule, value[key], f"{path}.{key}")
            elif not (isinstance(rule, str) and rule.endswith("?")):
                problems.append(f"{path}.{key}: required")
        return problems
    if isinstance(schema, list):
        if len(schema) != 1:
            return [f"{path}: a list schema holds exactly one element"]
        if not isinstance(value, list):
            return [f"{path}: expected a list"]
        return [p for i, item in enumerate(value) for p in check_options(schema[0], item, f"{path}[{i}]")]
    if not isinstance(schema, str):
        return [f"{path}: schema {schema!r} is neither an element, a mapping nor a list"]
    return check_element(schema, value, path)


def schema_elements(schema: Any, path: str = "schema"):
    if isinstance(schema, dict):
        for key, rule in schema.items():
            yield from schema_elements(rule, f"{path}.{key}")
    elif isinstance(schema, list):
        for rule in schema:
            yield from schema_elements(rule, f"{path}[]")
    else:
        yield path, schema


def test_the_checker_refuses_what_the_supervisor_would():
    schema = manifest()["schema"]
    good = manifest()["options"]
    assert check_options(schema, good) == []
    for change, where in [
        ({"detect_fps": 0}, "options.detect_fps"),
        ({"detect_fps": 31}, "options.detect_fps"),
        ({"detect_fps": "5"}, "options.detect_fps"),
        ({"face_detector": "mtcnn"}, "options.face_detector"),
        ({"cry_sensitivity": "max"}, "options.cry_sensitivity"),
        ({"http_token": "short"}, "options.http_token"),
        ({"cameras": [{"name": "Nursery"}]}, "options.cameras[0].url"),
        ({"cameras": [{"name": "Nursery", "url": "rtsp://x", "zoom": 2}]}, "options.cameras[0].zoom"),
        ({"surprise": 1}, "options.surprise"),
    ]:
        problems = check_options(schema, {**good, **change})
        assert any(p.startswith(where) for p in problems), (change, problems)
    assert check_element("int(1,30)?", 30, "x") == [] and check_element("list(a|b)", "c", "x") != []
    assert check_element("str(", "a", "x") != []  # not an element at all


# ------------------------------------------------------------------------------------------- the manifest


def test_manifest_is_a_home_assistant_addon_for_this_babymon():
    m = manifest()
    for key in ("name", "version", "slug", "description", "arch", "options", "schema"):
        assert m.get(key), key
    assert m["version"] == babymon.__version__
    assert m["slug"] == "babymon"
    assert set(m["arch"]) == {"amd64", "aarch64"}
    assert m["init"] is False and m["startup"] == "application" and m["boot"] == "auto"
    assert m["services"] == ["mqtt:need"]
    assert "share:rw" in m["map"] and addon.SHARE.parts[:2] == ("/", "share")  # the paths the mapping writes
    assert "8765/tcp" in m["ports"] and "8765/tcp" in m["ports_description"]
    build = yaml.safe_load((ADDON / "build.yaml").read_text())
    assert set(build["build_from"]) == set(m["arch"])


def test_every_schema_element_is_supervisor_syntax():
    elements = list(schema_elements(manifest()["schema"]))
    assert elements
    for path, rule in elements:
        assert isinstance(rule, str) and ELEMENT.fullmatch(rule), (path, rule)


def test_default_options_satisfy_the_schema_and_hold_no_optional_option():
    m = manifest()
    assert check_options(m["schema"], m["options"]) == []
    # a default given for an option makes the Supervisor treat it as required: optional ones have none
    optional = {key for key, rule in m["schema"].items() if isinstance(rule, str) and rule.endswith("?")}
    assert optional and not optional & set(m["options"])


def test_every_option_is_mapped_and_described():
    schema = manifest()["schema"]
    assert set(schema) == addon.OPTION_KEYS
    assert set(schema["cameras"][0]) == addon.CAMERA_OPTION_KEYS
    translations = yaml.safe_load((ADDON / "translations" / "en.yaml").read_text())
    assert set(translations["configuration"]) == set(schema)
    assert set(translations["network"]) == set(manifest()["ports"])
    assert schema["log_level"] == f"list({'|'.join(addon.LOG_LEVELS)})"


@pytest.mark.parametrize("option, value", [
    ("detect_fps", 2), ("face_detector", "retinaface"), ("cry_sensitivity", "high"),
    ("http_token", "a-long-random-token-0123"), ("log_level", "debug"),
    ("cameras", [{"name": "Nursery", "url": "rtsp://192.168.1.21/sub"}]),
])
def test_each_option_changes_the_config(option, value):
    options = manifest()["options"]
    changed = addon.options_to_config({**options, option: value}, MQTT)
    assert changed != addon.options_to_config(options, MQTT), option
    assert check_options(manifest()["schema"], {**options, option: value}) == []


def test_camera_options_change_the_camera():
    options = manifest()["options"]
    camera = {"key": "crib", "name": "Crib", "url": "rtsp://192.168.1.21/sub", "crib_region": "0.2, 0.1, 0.8, 0.9"}
    config = addon.options_to_config({**options, "cameras": [camera]}, MQTT)
    assert config["cameras"] == {"crib": {"url": "rtsp://192.168.1.21/sub", "name": "Crib",
                                          "crib_region": [0.2, 0.1, 0.8, 0.9]}}


# ------------------------------------------------------------------------------------------- the mapping


def test_default_options_make_a_config_babymon_accepts(tmp_path):
    config = addon.options_to_config(manifest()["options"], MQTT)
    path = tmp_path / "babymon.yaml"
    addon.write_config(config, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # the broker's password is in it
    loaded = load_config(path, env={})
    assert list(loaded.cameras) == ["nursery"] and loaded.camera_name("nursery") == "Nursery"
    assert loaded.cameras["nursery"].url == "rtsp://192.168.1.20:554/stream2"
    assert loaded.mqtt.host == "core-mosquitto" and loaded.mqtt.port == 1883
    assert loaded.mqtt.username == "addons" and loaded.mqtt.password.get_secret_value() == "s3cret-from-supervisor"
    assert not loaded.mqtt.tls.enabled
    assert loaded.cameras["nursery"].detect.fps == 5
    assert loaded.cameras["nursery"].vision.face_detector == "yunet"
    assert loaded.cameras["nursery"].cry.sensitivity == "normal"
    assert loaded.logging.level == "INFO"
    assert loaded.http.host == "127.0.0.1" and loaded.http.token is None and loaded.http.port == 8765
    assert loaded.http.evidence.path == Path("/share/babymon/evidence")
    assert loaded.nursery.path == Path("/share/babymon/nursery")


def test_a_token_opens_the_web_page_to_the_port_mapping(tmp_path):
    options = {**manifest()["options"], "http_token": "a-long-random-token-0123", "face_detector": "retinaface",
               "cry_sensitivity": "low", "detect_fps": 2, "log_level": "warning"}
    path = tmp_path / "babymon.yaml"
    addon.write_config(addon.options_to_config(options, {**MQTT, "ssl": "true", "port": 8883}), path)
    loaded = load_config(path, env={})
    assert loaded.http.host == "0.0.0.0" and loaded.http.token.get_secret_value() == "a-long-random-token-0123"
    assert loaded.mqtt.tls.enabled and loaded.mqtt.port == 8883
    camera = loaded.cameras["nursery"]
    assert (camera.detect.fps, camera.vision.face_detector, camera.cry.sensitivity) == (2, "retinaface", "low")
    assert loaded.logging.level == "WARNING"


def test_camera_keys_come_from_names_and_are_unique():
    cameras = [{"name": "Nursery", "url": "rtsp://10.0.0.1/a"}, {"name": "nursery", "url": "rtsp://10.0.0.2/a"},
               {"name": "Kid's Room!", "url": "rtsp://10.0.0.3/a"}, {"name": "???", "url": "rtsp://10.0.0.4/a"},
               {"key": "nursery_3", "name": "Other", "url": "rtsp://10.0.0.5/a"},
               {"name": "Nursery", "url": "rtsp://10.0.0.6/a"}]
    config = addon.options_to_config({"cameras": cameras}, MQTT)
    assert list(config["cameras"]) == ["nursery", "nursery_2", "kid_s_room", "camera", "nursery_3", "nursery_4"]
    assert addon.camera_key("Chambre d'Émile") == "chambre_d_mile"
    assert addon.camera_key("x" * 100) == "x" * 63


def refused(options: dict[str, Any], mqtt: dict[str, Any] = MQTT) -> list[str]:
    with pytest.raises(addon.AddonOptionsError) as err:
        addon.options_to_config(options, mqtt)
    return err.value.problems


@pytest.mark.parametrize("change, option, says", [
    ({"cameras": [{"name": "A", "url": "rtsp://10.0.0.1/a"}, {"name": "B"}]}, "cameras[1].url", "required"),
    ({"cameras": [{"name": "A", "url": "rtsp://10.0.0.1/a"}, {"name": "B", "url": "rtsp://10.0.0.2/a",
                                                            "crib_region": "1,2"}]},
     "cameras[1].crib_region", "four numbers"),
    ({"cameras": [{"name": "A", "url": "rtsp://10.0.0.1/a", "crib_region": "0.8,0.1,0.2,0.9"}]},
     "cameras[0].crib_region", "x1 < x2"),  # babymon's own message, named by the option
    ({"cameras": [{"name": "A", "url": "rtsp://10.0.0.1/a", "crib_region": "0,0,1,2"}]},
     "cameras[0].crib_region", "0..1"),
    ({"cameras": [{"name": "A", "url": "nursery-camera"}]}, "cameras[0].url", "neither an rtsp:// URL"),
    ({"cameras": [{"name": "A", "url": "rtsp://admin:pw@10.0.0.1:99999/a"}]}, "cameras[0].url", "port"),
    ({"cameras": [{"key": "Nursery!", "name": "A", "url": "rtsp://10.0.0.1/a"}]}, "cameras[0].key", "lower-case"),
    ({"cameras": [{"key": "crib", "name": "A", "url": "rtsp://10.0.0.1/a"},
                  {"key": "crib", "name": "B", "url": "rtsp://10.0.0.2/a"}]}, "cameras[1].key", "cameras[0]"),
    ({"cameras": []}, "cameras", "at least one camera"),
    ({"detect_fps": 50}, "detect_fps", "30"),
    ({"face_detector": "mtcnn"}, "face_detector", "yunet"),
    ({"cry_sensitivity": "max"}, "cry_sensitivity", "normal"),
    ({"http_token": "short"}, "http_token", "16 characters"),
    ({"log_level": "loud"}, "log_level", "debug, info, warning, error"),
    ({"surprise": True}, "surprise", "unknown option"),
])
def test_bad_options_are_refused_by_name(change, option, says):
    problems = refused({**manifest()["options"], **change})
    named = [p for p in problems if p.startswith(f"{option}: ")]
    assert named and says in named[0], problems


def test_no_broker_is_refused_and_passwords_stay_out_of_messages():
    problems = refused(manifest()["options"], {})
    assert problems and problems[0].startswith("MQTT service: ") and "Mosquitto" in problems[0]
    problems = refused({**manifest()["options"], "cameras": [{"name": "A", "url": "rtsp://u:topsecret@h:x/a"}]})
    assert problems[0].startswith("cameras[0].url: ") and "topsecret" not in "\n".join(problems)
    problems = refused(manifest()["options"], {**MQTT, "port": "mqtt"})
    assert problems == ["MQTT service: port 'mqtt' is not a number"]


def test_main_writes_the_config_from_options_json_and_the_mqtt_environment(tmp_path, monkeypatch, capsys):
    options = tmp_path / "options.json"
    options.write_text(json.dumps(manifest()["options"]))
    for name, var in addon.MQTT_ENV.items():
        monkeypatch.setenv(var, str(MQTT[name]))
    out = tmp_path / "babymon.yaml"
    assert addon.main([str(options), str(out)]) == 0
    assert load_config(out, env={}).mqtt.host == "core-mosquitto"
    assert "s3cret" not in capsys.readouterr().err

    options.write_text(json.dumps({**manifest()["options"], "cameras": [{"name": "A"}]}))
    out.unlink()
    assert addon.main([str(options), str(out)]) == addon.EXIT_CONFIG
    assert "cameras[0].url: required" in capsys.readouterr().err and not out.exists()
    options.write_text("{not json")
    assert addon.main([str(options), str(out)]) == addon.EXIT_CONFIG
    assert addon.main([]) == addon.EXIT_CONFIG


def test_the_module_runs_as_run_sh_calls_it(tmp_path):
    import sys

    options = tmp_path / "options.json"
    options.write_text(json.dumps(manifest()["options"]))
    env = {"BABYMON_MQTT_HOST": "core-mosquitto", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-m", "babymon.addon", str(options), str(tmp_path / "b.yaml")],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert load_config(tmp_path / "b.yaml", env={}).mqtt.host == "core-mosquitto"


# ------------------------------------------------------------------------------- run.sh, Dockerfile, README


def test_run_sh_is_valid_bash_and_runs_the_mapping_then_babymon():
    run = ADDON / "run.sh"
    result = subprocess.run(["bash", "-n", str(run)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    text = run.read_text()
    assert text.startswith("#!/usr/bin/with-contenv bashio\n")
    assert run.stat().st_mode & stat.S_IXUSR
    assert "python3 -m babymon.addon /data/options.json" in text.replace('"${OPTIONS}"', "/data/options.json")
    exported = next(line for line in text.splitlines() if line.startswith("export BABYMON_MQTT_"))
    assert set(exported.split()[1:]) == set(addon.MQTT_ENV.values())
    assert 'bashio::services "mqtt" "host"' in text
    assert "babymon models download" in text
    assert text.rstrip().endswith('exec babymon run -c "${CONFIG}"')
    if shutil.which("shellcheck"):
        result = subprocess.run(["shellcheck", "-x", str(run)], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout


def test_dockerfile_builds_from_the_base_image_and_installs_the_wheel():
    lines = [line.strip() for line in (ADDON / "Dockerfile").read_text().splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    assert lines[0] == "ARG BUILD_FROM" and lines[1] == "FROM $BUILD_FROM"
    text = "\n".join(lines)
    assert "COPY babymon-*.whl" in text and re.search(r"pip install .*babymon-\*\.whl", text)
    assert "ffmpeg" in text and "BABYMON_MODEL_DIR=/share/babymon/models" in text
    assert str(addon.MODEL_DIR) == "/share/babymon/models"
    assert "COPY run.sh /run.sh" in text and lines[-1] == 'CMD ["/run.sh"]'


def test_readmes_say_the_image_is_not_built_or_tested():
    assert "has not been built or tested" in (ADDON / "README.md").read_text()
    section = README.read_text().split("## Running as a service", 1)[1].split("\n## ", 1)[0]
    assert "deploy/home-assistant-addon/" in section and "not yet built or tested" in section
    assert "tests/unit/test_addon.py" in section
