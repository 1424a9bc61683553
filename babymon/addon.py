"""Home Assistant add-on: the add-on's options (``/data/options.json``) → a babymon configuration file.

The add-on (``deploy/home-assistant-addon/``) declares a few options in its ``config.yaml``; the Supervisor
checks them against that file's ``schema`` and writes them to ``/data/options.json``. Its ``run.sh`` then runs::

    python3 -m babymon.addon /data/options.json /data/babymon.yaml

with the broker the Supervisor provides (``services: mqtt:need``) in ``BABYMON_MQTT_HOST``, ``_PORT``,
``_USERNAME``, ``_PASSWORD`` and ``_SSL``. The result is validated by babymon's own loader before it is written;
anything wrong is reported by option name (``cameras[1].url: …``) and the exit code is 2, as ``check-config``'s.

Files live under ``/share/babymon/`` (the add-on maps ``share:rw``), so they can be reached with the Samba or
SSH add-ons: ``evidence/`` (event list, snapshots, clips), ``nursery/`` (frames kept for labelling) and
``models/`` (``$BABYMON_MODEL_DIR``, set by the add-on's Dockerfile).
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import yaml

from babymon.config import CAMERA_KEY, ConfigError, parse_config

SHARE = Path("/share/babymon")
EVIDENCE_PATH = SHARE / "evidence"
NURSERY_PATH = SHARE / "nursery"
MODEL_DIR = SHARE / "models"

#: the add-on's options (its config.yaml ``schema``) and, for each camera, its keys
OPTION_KEYS = frozenset({"cameras", "detect_fps", "face_detector", "cry_sensitivity", "http_token", "log_level"})
CAMERA_OPTION_KEYS = frozenset({"key", "name", "url", "crib_region"})
LOG_LEVELS = ("debug", "info", "warning", "error")

MQTT_ENV = {"host": "BABYMON_MQTT_HOST", "port": "BABYMON_MQTT_PORT", "username": "BABYMON_MQTT_USERNAME",
            "password": "BABYMON_MQTT_PASSWORD", "ssl": "BABYMON_MQTT_SSL"}
EXIT_CONFIG = 2  # as babymon.cli.EXIT_CONFIG: a configuration that restarting will not fix

# babymon's field paths (as ConfigError names them) → the add-on option a user can change
_OPTION_FOR_PATH = {
    "defaults.detect.fps": "detect_fps",
    "defaults.vision.face_detector": "face_detector",
    "defaults.cry.sensitivity": "cry_sensitivity",
    "http.token": "http_token",
    "logging.level": "log_level",
}


class AddonOptionsError(Exception):
    """Options that do not make a babymon configuration; ``problems`` holds one ``option: message`` each."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("add-on options refused:\n" + "\n".join(f"  - {p}" for p in problems))


def camera_key(name: str) -> str:
    """A camera key (lower-case letters, digits, '_'; it becomes an MQTT topic) from a display name."""
    key = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:63].rstrip("_")
    return key or "camera"


def _crib_region(text: Any, where: str, problems: list[str]) -> list[float] | None:
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    parts = str(text).strip().strip("[]").split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 4:
        problems.append(f"{where}: expected four numbers x1,y1,x2,y2 (fractions of the frame, "
                        f"e.g. 0.2,0.1,0.8,0.9), got {str(text)!r}")
        return None
    return values


def _cameras(raw: Any, problems: list[str]) -> tuple[dict[str, dict[str, Any]], dict[str, int]]:
    """The ``cameras`` option → babymon's ``cameras`` mapping, and each key's index in the option's list."""
    if not isinstance(raw, list) or not raw:
        problems.append("cameras: at least one camera is required (name and url)")
        return {}, {}
    cameras: dict[str, dict[str, Any]] = {}
    index: dict[str, int] = {}
    explicit = {str(c["key"]) for c in raw if isinstance(c, dict) and c.get("key")}
    for i, item in enumerate(raw):
        where = f"cameras[{i}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: expected a camera with name and url")
            continue
        for unknown in sorted(set(item) - CAMERA_OPTION_KEYS):
            problems.append(f"{where}.{unknown}: unknown key (a camera has {', '.join(sorted(CAMERA_OPTION_KEYS))})")
        url = item.get("url")
        if not isinstance(url, str) or not url.strip():
            problems.append(f"{where}.url: required: the camera's rtsp:// URL (its sub-stream, e.g. "
                            "rtsp://user:password@192.168.1.20:554/stream2)")
        name = item.get("name")
        if name is not None and not isinstance(name, str):
            problems.append(f"{where}.name: expected text")
            name = None
        name = name.strip() if name else None
        key = item.get("key")
        if key:
            key = str(key)
            if not CAMERA_KEY.fullmatch(key):
                problems.append(f"{where}.key: {key!r} must be lower-case letters, digits and '_' "
                                "(it becomes an MQTT topic)")
                continue
            if key in cameras:
                problems.append(f"{where}.key: {key!r} is already used by cameras[{index[key]}]")
                continue
        else:  # from the name, unique among the keys given and those derived so far
            base = camera_key(name or f"camera_{i + 1}")
            key, n = base, 2
            while key in cameras or key in explicit:
                key, n = f"{base[:60]}_{n}", n + 1
        camera: dict[str, Any] = {"url": url.strip() if isinstance(url, str) else url}
        if name:
            camera["name"] = name
        region = _crib_region(item.get("crib_region"), f"{where}.crib_region", problems)
        if region is not None:
            camera["crib_region"] = region
        cameras[key] = camera
        index[key] = i
    return cameras, index


def _mqtt(mqtt: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    host = str(mqtt.get("host") or "").strip()
    if not host:
        problems.append("MQTT service: no broker host; install and start the Mosquitto broker add-on "
                        "(the add-on needs the Supervisor's MQTT service)")
    config: dict[str, Any] = {"host": host or "localhost"}
    port = mqtt.get("port")
    if port not in (None, ""):
        try:
            config["port"] = int(port)
        except (TypeError, ValueError):
            problems.append(f"MQTT service: port {port!r} is not a number")
    for name in ("username", "password"):
        if mqtt.get(name):
            config[name] = str(mqtt[name])
    if str(mqtt.get("ssl", "")).strip().lower() in ("1", "true", "yes", "on"):
        config["tls"] = {"enabled": True}
    return config


def _option_path(path: str, index: dict[str, int]) -> str:
    """babymon's field path (``cameras.nursery.crib_region``) → the add-on option (``cameras[0].crib_region``)."""
    if path in _OPTION_FOR_PATH:
        return _OPTION_FOR_PATH[path]
    parts = path.split(".")
    if parts[0] == "cameras" and len(parts) > 1 and parts[1] in index:
        return ".".join([f"cameras[{index[parts[1]]}]", *parts[2:]])
    if parts[0] == "mqtt":
        return f"MQTT service ({path})"
    return path


def options_to_config(options: dict[str, Any], mqtt: dict[str, Any]) -> dict[str, Any]:
    """The add-on's options and the Supervisor's MQTT service → babymon's configuration, as a dict.

    ``mqtt`` holds ``host``, ``port``, ``username``, ``password`` and ``ssl`` as the Supervisor's services API
    gives them. The result has been validated by :func:`babymon.config.parse_config`; anything wrong raises
    :class:`AddonOptionsError` naming the option.
    """
    if not isinstance(options, dict):
        raise AddonOptionsError(["(options): expected a mapping of the add-on's options"])
    problems = [f"{key}: unknown option" for key in sorted(set(options) - OPTION_KEYS)]
    cameras, index = _cameras(options.get("cameras"), problems)
    config: dict[str, Any] = {"mqtt": _mqtt(mqtt, problems), "defaults": {}, "cameras": cameras}
    defaults = config["defaults"]
    if options.get("detect_fps") is not None:
        defaults["detect"] = {"fps": options["detect_fps"]}
    if options.get("face_detector") is not None:
        defaults["vision"] = {"face_detector": options["face_detector"]}
    if options.get("cry_sensitivity") is not None:
        defaults["cry"] = {"sensitivity": options["cry_sensitivity"]}
    level = options.get("log_level")
    if level is not None:
        if str(level).lower() not in LOG_LEVELS:
            problems.append(f"log_level: {level!r} is not one of {', '.join(LOG_LEVELS)}")
        config["logging"] = {"level": str(level).upper()}
    token = options.get("http_token")
    # reachable through the add-on's port mapping (8765/tcp) only with a token; without one, inside the
    # container only (babymon refuses a listener off loopback without a token)
    http: dict[str, Any] = {"enabled": True, "host": "0.0.0.0" if token else "127.0.0.1", "port": 8765}
    if token:
        http["token"] = str(token)
    http["evidence"] = {"path": str(EVIDENCE_PATH)}
    config["http"] = http
    config["nursery"] = {"path": str(NURSERY_PATH)}
    if problems:
        raise AddonOptionsError(problems)
    try:
        parse_config(config, "add-on options")
    except ConfigError as exc:
        problems = []
        for problem in exc.problems:
            path, sep, message = problem.partition(": ")
            problems.append(f"{_option_path(path, index)}: {message}" if sep else problem)
        raise AddonOptionsError(problems) from None
    return config


def mqtt_from_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The MQTT service as run.sh passes it (``BABYMON_MQTT_HOST`` …); unset variables are left out."""
    env = dict(os.environ) if env is None else env
    return {name: env[var] for name, var in MQTT_ENV.items() if env.get(var, "") != ""}


def write_config(config: dict[str, Any], path: Path) -> None:
    """Write the YAML readable by its owner only (it holds the broker's password and the HTTP token)."""
    text = ("# written by `python -m babymon.addon` from the add-on's options at every start: edit the options, "
            "not this file\n" + yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] in ("-h", "--help"):
        print("usage: python -m babymon.addon OPTIONS_JSON OUT_YAML  (MQTT from $" + ", $".join(MQTT_ENV.values())
              + ")", file=sys.stderr)
        return 0 if args[:1] in (["-h"], ["--help"]) else EXIT_CONFIG
    source, out = Path(args[0]), Path(args[1])
    try:
        options = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        print(f"babymon: {source}: cannot read the add-on options: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        config = options_to_config(options, mqtt_from_env())
    except AddonOptionsError as exc:
        print(f"babymon: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    write_config(config, out)
    names = ", ".join(f"{key} ({cam.get('name', key)})" for key, cam in config["cameras"].items())
    print(f"babymon: wrote {out}: cameras {names}; broker {config['mqtt']['host']}:{config['mqtt'].get('port', 1883)}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
