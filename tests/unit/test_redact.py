"""Secrets never reach a log line, an error message or a state: the redaction helpers (pure)."""

from __future__ import annotations

import logging

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from babymon.redact import MASK, Redactor, RedactingFilter, redact_url, url_secrets


@pytest.mark.parametrize("url, secret", [
    ("rtsp://admin:PASSWORD@10.0.0.5:554/stream1", "PASSWORD"),
    ("rtsp://admin:pa#ss@cam/live", "pa#ss"),  # unencoded '#': urlsplit would call 'ss@cam/live' a fragment
    ("rtsp://admin:pa/ss@cam/live", "pa/ss"),  # unencoded '/'
    ("rtsp://admin:pa?ss@cam/live", "pa?ss"),  # unencoded '?'
    ("rtsp://admin:p@ss@cam/live", "p@ss"),  # unencoded '@': the credentials run to the last '@'
    ("rtsp://admin:p%40ss@cam/live", "p%40ss"),
    ("rtsp://cam/live?user=admin&password=hunter22", "hunter22"),
    ("http://cam/videostream.cgi?loginuse=admin&loginpas=hunter22", "hunter22"),
    ("rtsp://cam:554/cam/realmonitor?channel=1&pwd=hunter22&subtype=1", "hunter22"),
    ("rtsp://cam/h264?USER=admin&PWD=hunter22", "hunter22"),
])
def test_redact_url_hides_the_password(url, secret):
    redacted = redact_url(url)
    assert secret not in redacted and MASK in redacted
    assert "admin" not in redacted


def test_redact_url_keeps_what_is_not_secret():
    assert redact_url("rtsp://admin:x@cam.local:8554/live/ch00_1") == "rtsp://***@cam.local:8554/live/ch00_1"
    assert redact_url("rtsp://cam/live?channel=1&subtype=0") == "rtsp://cam/live?channel=1&subtype=0"
    assert redact_url("/videos/nursery.mp4") == "/videos/nursery.mp4"


def test_redactor_cleans_ffmpeg_style_errors():
    url = "rtsp://admin:PASSWORD@127.0.0.1:9/x"
    redact = Redactor(urls=[url])
    message = f"ConnectionRefusedError: [Errno 111] Connection refused: '{url}'"
    assert "PASSWORD" not in redact.text(message) and "127.0.0.1:9" in redact.text(message)
    # quoted back decoded, or just the password on its own
    assert "PASSWORD" not in redact.text("auth failed for admin:PASSWORD") and redact(None) is None
    encoded = Redactor(urls=["rtsp://admin:p%23ss@cam/x"])
    assert "p#ss" not in encoded.text("password p#ss refused") and "p%23ss" not in encoded.text("p%23ss")


def test_log_filter_redacts_messages_arguments_and_tracebacks(caplog):
    url = "rtsp://admin:PASSWORD@cam/x"
    handler = logging.StreamHandler()
    handler.addFilter(RedactingFilter(Redactor(urls=[url], secrets=["mqtt-secret-1"])))
    records = []
    handler.emit = lambda record: records.append(handler.format(record))  # type: ignore[method-assign]
    log = logging.getLogger("babymon.test.redact")
    log.addHandler(handler)
    try:
        log.warning("camera: retrying %s", url)
        try:
            raise OSError(f"cannot open {url} with mqtt-secret-1")
        except OSError:
            log.exception("failed")
    finally:
        log.removeHandler(handler)
    text = "\n".join(records)
    assert "PASSWORD" not in text and "mqtt-secret-1" not in text
    assert "rtsp://***@cam/x" in text and "Traceback" in text


@given(user=st.text(min_size=1, max_size=12, alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="@:")),
       password=st.text(min_size=3, max_size=24, alphabet=st.characters(blacklist_categories=["Cs"])),
       host=st.sampled_from(["cam", "10.0.0.5:554", "[fe80::1]:8554"]))
@pytest.mark.fuzz
def test_fuzz_no_password_survives_redaction(user, password, host):
    assume(password not in MASK and MASK not in password and password not in f"rtsp://{host}/stream")
    url = f"rtsp://{user}:{password}@{host}/stream"
    assert password not in redact_url(url).replace(f"@{host}/stream", "")
    assert all(isinstance(s, str) for s in url_secrets(url))
    assert password not in Redactor(urls=[url]).text(f"error opening '{url}': {password}")
