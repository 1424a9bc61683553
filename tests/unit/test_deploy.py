"""The systemd unit in deploy/ is valid and restarts babymon whatever happens, except for a refused config."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from babymon import cli

UNIT = Path(__file__).resolve().parents[2] / "deploy" / "babymon.service"


def unit_sections() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, comment_prefixes=("#", ";"))
    parser.optionxform = str
    parser.read_string(UNIT.read_text())
    return parser


def test_unit_restarts_always_and_never_gives_up():
    unit = unit_sections()
    assert unit["Service"]["Restart"] == "always"
    assert unit["Unit"]["StartLimitIntervalSec"] == "0"
    assert unit["Service"]["RestartPreventExitStatus"] == str(cli.EXIT_CONFIG)  # a refused config: no restart
    assert cli.EXIT_FAILURE != cli.EXIT_CONFIG  # what `babymon run` exits with after saying offline: restarted
    assert unit["Service"]["User"] != "root"


def test_systemd_accepts_the_unit(tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (apt-get install systemd)")
    babymon = Path(sys.executable).with_name("babymon")
    assert babymon.exists(), f"{babymon}: the babymon command from `make install`"
    unit = tmp_path / "babymon.service"
    unit.write_text(UNIT.read_text().replace("/opt/babymon/.venv/bin/babymon", str(babymon)))
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    problems = [line for line in (result.stdout + result.stderr).splitlines() if str(unit) in line or "babymon" in line]
    assert result.returncode == 0 and problems == [], result.stdout + result.stderr
