"""Teach-your-nursery with the real models on real frames: the cached features give exactly the pipeline's answer,
``babymon train nursery`` refits a folder from a labelled nursery folder (and refuses one it cannot check), and
the folder is what ``vision.models``, ``check-config``, ``models list`` and ``eval --models`` use."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from babymon.nursery.folder import NurseryFolder, prediction_of
from tests.conftest import ROOT, SHARED_DATA, shared_file

VIDEO = "video/newborn_supine_720p_aac.mp4"
T0 = 1_780_000_000.0


def babymon(*args: str, check: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "babymon", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, check=check)


def video_frames(every: float = 0.5) -> list[np.ndarray]:
    import cv2

    capture = cv2.VideoCapture(str(shared_file(VIDEO)))
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    frames, index = [], 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        if index % max(1, round(fps * every)) == 0:
            frames.append(cv2.resize(frame, (640, round(frame.shape[0] * 640 / frame.shape[1]))))
        index += 1
    capture.release()
    return frames


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    return video_frames()


def nursery(root: Path, frames: list[np.ndarray], labelled: int) -> NurseryFolder:
    """A nursery folder as capture makes it (frames 5 minutes apart), the first ``labelled`` frames labelled as
    what the clip shows (a newborn on its back, face uncovered)."""
    import cv2

    from babymon.analyzers.base import Observation

    folder = NurseryFolder(root)
    for i, image in enumerate(frames):
        jpeg = cv2.imencode(".jpg", image)[1].tobytes()
        name = folder.save_frame(jpeg, prediction_of(Observation(baby_present=True, face_state="clear",
                                                                 posture="supine")), "capture",
                                 taken_at=T0 + 300 * i)
        if i < labelled:
            folder.set_label(name, posture="supine", face_state="clear")
    return folder


def test_cached_features_give_the_pipelines_answer(frames):
    import cv2

    from babymon.nursery.features import extract, predict
    from babymon.nursery.heads import load_heads
    from babymon.vision.pipeline import VisionPipeline

    pipeline, heads = VisionPipeline(), load_heads(None)
    images = frames[::7]
    crib = SHARED_DATA / "vision" / "crib_cam" / "images"
    if crib.is_dir():
        images += [cv2.imread(str(p)) for p in sorted(crib.glob("*.jpg"))[:12]]
    for image in images:
        result = pipeline.analyze(image)
        answer = predict(heads, extract(pipeline, image))
        assert answer.posture == (result.posture or "no_baby")
        assert answer.face_state == result.face_state
        for label, p in result.posture_probs.items():
            assert answer.posture_probs[label] == pytest.approx(p, abs=1e-6)


def test_train_nursery_writes_a_checked_folder_that_the_config_and_eval_use(frames, tmp_path):
    folder = nursery(tmp_path / "nursery" / "cot", frames, labelled=len(frames))
    out = tmp_path / "heads"
    done = babymon("train", "nursery", "--labels", str(folder.labels_path), "--out", str(out))
    assert done.returncode == 0, done.stderr[-2000:]
    for name in ("posture.npz", "side.json", "presence.json", "face_state.npz", "MODEL_CARD.md", "metrics.json",
                 "heads.json"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["reasons"] == [] and len(metrics["held_back"]) >= 6
    assert metrics["counts"]["posture"] == {"supine": len(frames)}
    assert metrics["refitted"]["posture"]["macro_f1"] >= metrics["shipped"]["posture"]["macro_f1"]
    card = (out / "MODEL_CARD.md").read_text()
    assert "Passed the check" in card and f"supine {len(frames)}" in card

    config = tmp_path / "config.yaml"
    config.write_text(f"cameras:\n  cot:\n    url: {shared_file(VIDEO)}\n    vision:\n      models: {out}\n"
                      f"nursery:\n  path: {tmp_path / 'nursery'}\nhttp:\n  enabled: false\n")
    checked = babymon("check-config", "-c", str(config))
    assert checked.returncode == 0, checked.stderr
    listed = babymon("models", "list", "-c", str(config))
    assert f"cot: {out} (nursery refit, {len(frames)} labelled frames" in listed.stdout

    defaults = tmp_path / "defaults.yaml"  # the daemon's own path: the vision analyzer built with the folder
    defaults.write_text(config.read_text().replace("cameras:", f"defaults:\n  vision:\n    models: {out}\ncameras:"))
    analysed = babymon("analyze", str(shared_file(VIDEO)), "-c", str(defaults), "--analyzer", "vision", "--fps", "1",
                       "--json")
    assert analysed.returncode == 0, analysed.stderr[-2000:]
    lines = [json.loads(line) for line in analysed.stdout.splitlines() if line.startswith("{")]
    states = [line for line in lines if line["kind"] == "state"]
    assert states and not {"face_covered", "prone", "standing"} & set(states[-1]["undetectable"])
    assert states[-1]["posture"] == "supine" and states[-1]["face"] == "clear"

    manifest = tmp_path / "manifest.csv"
    with manifest.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label"])
        for info in folder.frames()[::4]:
            writer.writerow([str(folder.root / info.name), "supine"])
    evaluated = babymon("eval", "posture", "--manifest", str(manifest), "--models", str(out), "--json")
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    report = json.loads(evaluated.stdout)
    assert report["models"] == str(out) and report["n"] == len(folder.frames()[::4])

    (out / "face_state.npz").write_bytes(b"not a zip")
    broken = babymon("check-config", "-c", str(config))
    assert broken.returncode == 2 and "face_state.npz" in broken.stderr and "cameras.cot.vision.models" in broken.stderr


def test_a_refit_that_cannot_be_checked_is_refused_unless_forced(frames, tmp_path):
    folder = nursery(tmp_path / "cot", frames[:8], labelled=5)
    out = tmp_path / "heads"
    refused = babymon("train", "nursery", "--labels", str(folder.labels_path), "--out", str(out))
    assert refused.returncode == 3 and "held back" in refused.stderr and not out.exists()
    forced = babymon("train", "nursery", "--labels", str(folder.labels_path), "--out", str(out), "--force")
    assert forced.returncode == 0, forced.stderr[-2000:]
    assert json.loads((out / "heads.json").read_text())["forced"] is True
    assert "Refused by the check, written with --force" in (out / "MODEL_CARD.md").read_text()
