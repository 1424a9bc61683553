"""Configuration: YAML file → validated, typed settings.

Loading does three things, in order:

1. parse the YAML and substitute ``${ENV_VAR}`` (or ``${ENV_VAR:-default}``) in every string,
2. validate ``defaults`` on its own, then merge it under every camera (a camera's keys win),
3. validate the whole document with unknown keys refused.

Any failure raises :class:`ConfigError`, whose lines each name the field path (``cameras.nursery.detect.fps``)
and what is wrong. Secrets (the MQTT password, credentials in camera URLs) never appear in messages:
use :func:`redact_url` before logging a URL.
"""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from babymon.config_values import parse_duration, parse_size
from babymon.redact import redact_url  # noqa: F401 - re-exported: the config is where users look for it

CAMERA_KEY = re.compile(r"[a-z0-9][a-z0-9_]{0,62}")  # used with fullmatch: no trailing newline either
TOPIC_SEGMENT = re.compile(r"^[^/#+\s]+(/[^/#+\s]+)*$")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigError(Exception):
    """A configuration that must not be started. ``problems`` holds one ``path: message`` per line."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: invalid configuration\n" + "\n".join(f"  - {p}" for p in problems))


Seconds = Annotated[float, BeforeValidator(parse_duration), Field(ge=0)]
UserPath = Annotated[Path, AfterValidator(Path.expanduser)]  # "~" is the user's home


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TlsConfig(_Strict):
    enabled: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    insecure: bool = Field(False, description="skip only the host-name check (a broker certificate issued for another name); the certificate must still be signed by ca_file or a system CA")

    @field_validator("ca_file", "cert_file", "key_file")
    @classmethod
    def _file_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"file '{value}' does not exist")
        return value


class MqttConfig(_Strict):
    host: str = "localhost"
    port: int = Field(1883, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    client_id: str | None = None
    keepalive: int = Field(30, ge=5, le=3600)
    tls: TlsConfig = TlsConfig()
    topic_prefix: str = "babymon"
    discovery: bool = True
    discovery_prefix: str = "homeassistant"
    discovery_schema: Literal["device", "entity"] = Field(
        "device", description="device: one discovery message per camera (Home Assistant 2024.11 and newer); "
        "entity: one per entity (older Home Assistant). Changing it moves the entities, ids and settings kept")
    event_queue_size: int = Field(1000, ge=1, le=100_000, description="events kept while the broker is away")
    reconnect_initial: Seconds = 1.0
    reconnect_max: Seconds = 60.0

    @field_validator("topic_prefix", "discovery_prefix")
    @classmethod
    def _topic(cls, value: str) -> str:
        if not TOPIC_SEGMENT.match(value):
            raise ValueError(f"'{value}' is not a valid MQTT topic prefix (no '#', '+', spaces or empty levels)")
        return value


class DetectConfig(_Strict):
    fps: float = Field(5.0, gt=0, le=30, description="frames analysed per second")
    width: int = Field(640, ge=64, le=3840, description="frames are scaled to this width before analysis")
    height: int | None = Field(None, ge=64, le=2160, description="default: keep the stream's aspect ratio")


class StreamConfig(_Strict):
    transport: Literal["tcp", "udp"] = "tcp"
    timeout: Seconds = Field(10.0, description="connect and read timeout")
    retry_initial: Seconds = 1.0
    retry_max: Seconds = Field(10.0, description="longest wait between reconnects: a camera that is back is picked up quickly")
    audio: bool = Field(True, description="decode the audio track (16 kHz mono) when there is one")


class VisionConfig(_Strict):
    face_detector: Literal["yunet", "retinaface"] = Field(
        "yunet", description="yunet: fast (default); retinaface: the accurate one (needs a one-time export, see README)"
    )
    smoothing_seconds: Seconds = Field(1.0, description="time constant of the per-frame smoothing of face state and posture")
    reuse_unchanged_seconds: Seconds = Field(1.0, le=5.0, description="when the crib region has not changed since the "
                                             "last full analysis, carry its decisions forward for at most this long "
                                             "(0 = run the models on every frame)")
    models: UserPath | None = Field(None, description="a folder of heads refitted to your nursery (`babymon train nursery`); "
                                                  "default: the shipped heads")

    @field_validator("models")
    @classmethod
    def _models_folder(cls, value: Path | None) -> Path | None:
        if value is None:
            return value
        from babymon.nursery.heads import check_heads_folder

        check_heads_folder(value)  # raises ValueError naming the file and what is wrong
        return value


class RuleConfig(_Strict):
    enabled: bool = True
    on_delay: Seconds = Field(5.0, description="the condition must hold this long before it turns on")
    off_delay: Seconds = Field(10.0, description="the condition must be absent this long before it turns off")


RULE_DEFAULTS: dict[str, RuleConfig] = {
    "face_covered": RuleConfig(on_delay=3, off_delay=10),
    "prone": RuleConfig(on_delay=10, off_delay=10),
    "standing": RuleConfig(on_delay=3, off_delay=10),
    "crying": RuleConfig(on_delay=2, off_delay=15),
    "monitor_unavailable": RuleConfig(on_delay=10, off_delay=0),
}


class RulesConfig(_Strict):
    face_covered: RuleConfig = RULE_DEFAULTS["face_covered"]
    prone: RuleConfig = RULE_DEFAULTS["prone"]
    standing: RuleConfig = RULE_DEFAULTS["standing"]
    crying: RuleConfig = RULE_DEFAULTS["crying"]
    monitor_unavailable: RuleConfig = RULE_DEFAULTS["monitor_unavailable"]

    @model_validator(mode="before")
    @classmethod
    def _keep_unset_timings(cls, data: Any) -> Any:
        """``prone: {on_delay: 30}`` changes only that: the rest comes from prone's own defaults."""
        if not isinstance(data, dict):
            return data
        return {
            key: {**RULE_DEFAULTS[key].model_dump(), **value}
            if key in RULE_DEFAULTS and isinstance(value, dict) else value
            for key, value in data.items()
        }

    def get(self, condition: str) -> RuleConfig:
        return getattr(self, condition)


class CryConfig(_Strict):
    sensitivity: Literal["low", "normal", "high"] = Field(
        "normal", description="cry alert threshold measured on validation: low ~1 %, normal ~2 %, high ~5 % false alarms")


class CameraSettings(_Strict):
    """Everything a camera may set; ``defaults`` holds the same keys for all cameras."""

    detect: DetectConfig = DetectConfig()
    stream: StreamConfig = StreamConfig()
    rules: RulesConfig = RulesConfig()
    vision: VisionConfig = VisionConfig()
    cry: CryConfig = CryConfig()
    analyzers: list[str] = Field(
        default_factory=lambda: ["vision", "cry"],
        description="analyzer names from the registry, or 'module:Class' paths",
    )
    crib_region: tuple[float, float, float, float] | None = Field(
        None, description="x1, y1, x2, y2 as fractions of the frame (0..1)"
    )
    stall_timeout: Seconds = Field(5.0, gt=0, description="no analysed frame for this long = not monitoring")
    snooze_minutes: float = Field(30, gt=0, le=24 * 60, description="length of a snooze from the HA button")
    state_interval: Seconds = Field(10.0, description="re-publish the JSON state at least this often; 0 = every frame")

    @field_validator("crib_region")
    @classmethod
    def _region(cls, value: tuple[float, float, float, float] | None):
        if value is None:
            return value
        x1, y1, x2, y2 = value
        if not all(0.0 <= v <= 1.0 for v in value):
            raise ValueError("coordinates are fractions of the frame and must lie in 0..1")
        if not (x1 < x2 and y1 < y2):
            raise ValueError("expected [x1, y1, x2, y2] with x1 < x2 and y1 < y2")
        return value


class CameraConfig(CameraSettings):
    url: str = Field(description="rtsp://, rtsps://, file:// URL or a local video file path")
    name: str | None = Field(None, description="display name in Home Assistant")
    enabled: bool = True
    realtime: bool = Field(True, description="files only: play at the file's own speed")
    loop: bool = Field(False, description="files only: start over at the end")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        try:
            parts = urlsplit(value)
            scheme = parts.scheme.lower()
            if scheme in ("rtsp", "rtsps", "rtmp", "http", "https"):
                parts.port  # noqa: B018 - raises ValueError for a port that is not a number in 0..65535
        except ValueError:
            raise ValueError(f"'{redact_url(value)}' is not a valid URL: its port is not a number from 0 to 65535 "
                             "(in a password, write '/' '?' '#' '@' percent-encoded: %2F %3F %23 %40)") from None
        if scheme in ("rtsp", "rtsps", "rtmp", "http", "https"):
            if not parts.hostname:
                raise ValueError(f"'{redact_url(value)}' has no host name")
            return value
        path = Path(value[len("file://"):] if scheme == "file" else value)
        if scheme not in ("", "file") or not path.is_file():
            raise ValueError(f"'{redact_url(value)}' is neither an rtsp:// URL nor an existing video file")
        return value

    @property
    def is_file(self) -> bool:
        return urlsplit(self.url).scheme.lower() in ("", "file")


class LoggingConfig(_Strict):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


Bytes = Annotated[int, BeforeValidator(parse_size), Field(ge=0)]


class EvidenceConfig(_Strict):
    path: UserPath = Field(Path("~/.local/share/babymon/evidence"), validate_default=True,
                           description="event list, snapshots and clips")
    max_age: Seconds = Field(14 * 24 * 3600.0, gt=0, description="evidence older than this is deleted")
    max_bytes: Bytes = Field(1_000_000_000, ge=1, description="oldest evidence is deleted beyond this")
    clip_seconds: Seconds = Field(0.0, le=120, description="video clip around each danger event; 0 = off")


class NurseryConfig(_Strict):
    path: UserPath = Field(Path("~/.local/share/babymon/nursery"), validate_default=True,
                           description="frames kept for labelling, one folder per camera (`babymon nursery capture`, /label)")
    keep_alert_frames: bool = Field(True, description="keep the frame every alert started on, for labelling")
    max_alert_frames: int = Field(500, ge=1, description="per camera, the newest this many alert frames that are "
                                                         "neither labelled nor marked wrong are kept; older ones go")


class HttpConfig(_Strict):
    enabled: bool = True
    host: str = Field("127.0.0.1", description="address to listen on; anything but loopback needs a token")
    port: int = Field(8765, ge=1, le=65535)
    token: SecretStr | None = Field(None, validate_default=True,
                                    description="required as 'Authorization: Bearer …' or '?token=…'")
    evidence: EvidenceConfig = EvidenceConfig()
    advertise_url: str | None = Field(None, description="the address Home Assistant reaches this web page at, "
                                                        "announced on MQTT for its live camera (default: "
                                                        "http://<host>:<port>, or this machine's name when host is "
                                                        "0.0.0.0)")

    @field_validator("advertise_url")
    @classmethod
    def _advertise(cls, value: str | None) -> str | None:
        if value is None:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
            raise ValueError(f"'{value}' is not an http:// or https:// address of a host (no path)")
        return value.rstrip("/")

    def public_url(self) -> str:
        """What is announced on MQTT: ``advertise_url``, else ``http://<host>:<port>`` (this machine's name when
        it listens on every address)."""
        if self.advertise_url:
            return self.advertise_url
        host = self.host
        if host in ("0.0.0.0", "::", ""):
            import socket

            host = socket.gethostname()
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    @field_validator("token")
    @classmethod
    def _token_off_loopback(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        host = info.data.get("host", "127.0.0.1")
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters")
        if value is None and host not in LOOPBACK_HOSTS:
            raise ValueError(f"required when http.host is '{host}' (not loopback): set a long random token")
        return value


class Config(_Strict):
    mqtt: MqttConfig = MqttConfig()
    defaults: CameraSettings = CameraSettings()
    cameras: dict[str, CameraConfig]
    logging: LoggingConfig = LoggingConfig()
    http: HttpConfig = HttpConfig()
    nursery: NurseryConfig = NurseryConfig()

    @field_validator("cameras")
    @classmethod
    def _camera_keys(cls, cameras: dict[str, CameraConfig]) -> dict[str, CameraConfig]:
        if not cameras:
            raise ValueError("at least one camera is required")
        for key in cameras:
            if not CAMERA_KEY.fullmatch(key):
                raise ValueError(f"camera key {key!r} must be lower-case letters, digits and '_' (it becomes an MQTT topic)")
        return cameras

    def camera_name(self, key: str) -> str:
        return self.cameras[key].name or key.replace("_", " ").title()


# --------------------------------------------------------------------------------------------- loading


def _substitute_env(node: Any, path: str, env: dict[str, str], problems: list[str]) -> Any:
    if isinstance(node, dict):
        return {k: _substitute_env(v, f"{path}.{k}" if path else str(k), env, problems) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute_env(v, f"{path}.{i}", env, problems) for i, v in enumerate(node)]
    if isinstance(node, str):

        def replace(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            problems.append(f"{path}: environment variable {name} is not set")
            return ""

        return _ENV_REF.sub(replace, node)
    return node


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _format_errors(error: ValidationError, prefix: str = "") -> list[str]:
    problems = []
    for item in error.errors():
        loc = ".".join(str(p) for p in item["loc"])
        path = f"{prefix}.{loc}" if prefix and loc else (prefix or loc or "(top level)")
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown key"
        elif item["type"] == "missing":
            message = "required field is missing"
        message = message.removeprefix("Value error, ")
        problems.append(f"{path}: {message}")
    return problems


def parse_config(raw: Any, source: str = "<config>", env: dict[str, str] | None = None) -> Config:
    """Validate an already-parsed YAML document."""
    if not isinstance(raw, dict):
        raise ConfigError(source, ["(top level): expected a mapping with at least 'cameras'"])
    problems: list[str] = []
    raw = _substitute_env(raw, "", dict(os.environ) if env is None else env, problems)
    if problems:
        raise ConfigError(source, problems)

    defaults_raw = raw.get("defaults") or {}
    if not isinstance(defaults_raw, dict):
        raise ConfigError(source, ["defaults: expected a mapping"])
    try:
        CameraSettings.model_validate(defaults_raw)
    except ValidationError as exc:
        raise ConfigError(source, _format_errors(exc, "defaults")) from None

    cameras_raw = raw.get("cameras")
    if isinstance(cameras_raw, dict):
        merged = {}
        for key, camera in cameras_raw.items():
            if isinstance(camera, str):  # shorthand: `nursery: rtsp://...`
                camera = {"url": camera}
            merged[key] = _deep_merge(defaults_raw, camera) if isinstance(camera, dict) else camera
        raw = {**raw, "cameras": merged}
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(source, _format_errors(exc)) from None


def load_config(path: str | Path, env: dict[str, str] | None = None) -> Config:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(str(path), [f"cannot read the file: {exc.strerror or exc}"]) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(str(path), [f"line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
                                      f"{exc.start}); save the file as UTF-8"]) from None
    return parse_config_text(text, str(path), env)


def parse_config_text(text: str, source: str = "<config>", env: dict[str, str] | None = None) -> Config:
    """YAML text → :class:`Config`; anything wrong is a :class:`ConfigError`, whatever the text holds."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(source, [f"{where}not valid YAML ({getattr(exc, 'problem', exc)})"]) from None
    except RecursionError:
        raise ConfigError(source, ["(top level): nested too deeply to be a babymon configuration"]) from None
    try:
        return parse_config(raw, source, env)
    except RecursionError:
        raise ConfigError(source, ["(top level): nested too deeply to be a babymon configuration"]) from None
