"""Model files: where they live, checking their sha256, and fetching them when (and only when) asked.

``models/manifest.json`` lists every model file analyzers may use. Analyzers call :func:`model_path`, which
returns a verified path or raises :class:`ModelError` saying what is wrong and how to fix it; it never
downloads. ``babymon models download`` (:func:`babymon.models_download.download`) fetches files into :func:`model_dir`, from a local
mirror (``$BABYMON_MODEL_MIRROR``) when one is set, else from each file's upstream URL.

Lookup order in :func:`model_path`: a bundled file (committed under the repository's ``models/``), a file in
:func:`model_dir` with the right sha256, the same file in the mirror (used in place). A file whose sha256 is
wrong is never used.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from babymon.analyzers.base import AnalyzerUnavailable
from babymon.paths import BUNDLED_MODELS

BUNDLED_DIR = BUNDLED_MODELS
MANIFEST_PATH = BUNDLED_DIR / "manifest.json"
ENV_MODEL_DIR = "BABYMON_MODEL_DIR"
ENV_MIRROR = "BABYMON_MODEL_MIRROR"
DEFAULT_MODEL_DIR = Path("~/.cache/babymon/models")
CHUNK = 1 << 16  # bytes read at a time


Status = Literal["ok", "missing", "corrupt", "bundled"]


class ModelError(AnalyzerUnavailable):
    """A model file is unknown, missing, corrupt or cannot be fetched. The message says which and how to fix it.

    It is an :class:`AnalyzerUnavailable`, so an analyzer whose model is missing is reported as unavailable
    (the daemon runs on without it and says so) instead of crashing.
    """


@dataclass(frozen=True)
class ModelSpec:
    name: str
    task: str
    file: str  # relative to the model directory (or to the repository's models/ when bundled)
    sha256: str
    bytes: int
    license: str
    url: str | None = None
    bundled: bool = False
    note: str | None = None


@dataclass(frozen=True)
class ModelStatus:
    """Where a model was found and whether it is usable."""

    spec: ModelSpec
    status: Status  # ok / bundled: usable at ``path``; missing / corrupt: not usable
    path: Path | None  # the usable file, or the corrupt file, or None when missing
    looked_at: tuple[Path, ...]
    problems: tuple[str, ...] = ()  # one line per corrupt file seen (even when another copy is usable)

    @property
    def usable(self) -> bool:
        return self.status in ("ok", "bundled")


# ---------------------------------------------------------------------------------------------- manifest

_FIELDS: dict[str, type | tuple[type, ...]] = {
    "name": str, "task": str, "file": str, "sha256": str, "bytes": int, "license": str,
    "url": (str, type(None)), "bundled": bool, "note": (str, type(None)),
}
_REQUIRED = ("name", "task", "file", "sha256", "bytes", "license")


def _spec_from_dict(entry: object, where: str) -> ModelSpec:
    if not isinstance(entry, dict):
        raise ModelError(f"{where}: must be an object, got {type(entry).__name__}")
    label = f"{where} ({entry.get('name', '?')})"
    missing = [key for key in _REQUIRED if key not in entry]
    if missing:
        raise ModelError(f"{label}: missing field(s) {', '.join(missing)}")
    unknown = sorted(set(entry) - set(_FIELDS))
    if unknown:
        raise ModelError(f"{label}: unknown field(s) {', '.join(unknown)}")
    for key, value in entry.items():
        if not isinstance(value, _FIELDS[key]) or (key == "bytes" and isinstance(value, bool)):
            raise ModelError(f"{label}: field '{key}' has the wrong type ({type(value).__name__})")
    sha = entry["sha256"].lower()
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise ModelError(f"{label}: field 'sha256' must be 64 hex digits, got {entry['sha256']!r}")
    file = Path(entry["file"])
    if file.is_absolute() or ".." in file.parts or not entry["file"]:
        raise ModelError(f"{label}: field 'file' must be a relative path inside the model directory, "
                         f"got {entry['file']!r}")
    if entry["bytes"] <= 0:
        raise ModelError(f"{label}: field 'bytes' must be positive, got {entry['bytes']}")
    if not entry.get("bundled") and not entry.get("url"):
        raise ModelError(f"{label}: a model that is not bundled needs a 'url'")
    return ModelSpec(**{**entry, "sha256": sha})


def load_manifest(path: Path | None = None) -> list[ModelSpec]:
    """Read and validate the model manifest (default: the repository's ``models/manifest.json``)."""
    path = path or MANIFEST_PATH
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelError(f"model manifest {path} does not exist") from None
    except json.JSONDecodeError as exc:
        raise ModelError(f"model manifest {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("models"), list):
        raise ModelError(f"model manifest {path}: expected an object with a 'models' list")
    specs = [_spec_from_dict(entry, f"{path}: models[{i}]") for i, entry in enumerate(data["models"])]
    seen: set[str] = set()
    for spec in specs:
        if spec.name in seen:
            raise ModelError(f"model manifest {path}: name '{spec.name}' appears twice")
        seen.add(spec.name)
    return specs


def record_bundled(paths: Iterable[Path], manifest: Path | None = None) -> list[str]:
    """After a training run rewrote project-trained files in the repository's ``models/`` folder: set the
    sha256 and size of the bundled manifest entries for ``paths`` (others are left alone), so that
    ``babymon models verify`` keeps checking them. Returns the names updated. Paths outside that folder (a
    training run with ``--out`` elsewhere) change nothing."""
    manifest = manifest or MANIFEST_PATH
    wanted = {Path(p).resolve() for p in paths}
    data = json.loads(manifest.read_text())
    updated = []
    for entry in data["models"]:
        if not entry.get("bundled"):
            continue
        path = (manifest.parent / entry["file"]).resolve()
        if path in wanted and path.is_file():
            entry["sha256"], entry["bytes"] = file_sha256(path), path.stat().st_size
            updated.append(entry["name"])
    if updated:
        manifest.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return updated


def find_spec(name: str, specs: Sequence[ModelSpec] | None = None) -> ModelSpec:
    specs = load_manifest() if specs is None else specs
    for spec in specs:
        if spec.name == name:
            return spec
    raise ModelError(f"unknown model '{name}'; known models: {', '.join(s.name for s in specs)}")


def select(names: Iterable[str] | None, specs: Sequence[ModelSpec] | None = None) -> list[ModelSpec]:
    """The specs for ``names`` (all of them when ``names`` is empty or None), in the order asked."""
    specs = load_manifest() if specs is None else list(specs)
    names = list(names or [])
    return [find_spec(name, specs) for name in names] if names else list(specs)


# ---------------------------------------------------------------------------------------------- locations

def _env_path(variable: str) -> Path | None:
    value = os.environ.get(variable, "").strip()
    return Path(value).expanduser() if value else None


def model_dir() -> Path:
    """Where this user's model files live: ``$BABYMON_MODEL_DIR``, else ``~/.cache/babymon/models``."""
    return _env_path(ENV_MODEL_DIR) or DEFAULT_MODEL_DIR.expanduser()


def mirror_dir() -> Path | None:
    """A local read-only copy of the model directory to use instead of the internet (``$BABYMON_MODEL_MIRROR``)."""
    return _env_path(ENV_MIRROR)


# ---------------------------------------------------------------------------------------------- checking

_hash_cache: dict[tuple[str, int, int], str] = {}
_hash_lock = threading.Lock()


def file_sha256(path: Path) -> str:
    """sha256 of a file, remembered for this process while its size and mtime stay the same."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _hash_lock:
        cached = _hash_cache.get(key)
    if cached is None:
        digest = hashlib.sha256()
        with path.open("rb") as f:
            while chunk := f.read(CHUNK):
                digest.update(chunk)
        cached = digest.hexdigest()
        with _hash_lock:
            _hash_cache[key] = cached
    return cached


def _corrupt_line(spec: ModelSpec, path: Path, actual: str) -> str:
    return (f"{path} is corrupt: sha256 {actual[:12]}… but model '{spec.name}' expects {spec.sha256[:12]}… "
            f"({path.stat().st_size} bytes, expected {spec.bytes})")


def locate(spec: ModelSpec, *, directory: Path | None = None, mirror: Path | None = None,
           use_env: bool = True) -> ModelStatus:
    """Find a usable copy of ``spec``'s file, checking sha256s. Never downloads.

    ``directory`` / ``mirror`` default to :func:`model_dir` / :func:`mirror_dir` when ``use_env`` is true.
    """
    if spec.bundled:
        path = BUNDLED_DIR / spec.file
        if not path.is_file():
            return ModelStatus(spec, "missing", None, (path,))
        actual = file_sha256(path)
        if actual != spec.sha256:
            return ModelStatus(spec, "corrupt", path, (path,), (_corrupt_line(spec, path, actual),))
        return ModelStatus(spec, "bundled", path, (path,))

    if use_env:
        directory = directory or model_dir()
        mirror = mirror or mirror_dir()
    candidates = [root / spec.file for root in (directory, mirror) if root is not None]
    problems: list[str] = []
    first_corrupt: Path | None = None
    for path in candidates:
        if not path.is_file():
            continue
        actual = file_sha256(path)
        if actual == spec.sha256:
            return ModelStatus(spec, "ok", path, tuple(candidates), tuple(problems))
        problems.append(_corrupt_line(spec, path, actual))
        first_corrupt = first_corrupt or path
    if first_corrupt is not None:
        return ModelStatus(spec, "corrupt", first_corrupt, tuple(candidates), tuple(problems))
    return ModelStatus(spec, "missing", None, tuple(candidates))


def _fix_hint(spec: ModelSpec) -> str:
    if spec.bundled:
        return "it ships with babymon: reinstall or restore the file from the repository"
    return (f"run `babymon models download {spec.name}` (or set {ENV_MIRROR} to a folder holding a copy, "
            f"or {ENV_MODEL_DIR} to where your models are)")


def explain(status: ModelStatus) -> str:
    """A one-paragraph message for an unusable model: what, where we looked, how to fix it."""
    spec = status.spec
    if status.status == "corrupt":
        return f"model '{spec.name}': " + "; ".join(status.problems) + f". To fix: {_fix_hint(spec)}"
    looked = ", ".join(str(p) for p in status.looked_at) or "(no model directory)"
    return f"model '{spec.name}' ({spec.file}) is missing; looked at: {looked}. To fix: {_fix_hint(spec)}"


def model_path(name: str) -> Path:
    """THE call for analyzers: a path to model ``name``'s file whose sha256 has been checked.

    Raises :class:`ModelError` (naming the model, the files looked at and the fix) when it is unknown, missing
    or corrupt. Never downloads.
    """
    status = locate(find_spec(name))
    if not status.usable or status.path is None:
        raise ModelError(explain(status))
    return status.path


def verify(names: Iterable[str] | None = None, *, directory: Path | None = None,
           mirror: Path | None = None) -> list[ModelStatus]:
    """Check every named model (all when ``names`` is empty): one :class:`ModelStatus` each, in order."""
    return [locate(spec, directory=directory, mirror=mirror) for spec in select(names)]


__all__ = ["ModelError", "ModelSpec", "ModelStatus", "explain", "file_sha256", "find_spec", "locate",
           "load_manifest", "mirror_dir", "model_dir", "model_path", "select", "verify"]
