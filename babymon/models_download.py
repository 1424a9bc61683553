"""Fetching model files (``babymon models download``): from a local mirror when one is set, else from each
file's upstream URL, with progress, retries, and a sha256 check before a file is put in place."""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, BinaryIO

from babymon.models import (
    CHUNK, ENV_MIRROR, ModelError, ModelSpec, ModelStatus, explain, locate, mirror_dir, model_dir, select,
)  # fmt: skip

DOWNLOAD_ATTEMPTS = 3
DOWNLOAD_TIMEOUT_S = 30.0
RETRY_DELAY_S = 1.0


class _Progress:
    """``\\r``-updated "name  1.2/3.9 MB  31%" on a text stream, at most every 0.1 s."""

    def __init__(self, label: str, total: int | None, stream: IO[str] | None):
        self.label, self.total, self.stream = label, total, stream
        self.done = 0
        self._last = 0.0

    def update(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if self.stream is not None and now - self._last >= 0.1:
            self._last = now
            self._write()

    def finish(self, ok: bool) -> None:
        if self.stream is not None:
            self._write()
            self.stream.write(" done\n" if ok else " failed\n")
            self.stream.flush()

    def _write(self) -> None:
        assert self.stream is not None
        mb = 1024 * 1024
        if self.total:
            text = f"{self.done / mb:.1f}/{self.total / mb:.1f} MB {min(100, 100 * self.done // self.total):3d}%"
        else:
            text = f"{self.done / mb:.1f} MB"
        self.stream.write(f"\r  {self.label}  {text}")
        self.stream.flush()


def _copy_checked(source: BinaryIO, spec: ModelSpec, destination: Path, progress: _Progress,
                  origin: str) -> Path:
    """Stream ``source`` into a temp file beside ``destination``, hashing; rename into place if sha256 matches."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=".part", dir=destination.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
                progress.update(len(chunk))
        actual = digest.hexdigest()
        if actual != spec.sha256:
            raise ModelError(f"model '{spec.name}': {origin} gave {progress.done} bytes with sha256 {actual[:12]}… "
                             f"but {spec.sha256[:12]}… ({spec.bytes} bytes) was expected; not saved (checksum "
                             f"mismatch: the upstream file changed or the download was damaged)")
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a model file is not a secret
        os.replace(tmp, destination)
    finally:
        tmp.unlink(missing_ok=True)
    return destination


def _fetch_url(spec: ModelSpec, destination: Path, stream: IO[str] | None) -> Path:
    assert spec.url
    last_error = ""
    for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
        progress = _Progress(spec.name, spec.bytes, stream)
        try:
            request = urllib.request.Request(spec.url, headers={"User-Agent": "babymon-models"})
            with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT_S) as response:
                path = _copy_checked(response, spec, destination, progress, spec.url)
            progress.finish(True)
            return path
        except urllib.error.HTTPError as exc:
            progress.finish(False)
            last_error = f"HTTP {exc.code} {exc.reason}"
            if exc.code < 500:  # 404, 403...: retrying will not help
                break
        except (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError) as exc:
            progress.finish(False)
            last_error = str(getattr(exc, "reason", None) or exc) or type(exc).__name__
        except ModelError:
            progress.finish(False)
            raise
        if attempt < DOWNLOAD_ATTEMPTS:
            time.sleep(RETRY_DELAY_S * attempt)
    raise ModelError(f"model '{spec.name}': download from {spec.url} failed: {last_error}. Check the network, "
                     f"or copy the file to {destination} by hand, or set {ENV_MIRROR}")


def download(names: Iterable[str] | None = None, progress: bool = True, *, directory: Path | None = None,
             mirror: Path | None = None, specs: Sequence[ModelSpec] | None = None,
             stream: IO[str] | None = None) -> list[ModelStatus]:
    """Fetch models into the model directory (all when ``names`` is empty); skip those already there.

    From the mirror (``mirror`` or ``$BABYMON_MODEL_MIRROR``) when one is set, else from each file's URL.
    Each file is written to a temp file while its sha256 is computed, and renamed into place only when it
    matches. Bundled models are only verified. Raises :class:`ModelError` on the first failure.
    """
    directory = directory or model_dir()
    mirror = mirror or mirror_dir()
    out = (stream or sys.stderr) if progress else None
    results: list[ModelStatus] = []
    for spec in select(names, specs):
        if spec.bundled:
            status = locate(spec)
            if not status.usable:
                raise ModelError(explain(status))
            results.append(status)
            continue
        destination = directory / spec.file
        current = locate(spec, directory=directory, mirror=None, use_env=False)
        if current.usable:
            if out:
                out.write(f"  {spec.name}  already present: {destination}\n")
            results.append(current)
            continue
        if mirror is not None:
            source = mirror / spec.file
            if not source.is_file():
                raise ModelError(f"model '{spec.name}': mirror file {source} does not exist "
                                 f"({ENV_MIRROR} or --mirror points at {mirror})")
            meter = _Progress(spec.name, spec.bytes, out)
            try:
                with source.open("rb") as f:
                    _copy_checked(f, spec, destination, meter, str(source))
            except ModelError:
                meter.finish(False)
                raise
            meter.finish(True)
        else:
            _fetch_url(spec, destination, out)
        results.append(locate(spec, directory=directory, mirror=None, use_env=False))
    return results
