"""RetinaFace (MobileNet-0.25): the PyTorch network and its ONNX export (lab), and the detector (run time), with the
real weights from ../shared/models on real infant photos from ../shared/data."""

from __future__ import annotations

import importlib.util
import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from babymon.models import ModelError, find_spec
from babymon.vision.geometry import Rotation, contains, iou
from babymon.vision.retinaface_onnx import ONNX_FILE, SOURCE_MODEL, sidecar_path
from babymon.vision.retinaface_priors import decode_boxes, decode_landmarks, priors
from babymon_lab.vision.eval_face import matches
from babymon_lab.vision.manifests import EYE, heads_with_eyes, read_yolo
from tests.conftest import SHARED_MODELS, shared_file

# the same photos as tests/test_vision_face.py: a close-up, and a baby with a breathing tube lying sideways
FACE_IMAGE = "vision/infant_face_parts/valid/images/000057_png.rf.324f3cc0a88c1d38a3f522f3930934f4.jpg"
TURNED_IMAGE = ("vision/infant_face_parts/valid/images/"
                "crawler_baby_breathing_tube_000014_jpg.rf.a639732a768e04b738dc329b98960b38.jpg")
NOSE = 4
HAVE_TORCH = importlib.util.find_spec("torch") is not None and importlib.util.find_spec("onnx") is not None
NO_TORCH = "torch and onnx are not installed (training extras: pip install -r requirements-train.txt)"


def _weights() -> Path:
    path = SHARED_MODELS / find_spec(SOURCE_MODEL).file
    if not path.is_file():
        pytest.skip(f"model file not available: {path}")
    return path


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """A model directory holding a fresh export of the real weights (the export itself is under test here)."""
    if not HAVE_TORCH:
        pytest.skip(f"cannot export RetinaFace to ONNX: {NO_TORCH}")
    from babymon_lab.vision.retinaface_export import export_onnx

    directory = tmp_path_factory.mktemp("models")
    export_onnx(_weights(), directory / ONNX_FILE, find_spec(SOURCE_MODEL).sha256)
    return directory


@pytest.fixture(scope="module")
def onnx_path(model_dir) -> Path:
    return model_dir / ONNX_FILE


@pytest.fixture(scope="module")
def detector(onnx_path):
    from babymon.vision.retinaface import RetinaFaceDetector

    return RetinaFaceDetector(onnx=onnx_path)


def _parts(image_path: Path, width: int, height: int):
    label = image_path.parent.parent / "labels" / (image_path.stem + ".txt")
    boxes = read_yolo(label, width, height)
    (head,) = heads_with_eyes(boxes)
    return head, [b for c, b in boxes if c == EYE], [b for c, b in boxes if c == NOSE]


def _read(relative: str) -> tuple[Path, np.ndarray]:
    import cv2

    path = shared_file(relative)
    return path, cv2.imread(str(path))


def test_finds_the_infant_face_with_landmarks_on_the_eyes_and_nose(detector):
    path, image = _read(FACE_IMAGE)
    height, width = image.shape[:2]
    head, eyes, noses = _parts(path, width, height)
    faces = detector.detect(image)
    assert len(faces) == 1, faces
    face = faces[0]
    assert matches(face.box, head) and iou(face.box, head) > 0.5 and face.score > 0.9
    # the landmarks are where the labelled eyes and nose are: a network with the wrong activations or anchors
    # loads the same state dict but puts them far off (and its boxes are twice too large)
    right_eye, left_eye, nose = face.landmarks[:3]
    assert right_eye[0] < left_eye[0]  # YuNet's order: the eye on the image's left first
    for point in (right_eye, left_eye):
        assert any(contains(box, point) for box in eyes), (point, eyes)
    assert any(contains(box, nose) for box in noses), (nose, noses)


def test_finds_the_face_after_a_quarter_turn_and_within_a_region(detector, onnx_path):
    import cv2

    from babymon.vision.retinaface import RetinaFaceDetector

    path, image = _read(TURNED_IMAGE)
    height, width = image.shape[:2]
    head, _, _ = _parts(path, width, height)
    assert any(matches(f.box, head) for f in detector.detect(image))

    rotated = cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE)
    rotation = Rotation(90, width, height)
    corners = rotation.forward(np.array([[head[0], head[1]], [head[2], head[3]]]))
    rotated_head = (corners[:, 0].min(), corners[:, 1].min(), corners[:, 0].max(), corners[:, 1].max())
    hits = [f for f in detector.detect(rotated) if matches(f.box, rotated_head)]
    assert hits and iou(hits[0].box, rotated_head) > 0.3, hits
    x, y = hits[0].landmarks[2]  # the nose, mapped back into the rotated frame's pixels
    assert contains(rotated_head, (x, y))

    # crib region: the crop around the head finds it (in full-frame pixels); a crop beside it finds nothing there
    r_height, r_width = rotated.shape[:2]
    region = (max(0.0, rotated_head[0] / r_width - 0.05), max(0.0, rotated_head[1] / r_height - 0.05),
              min(1.0, rotated_head[2] / r_width + 0.05), min(1.0, rotated_head[3] / r_height + 0.05))
    assert any(matches(f.box, rotated_head) for f in detector.detect(rotated, region=region))
    upright_only = RetinaFaceDetector(onnx=onnx_path, angles=(0,))
    assert all(f.angle == 0.0 for f in upright_only.detect(rotated))


def test_an_empty_grey_frame_has_no_face(detector):
    assert detector.detect(np.full((480, 640, 3), 128, np.uint8)) == []


def test_onnx_agrees_with_pytorch(onnx_path):
    if not HAVE_TORCH:
        pytest.skip(f"cannot compare with PyTorch: {NO_TORCH}")
    import torch

    from babymon.vision.retinaface import RetinaFaceUpright
    from babymon.vision.retinaface_priors import to_input
    from babymon_lab.vision.retinaface_net import load_retinaface

    _, image = _read(TURNED_IMAGE)
    image = image[:301, :257]  # odd sizes: the FPN's upsampling must follow the dynamic shape
    torch.set_num_threads(1)
    with torch.no_grad():
        expected = [t[0].numpy() for t in load_retinaface(_weights())(torch.from_numpy(to_input(image)))]
    got = RetinaFaceUpright(onnx_path).raw(image)
    for name, want, have in zip(("boxes", "scores", "landmarks"), expected, got):
        assert have.shape == want.shape, name
        assert np.abs(have - want).max() < 1e-3, name
    assert len(got[0]) == len(priors(301, 257))  # one anchor per output row, at odd sizes too


def test_priors_follow_the_network_output_order():
    anchors = priors(480, 640)
    assert anchors.shape == (2 * (60 * 80 + 30 * 40 + 15 * 20), 4)
    # first cell of stride 8: centre (4, 4) px, sizes 10 and 20; the next cell is 8 px to the right
    assert np.allclose(anchors[:3] * [640, 480, 640, 480], [[4, 4, 10, 10], [4, 4, 20, 20], [12, 4, 10, 10]])
    assert np.allclose(anchors[2 * 60 * 80] * [640, 480, 640, 480], [8, 8, 32, 32])  # first cell of stride 16
    assert np.allclose(anchors[-1] * [640, 480, 640, 480], [624, 464, 256, 256])  # last cell of stride 32
    zero = np.zeros((len(anchors), 4), np.float32)
    boxes = decode_boxes(zero, anchors)  # zero offsets: the anchor itself
    assert np.allclose(boxes[0] * [640, 480, 640, 480], [-1, -1, 9, 9])
    assert np.allclose(decode_landmarks(np.zeros((len(anchors), 10)), anchors)[5], anchors[5, :2])


def test_missing_or_corrupt_weights_are_refused_by_name(tmp_path, monkeypatch):
    from babymon_lab.vision.retinaface_export import ensure_onnx

    if not HAVE_TORCH:
        pytest.skip(f"the .pth is only read when exporting: {NO_TORCH}")
    spec = find_spec(SOURCE_MODEL)
    monkeypatch.setenv("BABYMON_MODEL_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("BABYMON_MODEL_MIRROR", str(tmp_path / "mirror"))
    with pytest.raises(ModelError, match=r"retinaface/mobilenet0\.25_Final\.pth\) is missing"):
        ensure_onnx()
    damaged = tmp_path / "mirror" / spec.file
    damaged.parent.mkdir(parents=True)
    data = bytearray(_weights().read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    with pytest.raises(ModelError, match=r"mirror/retinaface/mobilenet0\.25_Final\.pth is corrupt"):
        ensure_onnx()
    assert not (tmp_path / "models" / ONNX_FILE).exists()


def test_corrupt_or_foreign_onnx_is_refused_by_name(onnx_path, tmp_path):
    from babymon.vision.retinaface import RetinaFaceDetector

    copy = tmp_path / "rf.onnx"
    data = bytearray(onnx_path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    sidecar_path(copy).write_text(sidecar_path(onnx_path).read_text())
    with pytest.raises(ModelError, match=rf"{copy} is corrupt: sha256"):
        RetinaFaceDetector(onnx=copy)
    garbage = tmp_path / "garbage.onnx"  # no sidecar: loaded as it is, and onnxruntime refuses it
    garbage.write_bytes(b"not a model")
    with pytest.raises(ModelError, match=rf"{garbage} cannot be loaded by onnxruntime"):
        RetinaFaceDetector(onnx=garbage)
    with pytest.raises(ModelError, match=r"missing\.onnx does not exist"):
        RetinaFaceDetector(onnx=tmp_path / "missing.onnx")
    yunet = SHARED_MODELS / find_spec("yunet").file  # a valid ONNX file, but another network
    if yunet.is_file():
        with pytest.raises(ModelError, match="not a babymon RetinaFace export"):
            RetinaFaceDetector(onnx=yunet)


def test_a_missing_export_says_what_to_run_and_is_not_made_at_run_time(tmp_path, monkeypatch):
    """The run-time detector never exports (even with torch installed): it names the file and the command."""
    from babymon.vision.retinaface import RetinaFaceDetector

    monkeypatch.setenv("BABYMON_MODEL_DIR", str(tmp_path))
    with pytest.raises(ModelError) as caught:
        RetinaFaceDetector()
    message = str(caught.value)
    assert str(tmp_path / ONNX_FILE) in message and "does not exist" in message
    assert "babymon models export retinaface" in message and "make install-train" in message
    assert not (tmp_path / ONNX_FILE).exists()


def test_export_command_then_stale_export_is_redone(tmp_path, monkeypatch, caplog, capsys):
    if not HAVE_TORCH:
        pytest.skip(f"cannot export: {NO_TORCH}")
    from babymon.cli import main
    from babymon.vision.retinaface import RetinaFaceDetector
    from babymon.vision.retinaface_onnx import EXPORT_VERSION, read_record
    from babymon_lab.vision.retinaface_export import ensure_onnx

    _weights()
    assert main(["models", "export", "retinaface", "--model-dir", str(tmp_path)]) == 0
    onnx = tmp_path / ONNX_FILE
    assert f"exported {onnx}" in capsys.readouterr().out
    record = read_record(onnx)
    assert record is not None and record.source_sha256 == find_spec(SOURCE_MODEL).sha256
    assert record.export_version == EXPORT_VERSION

    stale = json.loads(sidecar_path(onnx).read_text())
    stale["source_sha256"] = "0" * 64  # made from other weights
    sidecar_path(onnx).write_text(json.dumps(stale))
    monkeypatch.setenv("BABYMON_MODEL_DIR", str(tmp_path))
    with pytest.raises(ModelError, match="is stale.*babymon models export retinaface"):
        RetinaFaceDetector()  # run time: refused by name, not exported again
    with caplog.at_level(logging.INFO, logger="babymon_lab.vision.retinaface_export"):
        assert ensure_onnx() == onnx
    assert "is stale" in caplog.text
    assert read_record(onnx).source_sha256 == find_spec(SOURCE_MODEL).sha256


def test_eval_face_runs_retinaface(model_dir, tmp_path, monkeypatch, capsys):
    import csv

    from babymon.cli import main

    monkeypatch.setenv("BABYMON_MODEL_DIR", str(model_dir))
    path, image = _read(FACE_IMAGE)
    head, _, _ = _parts(path, image.shape[1], image.shape[0])
    manifest = tmp_path / "face.csv"
    with manifest.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "label", "x1", "y1", "x2", "y2"])
        writer.writerow([str(path), "face", *head])
        grey = tmp_path / "grey.png"
        import cv2

        cv2.imwrite(str(grey), np.full((240, 320, 3), 128, np.uint8))
        writer.writerow([grey.name, "no_face", "", "", "", ""])
    assert main(["eval", "face", "--manifest", str(manifest), "--detector", "retinaface", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["detector"] == "retinaface" and report["n"] == 2
    assert report["confusion_matrix"]["matrix"] == [[1, 0], [0, 1]]


def test_copied_export_without_weights_still_runs(onnx_path, tmp_path, monkeypatch):
    """Once exported, the .pth is not needed: an export copied with its sidecar is used as it is."""
    from babymon.vision.retinaface import RetinaFaceDetector

    target = tmp_path / ONNX_FILE
    target.parent.mkdir(parents=True)
    shutil.copy(onnx_path, target)
    shutil.copy(sidecar_path(onnx_path), sidecar_path(target))
    monkeypatch.setenv("BABYMON_MODEL_DIR", str(tmp_path))
    monkeypatch.setenv("BABYMON_MODEL_MIRROR", str(tmp_path / "no-mirror"))
    _, image = _read(FACE_IMAGE)
    assert RetinaFaceDetector(angles=(0,)).detect(image)


def test_unwritable_model_directory_is_named(tmp_path):
    if not HAVE_TORCH:
        pytest.skip(f"cannot export: {NO_TORCH}")
    from babymon_lab.vision.retinaface_export import export_onnx

    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    with pytest.raises(ModelError, match=rf"cannot write the RetinaFace ONNX export to {not_a_dir}/retinaface"):
        export_onnx(_weights(), not_a_dir / ONNX_FILE, find_spec(SOURCE_MODEL).sha256)
