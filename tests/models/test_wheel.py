"""``pip install babymon-*.whl`` into a fresh virtualenv outside the source tree gives a working babymon: the
bundled models, the web page and the blueprints are inside the wheel, and the installed package (not the
checkout) runs ``--version``, ``models verify`` and ``analyze`` on a clip with the vision and cry models.

The wheel is built from this checkout without build isolation (setuptools comes from the test venv, nothing is
downloaded). The fresh venv gets babymon from the wheel only (``--no-deps``); its dependencies are made visible by
a ``.pth`` line naming this venv's site-packages, whose own ``.pth`` files (the editable install of the checkout)
Python does not run from there, so the checkout cannot sneak in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT, SHARED_MODELS


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv (outside the source tree) with only the built wheel installed; returns its bin folder."""
    try:
        import setuptools
    except ImportError:
        pytest.skip("setuptools is not installed in this venv (make install-train brings it, with torch)")
    if int(setuptools.__version__.split(".")[0]) < 77:  # pyproject's license = "MIT" (PEP 639) needs 77
        pytest.skip(f"setuptools {setuptools.__version__} is too old to build the wheel without isolation (need 77)")
    work = tmp_path_factory.mktemp("wheel")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(work / "dist"), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    [wheel] = (work / "dist").glob("babymon-*.whl")
    venv.EnvBuilder(with_pip=False).create(work / "venv")
    bin_dir = work / "venv" / "bin"
    site = next((work / "venv" / "lib").glob("python3*/site-packages"))
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(bin_dir / "python"), "install", "--no-deps",
                              "-q", str(wheel)], capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr
    return bin_dir


def _run(bin_dir: Path, *args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(bin_dir / "babymon"), *args], capture_output=True, text=True, timeout=300, cwd=cwd,
                          env=os.environ | {"BABYMON_MODEL_DIR": str(cwd / "no-models")} | env)


def test_the_wheel_carries_the_models_the_web_page_and_the_blueprints(installed):
    [wheel] = (installed.parent.parent / "dist").glob("babymon-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("babymon/_bundled/models/manifest.json", "babymon/_bundled/models/posture/posture.npz",
                   "babymon/_bundled/models/finder/finder.npz", "babymon/_bundled/models/face_state/face_state.npz",
                   "babymon/_bundled/models/cry/logmel_cnn.npz", "babymon/http/static/index.html",
                   "babymon/_bundled/blueprints/automation/babymon/notify_snapshot.yaml"):
        assert needed in names, needed
    assert not any(n.endswith((".tflite", ".onnx", ".pth")) for n in names)  # no third-party weights


def test_the_installed_babymon_runs_from_the_wheel_not_the_checkout(installed, tmp_path, clip):
    where = subprocess.run([str(installed / "python"), "-c", "import babymon.paths as p; print(p.BUNDLED_MODELS)"],
                           capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(installed.parent), where.stdout  # inside the venv

    version = _run(installed, "--version", cwd=tmp_path)
    assert version.returncode == 0 and "0." in version.stdout + version.stderr

    bundled = ["posture_head", "posture_side", "presence", "face_state_head", "baby_finder", "cry_logmel_cnn",
               "cry_yamnet_head", "cry_config"]
    verify = _run(installed, "models", "verify", *bundled, cwd=tmp_path)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    if not SHARED_MODELS.is_dir():
        pytest.skip(f"third-party models not available: {SHARED_MODELS}")
    verify_all = _run(installed, "models", "verify", cwd=tmp_path, BABYMON_MODEL_MIRROR=str(SHARED_MODELS))
    assert verify_all.returncode == 0, verify_all.stdout + verify_all.stderr

    analyze = _run(installed, "analyze", str(clip), "--json", "--analyzer", "vision", "--analyzer", "cry",
                   cwd=tmp_path, BABYMON_MODEL_MIRROR=str(SHARED_MODELS))
    assert analyze.returncode == 0, analyze.stderr[-2000:]
    states = [json.loads(line) for line in analyze.stdout.splitlines() if '"kind":"state"' in line]
    assert states and not states[-1]["analyzers_missing"], states[-1]["analyzers_missing"] if states else analyze.stderr
    assert "face_covered" not in states[-1]["undetectable"] and "crying" not in states[-1]["undetectable"]
