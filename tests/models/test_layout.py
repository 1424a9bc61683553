"""The run-time package and the lab stay apart: ``babymon run`` loads no lab module and no torch, no module under
``babymon/`` imports ``babymon_lab``, and the command line works with and without the lab."""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, SHARED_MODELS

LAB = "babymon_lab"
LIGHT = {LAB, f"{LAB}.commands"}  # all of the lab that building the parser may load
TRAINING_ONLY = ("torch", "onnx", "sklearn")
HAVE_EXPORTER = all(importlib.util.find_spec(name) is not None for name in ("torch", "onnx"))

# What `babymon run` (cmd_run) does before the daemon starts: build the parser, import the daemon, build the
# analyzers (vision with both face detectors, and cry) as the daemon's monitors do.
RUN_PROBE = """
import json, sys
from babymon.cli import build_parser
build_parser()
from babymon.daemon import Daemon, config_redactor
from babymon.mqtt.client import say_offline_now
from babymon.redact import install_log_redaction
from babymon.analyzers.registry import load_analyzers
from babymon.config import CameraConfig
built = {}
for detector in ("yunet", "retinaface"):
    camera = CameraConfig.model_validate({"url": "rtsp://127.0.0.1/probe", "analyzers": ["vision", "cry"],
                                          "vision": {"face_detector": detector}})
    loaded = load_analyzers("probe", camera)
    built[detector] = {"loaded": sorted(a.name for a in [*loaded.video, *loaded.audio]), "missing": loaded.missing}
    loaded.close()
print(json.dumps({"modules": sorted(sys.modules), "built": built}))
"""


def _python(code: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300,
                          env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """A model directory with a RetinaFace export (made by the lab) when the exporter and the weights are here."""
    directory = tmp_path_factory.mktemp("models")
    if HAVE_EXPORTER:
        from babymon.models import find_spec
        from babymon.vision.retinaface_onnx import ONNX_FILE, SOURCE_MODEL
        from babymon_lab.vision.retinaface_export import export_onnx

        weights = SHARED_MODELS / find_spec(SOURCE_MODEL).file
        if weights.is_file():
            export_onnx(weights, directory / ONNX_FILE, find_spec(SOURCE_MODEL).sha256)
    return directory


def test_babymon_run_loads_no_lab_module_and_no_torch(model_dir):
    from babymon.vision.retinaface_onnx import ONNX_FILE

    result = _python(RUN_PROBE, {"BABYMON_MODEL_DIR": str(model_dir)})
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    modules = set(report["modules"])
    assert {m for m in modules if m.split(".")[0] == LAB} <= LIGHT
    assert f"{LAB}.commands" in modules  # the lab is installed here, so its commands were registered
    assert not [m for m in modules if m.split(".")[0] in TRAINING_ONLY]
    if not SHARED_MODELS.is_dir():
        pytest.skip(f"no model mirror at {SHARED_MODELS}: the analyzers could not be built")
    assert report["built"]["yunet"] == {"loaded": ["cry", "vision"], "missing": {}}
    if (model_dir / ONNX_FILE).is_file():
        assert report["built"]["retinaface"] == {"loaded": ["cry", "vision"], "missing": {}}
    else:
        assert "babymon models export retinaface" in report["built"]["retinaface"]["missing"]["vision"]


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def test_no_module_under_babymon_imports_the_lab():
    imports, names = [], []
    for path in sorted((ROOT / "babymon").rglob("*.py")):
        where = path.relative_to(ROOT).as_posix()
        tree = ast.parse(path.read_text(), filename=where)
        docstrings = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imports += [f"{where}:{node.lineno}" for a in node.names if a.name.split(".")[0] == LAB]
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == LAB:
                imports.append(f"{where}:{node.lineno}")
            elif (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
                  and re.search(rf"\b{LAB}\b", node.value)):  # importlib.import_module("babymon_lab...") and such
                names.append((where, node.value))
    assert imports == []
    # the one way in: babymon.cli loads the lab's light commands module by name, when the lab is importable
    assert names == [("babymon/cli.py", f"{LAB}.commands")]


def test_the_command_line_has_the_lab_commands_only_with_the_lab():
    probe = """
import json, sys
{block}
from babymon.cli import build_parser
parser = build_parser()
sub = next(a for a in parser._actions if a.dest == "command")
models = next(a for a in sub.choices["models"]._actions if a.dest == "models_command")
print(json.dumps({{"commands": sorted(sub.choices), "models": sorted(models.choices),
                   "lab": sorted(m for m, v in sys.modules.items() if v and m.split(".")[0] == "babymon_lab")}}))
"""
    with_lab = _python(probe.format(block=""))
    assert with_lab.returncode == 0, with_lab.stderr
    report = json.loads(with_lab.stdout)
    assert report["commands"] == ["analyze", "bench", "bench-cry", "bench-latency", "bench-vision", "check-config",
                                  "eval", "models", "nursery", "run", "train"]
    assert report["models"] == ["download", "export", "list", "verify"]
    assert set(report["lab"]) == LIGHT

    without_lab = _python(probe.format(block="sys.modules['babymon_lab'] = None  # as on a run-time-only install"))
    assert without_lab.returncode == 0, without_lab.stderr
    report = json.loads(without_lab.stdout)
    assert report["commands"] == ["analyze", "check-config", "models", "nursery", "run", "train"]  # train nursery
    assert report["models"] == ["download", "list", "verify"]
    assert report["lab"] == []
