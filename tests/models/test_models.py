"""babymon.models and ``babymon models ...`` against the real model files in ../shared/models and a real
HTTP server on 127.0.0.1 (the internet is never used)."""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import os
import re
import threading
from pathlib import Path

import pytest

from babymon import cli, models, models_download
from babymon.analyzers.base import AnalyzerUnavailable

SMALL = "yamnet_class_map"  # 14 kB: cheap to copy around


@pytest.fixture
def mirror() -> Path:
    value = os.environ.get(models.ENV_MIRROR)
    if not value or not Path(value).is_dir():
        pytest.skip(f"model mirror not available ({models.ENV_MIRROR} unset; put ../shared/models beside the repo)")
    return Path(value)


@pytest.fixture
def model_dir(tmp_path, monkeypatch) -> Path:
    """An empty model directory for this test, so ~/.cache is never read or written."""
    directory = tmp_path / "models"
    monkeypatch.setenv(models.ENV_MODEL_DIR, str(directory))
    return directory


@pytest.fixture
def no_mirror(monkeypatch) -> None:
    monkeypatch.delenv(models.ENV_MIRROR, raising=False)


def _spec(name: str, data: bytes, url: str | None = None, **changes) -> models.ModelSpec:
    fields = dict(name=name, task="test", file=f"test/{name}.bin", sha256=hashlib.sha256(data).hexdigest(),
                  bytes=len(data), license="MIT", url=url)
    return models.ModelSpec(**{**fields, **changes})


# ------------------------------------------------------------------------------------------------ manifest

def test_manifest_names_the_models_analyzers_ask_for():
    names = {spec.name for spec in models.load_manifest()}
    assert {"yunet", "retinaface_mnet025", "blazeface_short", "blazeface_full", "pose_detection",
            "pose_landmark_lite", "pose_landmark_full", "movenet_lightning", "yamnet", "yamnet_class_map",
            "mobilenet_v1_embedding"} <= names
    for spec in models.load_manifest():
        assert spec.bundled or spec.url.startswith("https://"), spec.name


def test_manifest_agrees_with_the_mirror_manifest(mirror):
    """sha256 and size of every entry are the ones ../shared/models/MANIFEST.md lists for that file."""
    listed = {m["file"]: (int(m["bytes"].replace(",", "")), m["sha"]) for m in (
        re.match(r"\| `models/(?P<file>[^`]+)` \| (?P<bytes>[\d,]+) \| `(?P<sha>[0-9a-f]{64})` \|", line)
        for line in (mirror / "MANIFEST.md").read_text().splitlines()) if m}
    assert listed, "no file rows found in MANIFEST.md"
    specs = [s for s in models.load_manifest() if not s.bundled]
    assert {s.file for s in specs} == set(listed)
    for spec in specs:
        assert (spec.bytes, spec.sha256) == listed[spec.file], spec.name


def test_every_mirror_file_verifies(mirror, model_dir):
    statuses = models.verify([s.name for s in models.load_manifest() if not s.bundled])
    assert [s.spec.name for s in statuses if s.status != "ok"] == []
    for s in statuses:
        assert s.path == mirror / s.spec.file
        assert s.path.stat().st_size == s.spec.bytes


@pytest.mark.parametrize(("change", "message"), [
    ({"sha256": "abc"}, "'sha256' must be 64 hex digits"),
    ({"bytes": "12"}, "field 'bytes' has the wrong type"),
    ({"file": "../etc/passwd"}, "'file' must be a relative path"),
    ({"url": None}, "needs a 'url'"),
    ({"colour": "red"}, "unknown field(s) colour"),
])
def test_bad_manifest_entry_is_named(tmp_path, change, message):
    entry = {"name": "broken", "task": "t", "file": "x/y.bin", "sha256": "0" * 64, "bytes": 3, "license": "MIT",
             "url": "https://example.invalid/y.bin", **change}
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"models": [entry]}))
    with pytest.raises(models.ModelError) as excinfo:
        models.load_manifest(path)
    assert "models[0] (broken)" in str(excinfo.value) and message in str(excinfo.value)


def test_manifest_missing_field_and_bad_json(tmp_path):
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"models": [{"name": "half", "task": "t"}]}))
    with pytest.raises(models.ModelError, match=r"half.*missing field\(s\) file, sha256, bytes, license"):
        models.load_manifest(path)
    path.write_text("{not json")
    with pytest.raises(models.ModelError, match="not valid JSON"):
        models.load_manifest(path)


# ------------------------------------------------------------------------------------------------ model_path

def test_model_path_uses_the_mirror_in_place(mirror, model_dir):
    assert models.model_path("yamnet") == mirror / "yamnet" / "yamnet.tflite"
    assert models.model_path("yamnet_class_map") == mirror / "yamnet" / "yamnet_class_map.csv"
    assert not model_dir.exists()  # nothing copied


def test_missing_model_says_what_and_how_to_fix(model_dir, no_mirror):
    with pytest.raises(models.ModelError) as excinfo:
        models.model_path("yamnet")
    text = str(excinfo.value)
    assert "model 'yamnet'" in text and "missing" in text
    assert str(model_dir / "yamnet" / "yamnet.tflite") in text
    assert "babymon models download yamnet" in text and models.ENV_MIRROR in text
    assert isinstance(excinfo.value, AnalyzerUnavailable)  # an analyzer that needs it is reported unavailable


def test_unknown_model_lists_the_known_ones(model_dir):
    with pytest.raises(models.ModelError, match=r"unknown model 'yamnett'; known models: .*yamnet"):
        models.model_path("yamnett")


def test_corrupt_file_is_refused(model_dir, no_mirror):
    bad = model_dir / "yamnet" / "yamnet.tflite"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"not a model")
    with pytest.raises(models.ModelError) as excinfo:
        models.model_path("yamnet")
    text = str(excinfo.value)
    expected = models.find_spec("yamnet").sha256
    assert "'yamnet'" in text and str(bad) in text and "corrupt" in text
    assert f"sha256 {hashlib.sha256(b'not a model').hexdigest()[:12]}" in text and expected[:12] in text
    [status] = models.verify(["yamnet"])
    assert status.status == "corrupt" and status.path == bad


def test_corrupt_cache_falls_back_to_a_good_mirror_copy_and_says_so(mirror, model_dir):
    bad = model_dir / "yamnet" / "yamnet_class_map.csv"
    bad.parent.mkdir(parents=True)
    bad.write_text("index,mid,display_name\n")
    assert models.model_path(SMALL) == mirror / "yamnet" / "yamnet_class_map.csv"
    [status] = models.verify([SMALL])
    assert status.status == "ok" and len(status.problems) == 1 and str(bad) in status.problems[0]


def test_bundled_model_is_verified_in_the_repository_models_folder(tmp_path, monkeypatch, model_dir, no_mirror):
    data = b"weights trained by the project"
    bundled_dir = tmp_path / "repo_models"
    (bundled_dir / "cry").mkdir(parents=True)
    (bundled_dir / "cry" / "head.npz").write_bytes(data)
    entry = {"name": "cry_head", "task": "t", "file": "cry/head.npz", "sha256": hashlib.sha256(data).hexdigest(),
             "bytes": len(data), "license": "MIT", "bundled": True}
    (bundled_dir / "manifest.json").write_text(json.dumps({"models": [entry]}))
    monkeypatch.setattr(models, "BUNDLED_DIR", bundled_dir)
    monkeypatch.setattr(models, "MANIFEST_PATH", bundled_dir / "manifest.json")
    assert models.model_path("cry_head") == bundled_dir / "cry" / "head.npz"
    assert models.verify()[0].status == "bundled"
    assert models_download.download(progress=False)[0].status == "bundled"  # nothing fetched
    (bundled_dir / "cry" / "head.npz").write_bytes(data + b"!")
    with pytest.raises(models.ModelError, match=r"cry_head.*corrupt.*reinstall or restore"):
        models.model_path("cry_head")


def test_retraining_records_the_new_sha256_of_bundled_files_only(tmp_path):
    bundled_dir = tmp_path / "repo_models"
    (bundled_dir / "posture").mkdir(parents=True)
    head, other = bundled_dir / "posture" / "posture.npz", bundled_dir / "posture" / "side.json"
    head.write_bytes(b"old"), other.write_bytes(b"side")
    entries = [{"name": n, "task": "t", "file": f, "sha256": "0" * 64, "bytes": 1, "license": "MIT", "bundled": True}
               for n, f in (("posture_head", "posture/posture.npz"), ("posture_side", "posture/side.json"))]
    manifest = bundled_dir / "manifest.json"
    manifest.write_text(json.dumps({"models": entries}))
    head.write_bytes(b"retrained weights")
    assert models.record_bundled([head, tmp_path / "elsewhere.npz"], manifest) == ["posture_head"]
    specs = {s.name: s for s in models.load_manifest(manifest)}
    assert specs["posture_head"].sha256 == hashlib.sha256(b"retrained weights").hexdigest()
    assert specs["posture_head"].bytes == len(b"retrained weights")
    assert specs["posture_side"].sha256 == "0" * 64  # not rewritten, so still says corrupt
    assert models.record_bundled([tmp_path / "out" / "posture.npz"], manifest) == []  # --out elsewhere: no change


def test_every_bundled_model_in_the_repository_matches_its_manifest_entry(no_mirror):
    bundled = [s for s in models.load_manifest() if s.bundled]
    assert {"posture_head", "presence", "face_state_head", "cry_logmel_cnn"} <= {s.name for s in bundled}
    statuses = models.verify([s.name for s in bundled])
    assert [s.status for s in statuses] == ["bundled"] * len(bundled), [s.problems for s in statuses]


# ------------------------------------------------------------------------------------------------ download

def test_download_copies_from_the_mirror_with_progress(mirror, model_dir):
    out = io.StringIO()
    [status] = models_download.download([SMALL], stream=out)
    target = model_dir / "yamnet" / "yamnet_class_map.csv"
    assert status.status == "ok" and status.path == target
    assert target.read_bytes() == (mirror / "yamnet" / "yamnet_class_map.csv").read_bytes()
    assert f"\r  {SMALL}  " in out.getvalue() and "100%" in out.getvalue() and "done" in out.getvalue()
    assert models.model_path(SMALL) == target  # the model directory comes before the mirror
    assert list(target.parent.glob(".*.part")) == []

    again = io.StringIO()
    models_download.download([SMALL], stream=again)
    assert "already present" in again.getvalue()


def test_download_from_a_mirror_without_the_file(tmp_path, model_dir):
    empty = tmp_path / "empty_mirror"
    empty.mkdir()
    with pytest.raises(models.ModelError, match=r"mirror file .*yamnet_class_map.csv does not exist"):
        models_download.download([SMALL], progress=False, mirror=empty)


class _Server:
    """http.server on 127.0.0.1 serving ``files``; ``fail_first`` answers the first N GETs with 503."""

    def __init__(self, files: dict[str, bytes], fail_first: int = 0):
        self.files, self.fail_first, self.requests = files, fail_first, 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                server.requests += 1
                body = server.files.get(self.path)
                if server.requests <= server.fail_first:
                    self.send_error(503, "try again")
                elif body is None:
                    self.send_error(404, "no such file")
                else:
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def __enter__(self) -> _Server:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


DATA = os.urandom(300_000)


@pytest.fixture
def fast_retries(monkeypatch):
    monkeypatch.setattr(models_download, "RETRY_DELAY_S", 0.0)


def test_download_over_http(model_dir, no_mirror, fast_retries):
    with _Server({"/m.bin": DATA}) as server:
        spec = _spec("fake", DATA, url=server.url("/m.bin"))
        out = io.StringIO()
        [status] = models_download.download(["fake"], specs=[spec], stream=out)
    assert status.status == "ok" and (model_dir / "test" / "fake.bin").read_bytes() == DATA
    assert "fake  0.3/0.3 MB 100% done" in out.getvalue()
    assert server.requests == 1


def test_http_checksum_mismatch_keeps_nothing(model_dir, no_mirror, fast_retries):
    with _Server({"/m.bin": DATA}) as server:
        spec = _spec("fake", DATA, url=server.url("/m.bin"), sha256="f" * 64)
        with pytest.raises(models.ModelError) as excinfo:
            models_download.download(["fake"], specs=[spec], stream=io.StringIO())
    text = str(excinfo.value)
    assert "'fake'" in text and "checksum mismatch" in text and "ffffffffffff" in text
    assert hashlib.sha256(DATA).hexdigest()[:12] in text
    assert not (model_dir / "test" / "fake.bin").exists()
    assert list((model_dir / "test").iterdir()) == []  # temp file removed


def test_http_404_is_not_retried(model_dir, no_mirror, fast_retries):
    with _Server({}) as server:
        spec = _spec("fake", DATA, url=server.url("/gone.bin"))
        with pytest.raises(models.ModelError, match=r"'fake': download from .*/gone.bin failed: HTTP 404"):
            models_download.download(["fake"], specs=[spec], progress=False)
    assert server.requests == 1


def test_http_server_error_is_retried(model_dir, no_mirror, fast_retries):
    with _Server({"/m.bin": DATA}, fail_first=models_download.DOWNLOAD_ATTEMPTS - 1) as server:
        spec = _spec("fake", DATA, url=server.url("/m.bin"))
        [status] = models_download.download(["fake"], specs=[spec], progress=False)
    assert status.status == "ok" and server.requests == models_download.DOWNLOAD_ATTEMPTS


def test_unreachable_server_gives_a_clear_error(model_dir, no_mirror, fast_retries):
    with _Server({}) as server:  # take a free port, then close it: nothing listens there any more
        url = server.url("/m.bin")
    spec = _spec("fake", DATA, url=url)
    with pytest.raises(models.ModelError, match=r"'fake': download from http://127.0.0.1:\d+/m.bin failed: .*refused"):
        models_download.download(["fake"], specs=[spec], progress=False)


# ------------------------------------------------------------------------------------------------ CLI

def test_cli_verify_exit_codes(mirror, model_dir, monkeypatch, capsys):
    assert cli.main(["models", "verify", "yamnet", SMALL]) == 0
    assert "yamnet: ok" in capsys.readouterr().out

    monkeypatch.delenv(models.ENV_MIRROR)
    assert cli.main(["models", "verify", "yamnet", SMALL]) == 1
    captured = capsys.readouterr()
    assert "yamnet: MISSING" in captured.out
    assert "2 model(s) missing or corrupt: yamnet, yamnet_class_map" in captured.err

    assert cli.main(["models", "verify", SMALL, "--mirror", str(mirror)]) == 0  # the flag beats the environment
    assert cli.main(["models", "verify", "nope"]) == 1
    assert "unknown model 'nope'" in capsys.readouterr().err


def test_cli_list_and_download(mirror, model_dir, tmp_path, capsys):
    assert cli.main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"yamnet\s+audio event.*Apache-2.0\s+ok\s+" + re.escape(str(mirror)), out)
    assert f"mirror: {mirror}" in out

    other = tmp_path / "other_models"
    assert cli.main(["models", "download", SMALL, "--model-dir", str(other)]) == 0
    assert "100% done" in capsys.readouterr().err
    assert (other / "yamnet" / "yamnet_class_map.csv").is_file()
    assert cli.main(["models", "list", "--model-dir", str(other)]) == 0
    assert re.search(rf"{SMALL}\s.*\sok\s+{re.escape(str(other))}", capsys.readouterr().out)
