"""Fixtures that start real services on loopback: mosquitto, a GStreamer RTSP server, the babymon daemon."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, settings

from tests.support.clips import ffmpeg_available, make_test_clip
from tests.support.services import Mosquitto, RtspServer, have_mosquitto, rtsp_server_missing_reason
from tests.support.watcher import Watcher

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("BABYMON_SHARED_DATA", ROOT.parent / "shared" / "data"))
SHARED_MODELS = ROOT.parent / "shared" / "models"


def pytest_configure(config) -> None:
    """Tests and CI take model files from ../shared/models (never the internet) unless told otherwise."""
    if not os.environ.get("BABYMON_MODEL_MIRROR") and SHARED_MODELS.is_dir():
        os.environ["BABYMON_MODEL_MIRROR"] = str(SHARED_MODELS)
    config.addinivalue_line("markers", "fuzz: property-based tests (longer with BABYMON_FUZZ_EXAMPLES=5000)")


# The fuzz suite: a few dozen examples per property in `make test`, many more with `make fuzz`.
FUZZ_EXAMPLES = int(os.environ.get("BABYMON_FUZZ_EXAMPLES", "60"))
settings.register_profile("babymon", max_examples=FUZZ_EXAMPLES, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
                          database=None, derandomize=FUZZ_EXAMPLES <= 100)
settings.load_profile("babymon")


def shared_file(relative: str) -> Path:
    """A file from ../shared/data, or skip the test saying what is missing."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"shared data not available: {path} (set BABYMON_SHARED_DATA or put ../shared beside the repo)")
    return path


@pytest.fixture(scope="session")
def clip(tmp_path_factory) -> Path:
    """A 20 s 320x240 H.264 + AAC test clip (made with ffmpeg; no shared data needed)."""
    if not ffmpeg_available():
        pytest.skip("ffmpeg is not installed (apt-get install ffmpeg)")
    return make_test_clip(tmp_path_factory.mktemp("clips") / "test.mp4", seconds=20, width=320, height=240, fps=10)


@pytest.fixture
def broker():
    if not have_mosquitto():
        pytest.skip("mosquitto is not installed (apt-get install mosquitto)")
    with Mosquitto(persistent=True) as service:
        yield service


def _rtsp(clip: Path) -> RtspServer:
    reason = rtsp_server_missing_reason()
    if reason:
        pytest.skip(reason)
    return RtspServer(clip)


@pytest.fixture
def rtsp(clip):
    with _rtsp(clip) as service:
        yield service


@pytest.fixture
def watcher(broker):
    w = Watcher(broker.host, broker.port, topics=("babymon/#", "homeassistant/#"), persistent=True)
    yield w
    w.close()


class DaemonProcess:
    """``babymon run -c <config>`` as a real subprocess."""

    def __init__(self, config: dict, workdir: Path):
        self.config_path = workdir / "babymon.yaml"
        config = dict(config)
        config.setdefault("nursery", {"path": str(workdir / "nursery")})  # alert frames stay in the test's folder
        self.config_path.write_text(yaml.safe_dump(config))
        self.log_path = workdir / "babymon.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> DaemonProcess:
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen([sys.executable, "-m", "babymon", "run", "-c", str(self.config_path),
                                         "--log-level", "DEBUG"], stdout=self._log, stderr=subprocess.STDOUT,
                                        cwd=ROOT)
        return self

    def stop(self) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._log.close()
        return self.process.returncode

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def daemon_config(broker: Mosquitto, cameras: dict, **defaults) -> dict:
    """A config with fast timings so tests take seconds, not minutes."""
    fast = {"on_delay": 0.5, "off_delay": 0.5}
    base = {
        "detect": {"fps": 5, "width": 320},
        "stream": {"timeout": 3, "retry_initial": 0.5, "retry_max": 1},
        "analyzers": [],
        "stall_timeout": 2,
        "state_interval": 1,
        "rules": {"monitor_unavailable": {"on_delay": 1, "off_delay": 0}, "face_covered": fast, "prone": fast,
                  "standing": fast, "crying": fast},
    }
    base.update(defaults)
    return {
        "mqtt": {"host": broker.host, "port": broker.port, "reconnect_initial": 0.5, "reconnect_max": 1},
        "defaults": base,
        "cameras": cameras,
        "http": {"enabled": False},  # tests that want the HTTP API set it (tests/test_http*.py)
    }


@pytest.fixture
def run_daemon(tmp_path):
    started: list[DaemonProcess] = []

    def start(config: dict) -> DaemonProcess:
        daemon = DaemonProcess(config, tmp_path).start()
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        daemon.stop()
        if os.environ.get("BABYMON_TEST_SHOW_LOG"):
            print(daemon.log)


def wait_until(predicate, timeout: float = 15.0, interval: float = 0.1, message: str = "condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {message}")
