"""Exporting the RetinaFace ONNX file once from the verified PyTorch weights (needs torch and onnx).

The published weights are a PyTorch state dict (model ``retinaface_mnet025`` in ``models/manifest.json``).
torch is a training extra, not a run-time dependency, so the network is exported once to ONNX
(``babymon models export retinaface``) and the detector runs the ONNX file. Where the export lands, its
sidecar record and how it is checked are run-time code (:mod:`babymon.vision.retinaface_onnx`); the detector
never exports. :func:`ensure_onnx` (the lab's) exports again when the file is missing, stale or damaged.
Once exported, the ``.pth`` is no longer needed at run time.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import sys
import tempfile
import warnings
from pathlib import Path

from babymon.models import ENV_MODEL_DIR, ModelError, file_sha256, find_spec, model_path
from babymon.vision.retinaface_onnx import (
    EXPORT_COMMAND,
    EXPORT_VERSION,
    INPUT_NAME,
    INSTALL_HINT,
    ONNX_FILE,
    OPSET,
    OUTPUT_NAMES,
    SOURCE_MODEL,
    ExportRecord,
    default_onnx_path,
    problem,
    sidecar_path,
)

log = logging.getLogger(__name__)


def can_export() -> bool:
    """torch and onnx (the exporter needs both) are importable."""
    return all(importlib.util.find_spec(name) is not None for name in ("torch", "onnx"))


def export_onnx(weights: Path, destination: Path, source_sha256: str,
                fixed_size: tuple[int, int] | None = None) -> Path:
    """Export the network with ``weights`` to ``destination`` (batch 1; dynamic height and width, or
    ``fixed_size`` = (width, height) for runtimes that need one, such as cv2.dnn) and write its sidecar. Both are
    written to temporary files first and renamed into place. Needs torch and onnx."""
    import torch

    from babymon_lab.vision.retinaface_net import load_retinaface

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


def prepare(face_detector: str) -> None:
    """Before the lab builds a run-time detector by name: make the RetinaFace export when it is missing or stale
    (the run-time detector never exports; this needs torch only when there is something to export)."""
    if face_detector == "retinaface":
        ensure_onnx()


def export_command(args: argparse.Namespace) -> int:
    """``babymon models export retinaface``: the ONNX file the RetinaFace detector runs, from the verified .pth."""
    from babymon.models_cli import EXIT_PROBLEM, apply_overrides

    apply_overrides(args)
    try:
        path = export_from_model_dir()
    except ModelError as exc:
        print(f"babymon: {exc}", file=sys.stderr)
        return EXIT_PROBLEM
    print(f"exported {path}")
    return 0
