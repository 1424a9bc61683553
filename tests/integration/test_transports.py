"""Transports a user may choose: RTSP over UDP, and MQTT over TLS with a CA of their own."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.conftest import daemon_config
from tests.support.services import Mosquitto, free_port, have_mosquitto

pytestmark = pytest.mark.integration


def test_rtsp_over_udp(broker, rtsp, watcher, run_daemon):
    run_daemon(daemon_config(broker, {"nursery": {"url": rtsp.url, "stream": {"transport": "udp"}}}))
    watcher.wait_text("babymon/nursery/connected", "ON", timeout=20)
    state = watcher.wait_for("babymon/nursery/state", lambda m: m.json()["health"]["connected"]).json()
    assert state["health"]["audio"] == "ok"


def make_ca_and_server_cert(folder, names: str = "DNS:localhost,IP:127.0.0.1"):
    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=babymon test CA",
            "-keyout", "ca.key", "-out", "ca.crt")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={names.split(',')[0].split(':')[1]}", "-keyout", "server.key",
            "-out", "server.csr")
    (folder / "san.ext").write_text(f"subjectAltName={names}\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "1", "-extfile", "san.ext", "-out", "server.crt")
    return folder / "ca.crt", folder / "server.crt", folder / "server.key"


@pytest.fixture
def certs():
    # mosquitto started as root drops to its own user before it reads certificates: they must be readable
    with tempfile.TemporaryDirectory(prefix="babymon-certs-") as folder:
        path = Path(folder)
        path.chmod(0o755)
        yield path


def test_mqtt_over_tls_with_own_ca(certs, rtsp, run_daemon):
    if not have_mosquitto() or shutil.which("openssl") is None:
        pytest.skip("needs mosquitto and openssl")
    ca, cert, key = make_ca_and_server_cert(certs)
    for path in (ca, cert, key):
        path.chmod(0o644)
    tls_port = free_port()
    listener = (f"listener {tls_port} 127.0.0.1\ncafile {ca}\ncertfile {cert}\nkeyfile {key}\n"
                "allow_anonymous true\n")
    from tests.support.watcher import Watcher

    with Mosquitto(extra_config=listener) as broker:
        watcher = Watcher(broker.host, broker.port, topics=("babymon/#",), client_id="tls-watch")
        try:
            config = daemon_config(broker, {"nursery": rtsp.url})
            config["mqtt"].update({"port": tls_port, "tls": {"enabled": True, "ca_file": str(ca)},
                                   "username": "babymon", "password": "not-logged-123"})
            daemon = run_daemon(config)
            watcher.wait_text("babymon/available", "online", timeout=20)
            watcher.wait_text("babymon/nursery/connected", "ON", timeout=20)
            assert "not-logged-123" not in daemon.log
        finally:
            watcher.close()


def tls_handshake(port: int, **tls) -> str:
    """Connect to a real TLS broker with babymon's own TLS settings → "ok" or the TLS error's reason."""
    import socket
    import ssl

    from babymon.config import MqttConfig
    from babymon.mqtt.client import tls_context

    context = tls_context(MqttConfig(host="127.0.0.1", port=port, tls={"enabled": True, **tls}))
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            with context.wrap_socket(raw, server_hostname="127.0.0.1"):
                return "ok"
    except ssl.SSLCertVerificationError as exc:
        return exc.verify_message
    except ssl.SSLError as exc:
        return exc.reason or str(exc)


def test_tls_insecure_skips_only_the_host_name_check(certs):
    if not have_mosquitto() or shutil.which("openssl") is None:
        pytest.skip("needs mosquitto and openssl")
    ca, cert, key = make_ca_and_server_cert(certs, names="DNS:broker.other.example")  # not the name we dial
    stranger = certs / "stranger"
    stranger.mkdir()
    stranger_ca, _, _ = make_ca_and_server_cert(stranger)
    for path in (ca, cert, key):
        path.chmod(0o644)
    tls_port = free_port()
    listener = f"listener {tls_port} 127.0.0.1\ncafile {ca}\ncertfile {cert}\nkeyfile {key}\nallow_anonymous true\n"
    with Mosquitto(extra_config=listener):
        assert "mismatch" in tls_handshake(tls_port, ca_file=str(ca))  # the name is checked by default
        assert tls_handshake(tls_port, ca_file=str(ca), insecure=True) == "ok"
        # insecure never means "any certificate": one from a CA we do not trust is still refused
        assert "certificate" in tls_handshake(tls_port, ca_file=str(stranger_ca), insecure=True)
