"""The face-state classifier with its committed head, the real MobileNet embedder and YuNet, on real photos from
../shared/data (held-out split) and on seeded composites of them."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from babymon.vision.face_state import (
    FACE_CLASSES,
    HEAD_FILE,
    MODEL_DIR,
    FaceStateClassifier,
    FaceStateHead,
    FaceStateModelError,
)
from babymon_lab.vision.manifests import read_yolo
from babymon_lab.vision.face_state_data import (
    SPLIT_SEED,
    face_part_photos,
    render,
    split_of,
)
from babymon_lab.vision.face_state_occluders import paint_cloth, paint_pacifier
from tests.conftest import SHARED_DATA, shared_file

# Held-out (test split) photos, chosen as plain examples: an upright infant face, a face-down overhead shot.
CLEAR_NAME = "train/images/crawler_baby_eyes_000034_jpg.rf.59bc68583e3d1de1921d948b2e2d6a61.jpg"
FACE_DOWN_NAME = "train/images/85_jpg.rf.9134c2e05056f2ee392196688ce7a7e5.jpg"


@pytest.fixture(scope="module")
def classifier() -> FaceStateClassifier:
    return FaceStateClassifier()


def _top(probs: dict[str, float]) -> str:
    assert set(probs) == set(FACE_CLASSES)
    assert abs(sum(probs.values()) - 1.0) < 1e-6
    return max(probs, key=probs.__getitem__)


def _photo(name: str):
    """The base-face photo ``name`` of infant_face_parts (with its parts), checked to be in the held-out split."""
    shared_file(f"vision/infant_face_parts/{name}")
    base, _ = face_part_photos(SHARED_DATA)
    photo = next(p for p in base if p.path.name == Path(name).name)
    assert split_of(photo.group, SPLIT_SEED) == "test", f"{name} must be a held-out photo"
    return photo


def test_clear_face_reads_clear_from_the_detected_face_and_from_the_head_box(classifier):
    from babymon.vision.face import YuNetDetector

    photo = _photo(CLEAR_NAME)
    image = cv2.imread(str(photo.path))
    faces = YuNetDetector().detect(image)
    assert faces, "YuNet should find this plain, upright infant face"
    face = max(faces, key=lambda f: f.score)
    assert _top(classifier.predict(image, face, None)) == "clear"
    assert _top(classifier.predict(image, None, photo.box)) == "clear"


def test_same_face_with_cloth_reads_covered_and_with_pacifier_reads_pacifier(classifier):
    photo = _photo(CLEAR_NAME)
    image = cv2.imread(str(photo.path))
    cloth = paint_cloth(image, photo.parts, np.random.default_rng(7), most_of_face=False)
    pacifier = paint_pacifier(image, photo.parts, np.random.default_rng(7))
    assert not np.array_equal(cloth, image) and not np.array_equal(pacifier, image)
    covered_probs = classifier.predict(cloth, None, photo.box)
    pacifier_probs = classifier.predict(pacifier, None, photo.box)
    assert _top(covered_probs) == "covered", covered_probs
    assert _top(pacifier_probs) == "pacifier", pacifier_probs
    assert pacifier_probs["covered"] < 0.2, "a pacifier alone is safe: it must not be flagged covered"


def test_seeded_composites_are_reproducible():
    photo = _photo(CLEAR_NAME)
    first, kind = render(photo, "covered", SPLIT_SEED, variant=2)
    again, kind_again = render(photo, "covered", SPLIT_SEED, variant=2)
    other, _ = render(photo, "covered", SPLIT_SEED + 1, variant=2)
    assert kind == kind_again and np.array_equal(first, again)
    assert not np.array_equal(first, other)


def test_face_down_head_box_reads_face_not_visible(classifier):
    path = shared_file(f"vision/face_down_vs_not/{FACE_DOWN_NAME}")
    image = cv2.imread(str(path))
    label = path.parent.parent / "labels" / (path.stem + ".txt")
    [(cls, head)] = read_yolo(label, image.shape[1], image.shape[0])
    assert cls == 0  # labelled face-down
    assert _top(classifier.predict(image, None, head)) == "face_not_visible"


def test_face_down_photo_reads_prone_and_face_not_visible_through_the_whole_pipeline(classifier):
    """Locator (MoveNet) → no face found → the pose head box → this classifier; posture from its classifier."""
    from babymon.vision.pipeline import VisionPipeline

    image = cv2.imread(str(shared_file(f"vision/face_down_vs_not/{FACE_DOWN_NAME}")))
    result = VisionPipeline(face_state=classifier).analyze(image)
    assert result.baby_present and result.face is None and result.head_box is not None
    assert result.face_state == "face_not_visible", result.face_state_probs
    assert result.posture == "prone", result.posture_probs


def test_nothing_to_look_at_means_face_not_visible(classifier):
    image = np.full((120, 160, 3), 90, np.uint8)
    assert _top(classifier.predict(image, None, None)) == "face_not_visible"


def test_missing_head_file_is_refused_with_its_name(tmp_path):
    with pytest.raises(FaceStateModelError, match=str(tmp_path / HEAD_FILE)):
        FaceStateClassifier(model_dir=tmp_path, embedder=object())


def test_corrupt_head_file_is_refused_with_its_name(tmp_path):
    (tmp_path / HEAD_FILE).write_bytes(b"not an npz at all")
    with pytest.raises(FaceStateModelError, match=f"{HEAD_FILE}.*not a readable"):
        FaceStateClassifier(model_dir=tmp_path, embedder=object())


def test_head_with_wrong_shapes_is_refused(tmp_path):
    with np.load(MODEL_DIR / HEAD_FILE) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["coef"] = arrays["coef"][:, :10]
    np.savez(tmp_path / HEAD_FILE, **arrays)
    with pytest.raises(FaceStateModelError, match="shape"):
        FaceStateClassifier(model_dir=tmp_path, embedder=object())


def test_committed_head_loads_and_is_small():
    path = MODEL_DIR / HEAD_FILE
    assert path.stat().st_size < 2_000_000
    head = FaceStateHead.load(path)
    assert head.classes == FACE_CLASSES and head.coef.shape == (len(FACE_CLASSES), 1024)
