"""Real external services for tests: a Mosquitto broker and a looping RTSP server.

Both bind to 127.0.0.1 only, keep their port across ``restart()`` and can be
used as context managers::

    with Mosquitto() as broker:            # broker.host, broker.port
        ...
    with RtspServer(clip) as cam:          # cam.url == rtsp://127.0.0.1:<port>/live
        ...
"""

from __future__ import annotations

import functools
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

__all__ = [
    "GST_PYTHON",
    "Mosquitto",
    "RtspServer",
    "free_port",
    "have_mosquitto",
    "have_rtsp_server",
    "mosquitto_binary",
    "rtsp_server_missing_reason",
]

HOST = "127.0.0.1"
# The RTSP server script needs Debian's python3 (python3-gi + GstRtspServer),
# not the project venv. Overridable for unusual setups.
GST_PYTHON = os.environ.get("BABYMON_TEST_GST_PYTHON", "/usr/bin/python3")
RTSP_SERVER_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "rtsp_server.py"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    # Never leak the venv's Python settings into Debian's python3.
    for var in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP"):
        env.pop(var, None)
    return env


def _tail(path: Path, limit: int = 4000) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return text[-limit:].strip()


class _Service:
    """A child process with start/stop/restart and context-manager support."""

    name = "service"
    ready_timeout = 10.0
    stop_timeout = 5.0

    def __init__(self, port: int | None = None) -> None:
        self.host = HOST
        self.port = port if port else free_port()
        self.proc: subprocess.Popen | None = None
        self._log_offset = 0
        self._tmp = Path(tempfile.mkdtemp(prefix=f"babymon-{self.name}-"))
        self.log_path = self._tmp / f"{self.name}.log"

    def _prepare(self) -> None:
        """Write config files etc. before each start (the temp dir may be gone)."""
        self._tmp.mkdir(parents=True, exist_ok=True)

    # -- to implement ----------------------------------------------------------
    def _command(self) -> list[str]:
        raise NotImplementedError

    def _wait_ready(self, deadline: float) -> bool:
        raise NotImplementedError

    def _popen_kwargs(self) -> dict:
        return {}

    # -- lifecycle -------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> "_Service":
        if self.running:
            return self
        self._prepare()
        log = open(self.log_path, "ab")
        self._log_offset = log.tell()
        try:
            self.proc = subprocess.Popen(
                self._command(),
                stdin=subprocess.DEVNULL,
                stderr=log,
                env=_child_env(),
                start_new_session=True,  # Ctrl-C in pytest does not hit it twice
                **self._popen_kwargs(),
            )
        finally:
            log.close()
        deadline = time.monotonic() + self.ready_timeout
        if not self._wait_ready(deadline):
            rc = self.proc.poll()
            self.stop()
            state = f"exited with status {rc}" if rc is not None else (
                f"not ready after {self.ready_timeout:.0f} s"
            )
            raise RuntimeError(
                f"{self.name} on {self.host}:{self.port} {state}; command: "
                f"{' '.join(self._command())}\n--- stderr/log ---\n{_tail(self.log_path)}"
            )
        return self

    def stop(self) -> None:
        """Terminate the process (SIGTERM, then SIGKILL) and wait for it."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            try:
                proc.send_signal(signal.SIGTERM)
                proc.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(self.stop_timeout)
            except ProcessLookupError:
                pass
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()

    def kill(self) -> None:
        """SIGKILL the process (no clean shutdown at all) and wait for it."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(self.stop_timeout)
        if proc is not None and proc.stdout is not None:
            proc.stdout.close()

    def restart(self) -> "_Service":
        """stop() then start() on the same port."""
        self.stop()
        return self.start()

    def log(self) -> str:
        """Everything the process wrote to stderr so far (all runs)."""
        return _tail(self.log_path, 1_000_000)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __del__(self) -> None:  # last resort: never leave children behind
        try:
            if self.proc is not None and self.proc.poll() is None:
                self.proc.kill()
        except Exception:
            pass


# --------------------------------------------------------------------------
# Mosquitto
# --------------------------------------------------------------------------
def mosquitto_binary() -> str | None:
    exe = shutil.which("mosquitto")
    if exe:
        return exe
    for cand in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"):
        if os.access(cand, os.X_OK):
            return cand
    return None


def have_mosquitto() -> bool:
    return mosquitto_binary() is not None


class Mosquitto(_Service):
    """A throw-away mosquitto broker on 127.0.0.1:<port> (anonymous).

    With ``persistent=True`` it saves retained messages and client sessions on stop and reloads them on
    start, like a real broker restart: a client with a persistent session then gets the QoS 1 messages
    published while it was away.
    """

    name = "mosquitto"

    def __init__(self, port: int | None = None, persistent: bool = False, extra_config: str = "") -> None:
        super().__init__(port)
        self.persistent = persistent
        self.extra_config = extra_config  # e.g. a second (TLS) listener
        self.conf_path = self._tmp / "mosquitto.conf"

    def _prepare(self) -> None:
        super()._prepare()
        self.conf_path.write_text(
            f"listener {self.port} {HOST}\n"
            "allow_anonymous true\n"
            + (f"persistence true\npersistence_location {self._tmp}/\n" if self.persistent else "persistence false\n")
            + "log_dest stderr\n"
            "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n"
            "connection_messages true\n"
            "log_timestamp true\n"
            + self.extra_config
        )

    def _command(self) -> list[str]:
        exe = mosquitto_binary()
        if exe is None:
            raise RuntimeError("mosquitto not found (apt-get install mosquitto)")
        return [exe, "-c", str(self.conf_path)]

    def _wait_ready(self, deadline: float) -> bool:
        # Ready = this run logged "mosquitto version X running" (so its own
        # listener is open; a port held by someone else makes it exit with
        # "Address already in use") and the port accepts connections.
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            with open(self.log_path, "rb") as f:
                f.seek(self._log_offset)
                running = b" running" in f.read()
            if running and _port_open(self.host, self.port):
                return self.proc.poll() is None
            time.sleep(0.05)
        return False

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"


# --------------------------------------------------------------------------
# RTSP server (GStreamer, run by Debian's python3)
# --------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def rtsp_server_missing_reason() -> str | None:
    """None if tests/support/rtsp_server.py can run here, else why not."""
    if not os.access(GST_PYTHON, os.X_OK):
        return f"{GST_PYTHON} not found (needs python3-gi)"
    check = (
        "import gi\n"
        "gi.require_version('Gst', '1.0')\n"
        "gi.require_version('GstApp', '1.0')\n"
        "gi.require_version('GstRtspServer', '1.0')\n"
        "from gi.repository import Gst, GstApp, GstRtspServer\n"
        "Gst.init(None)\n"
        "need = ['filesrc', 'typefind', 'qtdemux', 'matroskademux', 'h264parse', 'aacparse',\n"
        "        'appsrc', 'appsink', 'rtph264pay', 'rtpmp4gpay', 'rtpbin', 'udpsrc', 'udpsink']\n"
        "missing = [e for e in need if Gst.ElementFactory.find(e) is None]\n"
        "print('missing GStreamer elements: ' + ' '.join(missing) if missing else 'OK')\n"
    )
    try:
        proc = subprocess.run(
            [GST_PYTHON, "-c", check], capture_output=True, text=True, timeout=60,
            env=_child_env(),
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"{GST_PYTHON} failed: {exc}"
    out = proc.stdout.strip()
    if proc.returncode != 0:
        err = proc.stderr.strip().splitlines()
        return (
            f"{GST_PYTHON} cannot load GStreamer RTSP server via gi "
            f"({err[-1] if err else proc.returncode}); "
            "apt-get install python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-rtsp"
        )
    if out != "OK":
        return out + " (apt-get install gstreamer1.0-plugins-good gstreamer1.0-plugins-bad)"
    return None


def have_rtsp_server() -> bool:
    return rtsp_server_missing_reason() is None


class RtspServer(_Service):
    """tests/support/rtsp_server.py serving ``file`` in a loop at ``.url``."""

    name = "rtsp-server"
    ready_timeout = 15.0  # first GStreamer start may rebuild the plugin registry

    def __init__(self, file: Path, port: int | None = None, mount: str = "live") -> None:
        super().__init__(port)
        self.file = Path(file)
        self.mount = mount.strip("/")

    @property
    def url(self) -> str:
        return f"rtsp://{self.host}:{self.port}/{self.mount}"

    def _command(self) -> list[str]:
        return [
            GST_PYTHON, str(RTSP_SERVER_SCRIPT),
            "--port", str(self.port), "--mount", self.mount, "--file", str(self.file),
        ]

    def _popen_kwargs(self) -> dict:
        return {"stdout": subprocess.PIPE}

    def _wait_ready(self, deadline: float) -> bool:
        # The script prints exactly one line, "READY", on stdout.
        fd = self.proc.stdout.fileno()
        buf = b""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], max(0.0, min(0.2, deadline - time.monotonic())))
            if ready:
                chunk = os.read(fd, 4096)
                if not chunk:  # EOF: the process died
                    return False
                buf += chunk
                if b"READY" in buf:
                    return True
            elif self.proc.poll() is not None:
                return False
        return False


if __name__ == "__main__":  # manual check: python -m tests.support.services clip.mp4
    print("mosquitto:", mosquitto_binary(), "rtsp:", rtsp_server_missing_reason() or "OK")
    if len(sys.argv) > 1:
        with RtspServer(Path(sys.argv[1])) as srv:
            print(srv.url, flush=True)
            try:
                signal.pause()
            except KeyboardInterrupt:
                pass
