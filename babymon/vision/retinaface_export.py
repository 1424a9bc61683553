"""The RetinaFace ONNX file: exporting it once from the verified PyTorch weights, and finding it again.

The published weights are a PyTorch state dict (model ``retinaface_mnet025`` in ``models/manifest.json``).
torch is a training extra, not a runtime dependency, so the network is exported once to ONNX
(``babymon models export retinaface``) and the detector runs the ONNX file. The export lands in the model
directory next to where the ``.pth`` would be downloaded (``<model dir>/retinaface/mobilenet0.25_Final.onnx``)
with a sidecar ``.onnx.json`` recording the sha256 of the ``.pth`` it came from, the sha256 of the ``.onnx``
itself and the export version, so a stale or damaged export is noticed:

* missing, or made from other weights / an older export version → exported again when torch is importable
  (logged), else :class:`~babymon.models.ModelError` saying what to install and run;
* present but its sha256 is not the one recorded (damaged, or a half-finished write) → exported again when
  torch is importable (logged as a warning), else ``ModelError`` naming the file.

Once exported, the ``.pth`` is no longer needed at run time.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from babymon.models import ENV_MODEL_DIR, ModelError, file_sha256, find_spec, model_dir, model_path

log = logging.getLogger(__name__)

SOURCE_MODEL = "retinaface_mnet025"
ONNX_FILE = "retinaface/mobilenet0.25_Final.onnx"
EXPORT_VERSION = 1  # bump when the exported graph changes (opset, input/output layout)
OPSET = 17
INPUT_NAME = "input"
OUTPUT_NAMES = ("boxes", "scores", "landmarks")
EXPORT_COMMAND = "babymon models export retinaface"
INSTALL_HINT = "pip install -r requirements-train.txt (torch and onnx; `make install-train` does it)"


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
    """The sidecar of ``onnx``, or None when there is none or it cannot be read (then the export is redone)."""
    try:
        data = json.loads(sidecar_path(onnx).read_text())
        return ExportRecord(**{k: data[k] for k in ExportRecord.__dataclass_fields__})
    except (OSError, ValueError, KeyError, TypeError):
        return None


def can_export() -> bool:
    """torch and onnx (the exporter needs both) are importable."""
    return all(importlib.util.find_spec(name) is not None for name in ("torch", "onnx"))


def export_onnx(weights: Path, destination: Path, source_sha256: str,
                fixed_size: tuple[int, int] | None = None) -> Path:
    """Export the network with ``weights`` to ``destination`` (batch 1; dynamic height and width, or
    ``fixed_size`` = (width, height) for runtimes that need one, such as cv2.dnn) and write its sidecar. Both are
    written to temporary files first and renamed into place. Needs torch and onnx."""
    import torch

    from babymon.vision.retinaface_net import load_retinaface

    try:
        net = load_retinaface(weights)
    except ValueError as exc:
        raise ModelError(str(exc)) from None
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=".part", dir=destination.parent)
    except OSError as exc:
        raise ModelError(f"cannot write the RetinaFace ONNX export to {destination.parent}: {exc}. Set "
                         f"{ENV_MODEL_DIR} (or --model-dir) to a writable folder") from None
    os.close(fd)
    tmp = Path(tmp_name)
    tmp_json = tmp.with_name(tmp.name + ".json")
    try:
        dynamic = {INPUT_NAME: {2: "height", 3: "width"}, **{name: {1: "anchors"} for name in OUTPUT_NAMES}}
        width, height = fixed_size or (320, 320)
        # The TorchScript-based exporter (dynamo=False) needs only the onnx package (the torch.export-based one also
        # needs onnxscript); torch 2.13 warns that it is deprecated, and the train extra pins torch < 2.14.
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(net, (torch.zeros(1, 3, height, width),), str(tmp), input_names=[INPUT_NAME],
                              output_names=list(OUTPUT_NAMES), dynamic_axes=None if fixed_size else dynamic,
                              opset_version=OPSET,
                              do_constant_folding=True, dynamo=False)
        os.chmod(tmp, 0o644)
        record = ExportRecord(SOURCE_MODEL, source_sha256, file_sha256(tmp), EXPORT_VERSION, OPSET)
        tmp_json.write_text(record.to_json())
        os.replace(tmp, destination)
        os.replace(tmp_json, sidecar_path(destination))
    finally:
        tmp.unlink(missing_ok=True)
        tmp_json.unlink(missing_ok=True)
    return destination


def export_from_model_dir(destination: Path | None = None) -> Path:
    """Export from the verified ``.pth`` (model directory or mirror; ``ModelError`` when missing or corrupt)."""
    if not can_export():
        raise ModelError(f"exporting RetinaFace to ONNX needs torch and onnx, which are not installed: {INSTALL_HINT}")
    weights = model_path(SOURCE_MODEL)
    destination = destination or default_onnx_path()
    log.info("exporting RetinaFace %s to %s (one time; needs torch)", weights, destination)
    return export_onnx(weights, destination, find_spec(SOURCE_MODEL).sha256)


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


def ensure_onnx(onnx: Path | None = None) -> Path:
    """A current, intact RetinaFace ONNX file: ``onnx`` (default :func:`default_onnx_path`), exported again from
    the ``.pth`` when it is missing, stale or damaged and torch is importable; else ``ModelError`` naming the file
    and what to run."""
    onnx = onnx or default_onnx_path()
    why = problem(onnx, find_spec(SOURCE_MODEL).sha256)
    if why is None:
        return onnx
    if not can_export():
        raise ModelError(f"RetinaFace ONNX model: {why}. To fix: {INSTALL_HINT}, then run `{EXPORT_COMMAND}` "
                         f"(or copy an exported {Path(ONNX_FILE).name} and its .json sidecar there)")
    (log.warning if onnx.is_file() else log.info)("RetinaFace ONNX model: %s; exporting it from the weights", why)
    return export_from_model_dir(onnx)
