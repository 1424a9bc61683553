"""The whole vision path with the real models (from the mirror) on real clips and photos from ../shared/data."""

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import av
import cv2
import pytest

from babymon.analyzers.base import VideoFrame
from babymon.config import CameraConfig
from babymon.vision.analyzer import VisionAnalyzer
from babymon.vision.pipeline import VisionPipeline
from tests.conftest import SHARED_DATA, shared_file

SUPINE_CLIP = "video/newborn_supine_720p_aac.mp4"
FACE_DOWN = "vision/face_down_vs_not/train/images"


@pytest.fixture(scope="module")
def pipeline() -> VisionPipeline:
    return VisionPipeline()


def _frames(path: Path, every: int, width: int = 640):
    with av.open(str(path)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index % every == 0:
                image = frame.to_ndarray(format="bgr24")
                height = round(image.shape[0] * width / image.shape[1])
                yield cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA), frame.time


def test_known_supine_clip_reads_supine_with_a_face_found():
    analyzer = VisionAnalyzer("nursery", CameraConfig(url="rtsp://camera.invalid/stream"))
    observations = []
    for i, (image, pts) in enumerate(_frames(shared_file(SUPINE_CLIP), every=6)):  # 5 fps of the 30 fps clip
        observations.append(analyzer.analyze(VideoFrame("nursery", image, 1000.0 + pts, pts, i)))
    assert len(observations) >= 40
    settled = observations[5:]
    assert all(o.baby_present for o in settled)
    assert Counter(o.posture for o in settled).most_common(1)[0][0] == "supine"
    assert sum(o.face_box is not None for o in settled) >= 0.8 * len(settled)
    assert sum(o.face_state in ("clear", "pacifier") for o in settled) >= 0.8 * len(settled)
    assert {"locate", "face", "face_state", "posture"} <= set(observations[-1].timings_ms)


def test_following_the_baby_gives_the_same_answers_for_fewer_passes():
    """On the supine clip the analyzer follows the baby (last focus and upright turn, last face turn): most frames
    skip the finder and three of the four face turns, and every frame reads as the from-scratch path reads it.
    A frame without the baby is searched from scratch at once."""
    config = CameraConfig(url="rtsp://camera.invalid/stream", vision={"reuse_unchanged_seconds": 0})
    following = VisionAnalyzer("nursery", config)
    scratch = VisionAnalyzer("nursery", config)
    scratch.pipeline.locator.follower = None
    scratch.pipeline.face_detector = scratch.pipeline.face_detector.detector
    frames = list(_frames(shared_file(SUPINE_CLIP), every=6))[:25]
    for i, (image, pts) in enumerate(frames):
        a = following.analyze(VideoFrame("nursery", image, 1000.0 + pts, pts, i))
        b = scratch.analyze(VideoFrame("nursery", image, 1000.0 + pts, pts, i))
        assert (a.baby_present, a.face_state, a.posture) == (b.baby_present, b.face_state, b.posture), i
    follower, faces = following.pipeline.locator.follower, following.pipeline.face_detector
    assert follower.followed >= 20 and follower.searches <= 5
    assert faces.tracked_searches >= 20 and faces.full_searches <= 5
    searches = follower.searches
    blank = frames[-1][0] * 0 + 127
    gone = following.analyze(VideoFrame("nursery", blank, 2000.0, 1000.0, 99))
    assert follower.searches == searches + 1 and follower.focus is None and faces.angle is None
    assert gone.face_box is None


def _held_out_face_down_photos() -> tuple[list[Path], list[Path]]:
    """Face-down photos never trained on: (held out from the posture model, held out from the face-state model)."""
    from babymon_lab.vision.face_state_data import face_down_photos, split_of
    from babymon_lab.vision.posture_data import read_face_down_images, split_images

    shared_file(FACE_DOWN)  # skips when the data is absent
    data = SHARED_DATA
    posture = [im.path for im in split_images(read_face_down_images(data))["test"]]
    face_state = [p.path for p in face_down_photos(data) if p.label == "face_not_visible" and split_of(p.group) == "test"]
    assert len(posture) >= 10 and len(face_state) >= 10, "expected held-out face-down photos in face_down_vs_not"
    return sorted(posture), sorted(face_state)


def test_held_out_face_down_photos_read_prone_and_face_not_visible(pipeline):
    for_posture, for_face_state = _held_out_face_down_photos()
    results = {p: pipeline.analyze(cv2.imread(str(p))) for p in sorted(set(for_posture) | set(for_face_state))}
    assert all(r.baby_present for r in results.values()), [p.name for p, r in results.items() if not r.baby_present]
    prone = [results[p].posture == "prone" for p in for_posture]
    assert sum(prone) >= 0.8 * len(prone), [(p.name, results[p].posture) for p in for_posture]
    hidden = [results[p].face_state in ("face_not_visible", "covered") for p in for_face_state]
    assert sum(hidden) >= 0.7 * len(hidden), [(p.name, results[p].face_state) for p in for_face_state]


def test_held_out_covered_faces_read_covered_and_pacifiers_are_not_flagged(pipeline):
    """Occluders painted on held-out infant photos (the occlusion test split, as `babymon eval face_state` scores
    it): a covered close-up must not read "no baby" or "clear" (it did before presence saw covered faces)."""
    from babymon_lab.vision.face_state_data import SPLIT_SEED, face_part_photos, one_per_group, render, split_of

    shared_file("vision/infant_face_parts")
    base, _ = face_part_photos(SHARED_DATA)
    photos = one_per_group([p for p in base if split_of(p.group) == "test"])[:12]
    covered = [pipeline.analyze(render(p, "covered", SPLIT_SEED, variant=2)[0]).face_state for p in photos]
    pacifier = [pipeline.analyze(render(p, "pacifier", SPLIT_SEED, variant=1)[0]).face_state for p in photos]
    assert covered.count("covered") >= 8, covered  # 9 of these 12 when written
    assert "covered" not in pacifier and pacifier.count("pacifier") >= 9, pacifier  # 11 when written


def test_eval_posture_on_a_tiny_manifest_gives_the_documented_fields(tmp_path):
    rows = []
    for label in ("supine", "prone", "sitting", "standing"):
        folder = shared_file(f"vision/infant_posture/{label}")
        for image in sorted(folder.glob("*.jpg"))[:2]:
            rows.append(f"{image},{label}")
    manifest = tmp_path / "tiny.csv"
    manifest.write_text("path,label\n" + "\n".join(rows) + "\n")
    result = subprocess.run([sys.executable, "-m", "babymon", "eval", "posture", "--manifest", str(manifest), "--json"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["n"] == 8
    for key in ("accuracy", "macro_f1", "per_class", "confusion_matrix", "ms_per_image"):
        assert key in report
    assert set(report["per_class"]["prone"]) >= {"precision", "recall"}
    assert report["confusion_matrix"]["labels"][:5] == ["supine", "prone", "side", "sitting", "standing"]
    assert sum(map(sum, report["confusion_matrix"]["matrix"])) == 8


def test_eval_face_state_refuses_a_bad_label_naming_the_line(tmp_path):
    image = shared_file(SUPINE_CLIP)  # any existing file: the label is checked first
    manifest = tmp_path / "bad.csv"
    manifest.write_text(f"path,label\n{image},blanket\n")
    result = subprocess.run([sys.executable, "-m", "babymon", "eval", "face_state", "--manifest", str(manifest)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "line 2" in result.stderr and "blanket" in result.stderr


def test_analyze_json_and_annotate_write_per_frame_results_and_a_video(tmp_path):
    clip = shared_file(SUPINE_CLIP)
    out = tmp_path / "annotated.mp4"
    result = subprocess.run([sys.executable, "-m", "babymon", "analyze", str(clip), "--json", "--analyzer", "vision",
                             "--fps", "2", "--annotate", str(out)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    states = [json.loads(line) for line in result.stdout.splitlines() if '"kind":"state"' in line]
    assert len(states) >= 15
    last = states[-1]
    for key in ("baby_box", "face_box", "face", "posture", "scores"):
        assert key in last
    assert last["baby_present"] is True and last["face_box"] is not None
    with av.open(str(out)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert frames >= 15
