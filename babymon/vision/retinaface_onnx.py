"""The RetinaFace ONNX export as the detector reads it: where it is, its sidecar record, and checking it.

The export itself (from the PyTorch weights, needs torch) is lab code: ``babymon models export retinaface``
(:mod:`babymon_lab.vision.retinaface_export`). It lands in the model directory
(``<model dir>/retinaface/mobilenet0.25_Final.onnx``) with a sidecar ``.onnx.json`` recording the sha256 of
the ``.pth`` it came from, the sha256 of the ``.onnx`` itself and the export version, so that a missing,
stale or damaged export is refused by name. Nothing here exports or imports torch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from babymon.models import ModelError, file_sha256, find_spec, model_dir

SOURCE_MODEL = "retinaface_mnet025"
ONNX_FILE = "retinaface/mobilenet0.25_Final.onnx"
EXPORT_VERSION = 1  # bump when the exported graph changes (opset, input/output layout)
OPSET = 17
INPUT_NAME = "input"
OUTPUT_NAMES = ("boxes", "scores", "landmarks")
EXPORT_COMMAND = "babymon models export retinaface"
INSTALL_HINT = "`make install-train` (torch and onnx: pip install -r requirements-train.txt)"


@dataclass(frozen=True)
class ExportRecord:
    """What the sidecar ``.onnx.json`` says about an export."""

    source_model: str
    source_sha256: str
    onnx_sha256: str
    export_version: int
    opset: int

    def to_json(self) -> str:
        return json.dumps(self.__dict__, indent=2) + "\n"


def sidecar_path(onnx: Path) -> Path:
    return onnx.with_name(onnx.name + ".json")


def default_onnx_path() -> Path:
    return model_dir() / ONNX_FILE


def read_record(onnx: Path) -> ExportRecord | None:
    """The sidecar of ``onnx``, or None when there is none or it cannot be read."""
    try:
        data = json.loads(sidecar_path(onnx).read_text())
        return ExportRecord(**{k: data[k] for k in ExportRecord.__dataclass_fields__})
    except (OSError, ValueError, KeyError, TypeError):
        return None


def problem(onnx: Path, source_sha256: str) -> str | None:
    """Why the export at ``onnx`` cannot be used as it is, or None when it is current and intact."""
    if not onnx.is_file():
        return f"{onnx} does not exist"
    record = read_record(onnx)
    if record is None:
        return f"{onnx} has no readable sidecar {sidecar_path(onnx).name} (source sha256 unknown)"
    if record.source_sha256 != source_sha256 or record.export_version != EXPORT_VERSION:
        return (f"{onnx} is stale: made from weights {record.source_sha256[:12]}… with export version "
                f"{record.export_version}, expected {source_sha256[:12]}… and version {EXPORT_VERSION}")
    actual = file_sha256(onnx)
    if actual != record.onnx_sha256:
        return (f"{onnx} is corrupt: sha256 {actual[:12]}… but its export recorded {record.onnx_sha256[:12]}… "
                f"({onnx.stat().st_size} bytes)")
    return None


def find_onnx(onnx: Path | None = None) -> Path:
    """A current, intact export at ``onnx`` (default :func:`default_onnx_path`); else ``ModelError`` naming the
    file and the command that makes it. Never exports."""
    onnx = onnx or default_onnx_path()
    why = problem(onnx, find_spec(SOURCE_MODEL).sha256)
    if why is not None:
        raise ModelError(f"RetinaFace ONNX model: {why}. To make it, run `{EXPORT_COMMAND}` (needs the training "
                         f"extras: {INSTALL_HINT}), or copy an exported {Path(ONNX_FILE).name} and its .json "
                         f"sidecar there")
    return onnx


def check_given_onnx(onnx: Path) -> Path:
    """An explicitly given export: it must exist, and match its sidecar's sha256 when it has one."""
    if not onnx.is_file():
        raise ModelError(f"RetinaFace ONNX model {onnx} does not exist (export one with `{EXPORT_COMMAND}`)")
    record = read_record(onnx)
    if record is not None:
        why = problem(onnx, record.source_sha256)
        if why is not None:
            raise ModelError(f"RetinaFace ONNX model: {why}. Export it again with `{EXPORT_COMMAND}`")
    return onnx
