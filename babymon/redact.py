"""Keep secrets out of everything a user or a log reader sees (pure, never raises).

Camera URLs carry passwords (``rtsp://admin:secret@cam/…``, cheap cameras also ``?user=admin&pwd=secret``),
and FFmpeg's errors quote the URL back. :func:`redact_url` hides the credentials of one URL, even when the
password has unencoded ``#``, ``/``, ``?`` or ``@`` in it; :class:`Redactor` removes every known secret from
any text (error messages, log lines, state JSON), and :class:`RedactingFilter` does that to every log record.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import quote, unquote

MASK = "***"
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)(.*)$", re.DOTALL)
#: query parameters that carry credentials on cameras seen in the wild (case-insensitive)
SECRET_PARAMS = ("user", "username", "usr", "login", "loginuse", "password", "pass", "passwd", "pwd", "loginpas",
                 "psw", "token", "auth", "key", "apikey", "api_key", "secret", "sig", "signature", "credentials")
_QUERY_SECRET = re.compile(r"(?i)([?&;](?:" + "|".join(SECRET_PARAMS) + r")=)([^&;#\s]*)")
MIN_SECRET = 3  # shorter strings are not replaced in free text (they would mangle ordinary words)


def _split_credentials(url: str) -> tuple[str, str | None, str]:
    """→ (scheme://, credentials or None, the rest). The credentials run to the *last* ``@`` in the URL:
    a password may hold ``/``, ``?`` or ``#`` unencoded, and hiding too much is safer than too little."""
    match = _SCHEME.match(url)
    if not match:
        return "", None, url
    scheme, rest = match.groups()
    at = rest.rfind("@")
    if at < 0:
        return scheme, None, rest
    return scheme, rest[:at], rest[at + 1:]


def redact_url(url: str) -> str:
    """``rtsp://user:secret@cam/stream?pwd=x`` → ``rtsp://***@cam/stream?pwd=***``."""
    if not isinstance(url, str):
        return MASK
    scheme, credentials, rest = _split_credentials(url)
    text = f"{scheme}{MASK}@{rest}" if credentials is not None else f"{scheme}{rest}"
    return _QUERY_SECRET.sub(lambda m: m.group(1) + (MASK if m.group(2) else ""), text)


def url_secrets(url: str) -> list[str]:
    """The secret strings in a URL as they may be quoted back: raw, percent-decoded and percent-encoded."""
    if not isinstance(url, str):
        return []
    _, credentials, rest = _split_credentials(url)
    found: list[str] = []
    if credentials:
        found.append(credentials)
        user, _, password = credentials.partition(":")
        found += [user, password]
    found += [m.group(2) for m in _QUERY_SECRET.finditer(rest)]
    variants = []
    for secret in found:
        variants += [secret, unquote(secret), quote(secret, safe="")]
    return [s for s in dict.fromkeys(variants) if len(s) >= MIN_SECRET]


class Redactor:
    """Replaces the given URLs (by their redacted form) and secret strings (by ``***``) in any text."""

    def __init__(self, urls: Iterable[str] = (), secrets: Iterable[str | None] = ()):
        self.urls = sorted({u for u in urls if isinstance(u, str) and u}, key=len, reverse=True)
        words = [s for s in secrets if s and len(s) >= MIN_SECRET]
        for url in self.urls:
            words += url_secrets(url)
        self.secrets = sorted(set(words), key=len, reverse=True)  # longest first: no half-replaced secret

    def text(self, value: str) -> str:
        if not isinstance(value, str):
            value = str(value)
        for url in self.urls:
            if url in value:
                value = value.replace(url, redact_url(url))
        for secret in self.secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        return value

    def __call__(self, value: str | None) -> str | None:
        return None if value is None else self.text(value)


class RedactingFilter(logging.Filter):
    """A handler filter: each record's message and traceback pass through a :class:`Redactor`."""

    def __init__(self, redactor: Redactor):
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a badly formatted record is still logged, as its raw template
            message = str(record.msg)
        record.msg, record.args = self.redactor.text(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redactor.text(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redactor.text(record.stack_info)
        return True


def install_log_redaction(redactor: Redactor) -> None:
    """Attach the filter to every handler of the root logger (handler filters see records from all loggers)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter(redactor))
