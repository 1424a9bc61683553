"""Occlusion data: the split keeps Roboflow copies of a photo together, covering composites hide nose and
mouth while pacifiers leave the eyes and nose alone, and the manifest command writes a usable eval CSV."""

from __future__ import annotations

import os
from collections import defaultdict

import cv2
import numpy as np
import pytest

from babymon.analyzers.base import FACE_STATES
from babymon_lab.vision.eval_face import read_manifest
from babymon_lab.vision.manifests import photo_prefix
from babymon_lab.vision.face_state_data import (
    SPLIT_SEED,
    build_manifest,
    composite,
    face_down_photos,
    face_part_photos,
    main,
    split_of,
)
from babymon_lab.vision.face_state_occluders import COVERING_PAINTERS
from tests.conftest import SHARED_DATA, shared_file


@pytest.fixture(scope="module")
def photos():
    shared_file("vision/infant_face_parts/train/images")
    shared_file("vision/face_down_vs_not/train/images")
    base, real = face_part_photos(SHARED_DATA)
    return base, real, face_down_photos(SHARED_DATA)


def test_split_keeps_every_photos_copies_together(photos):
    base, real, down = photos
    splits = defaultdict(set)
    folders = defaultdict(set)
    for photo in base + real + down:
        splits[photo_prefix(photo.path.name)].add(split_of(photo.group, SPLIT_SEED))
        folders[photo_prefix(photo.path.name)].add(photo.path.parent.parent.name)
    assert all(len(s) == 1 for s in splits.values())
    assert any(len(f) == 2 for f in folders.values()), "the export has copies in both train/ and valid/"
    share = sum(s == {"test"} for s in splits.values()) / len(splits)
    assert 0.1 < share < 0.3


def _pixel(image: np.ndarray, point) -> np.ndarray:
    return image[int(round(point[1])), int(round(point[0]))].astype(int)


def test_covering_occluders_hide_nose_and_mouth_and_pacifiers_do_not_hide_the_eyes(photos):
    base, _, _ = photos
    photo = next(p for p in base if len(p.parts.eyes) == 2 and split_of(p.group) == "test")
    image = cv2.imread(str(photo.path))
    for n, kind in enumerate(COVERING_PAINTERS):
        painted = composite(image, photo.parts, kind, np.random.default_rng(n))
        changed = [np.abs(_pixel(painted, p) - _pixel(image, p)).sum() > 0 for p in photo.parts.must_cover()]
        assert sum(changed) >= 3, f"{kind} left the nose/mouth visible"
    pacified = composite(image, photo.parts, "pacifier", np.random.default_rng(0))
    mouth = photo.parts.mouth_centre
    assert np.abs(_pixel(pacified, mouth) - _pixel(image, mouth)).sum() > 0
    for eye in photo.parts.eyes:
        centre = ((eye[0] + eye[2]) / 2, (eye[1] + eye[3]) / 2)
        assert np.array_equal(_pixel(pacified, centre), _pixel(image, centre))


def test_unknown_occluder_is_refused(photos):
    base, _, _ = photos
    image = np.zeros((64, 64, 3), np.uint8)
    with pytest.raises(ValueError, match="occluder kind"):
        composite(image, base[0].parts, "helmet", np.random.default_rng(0))


def test_manifest_command_writes_a_usable_eval_csv(tmp_path):
    """On a small copy of the data layout (links to a few real photos), the CSV reads as an occlusion manifest."""
    data = tmp_path / "data"
    for source, count in (("vision/infant_face_parts/valid", 12), ("vision/face_down_vs_not/valid", 6)):
        real_images = shared_file(source) / "images"
        for sub in ("images", "labels"):
            (data / source / sub).mkdir(parents=True)
        for image in sorted(real_images.glob("*.jpg"))[:count]:
            os.symlink(image, data / source / "images" / image.name)
            label = f"{image.stem}.txt"
            os.symlink(real_images.parent / "labels" / label, data / source / "labels" / label)
    for source in ("vision/infant_face_parts/train", "vision/face_down_vs_not/train"):
        (data / source / "images").mkdir(parents=True)
    out = tmp_path / "out"
    assert main(["manifest", str(out), "--split", "all", "--data", str(data)]) == 0
    rows = read_manifest(out / "occlusion_all.csv", FACE_STATES)
    labels = {row.label for row in rows}
    assert {"clear", "pacifier", "covered"} <= labels
    assert all(row.path.is_file() for row in rows)
    composites = list((out / "images").glob("*.jpg"))
    assert len(composites) == 2 * sum(row.label == "clear" and "infant_face_parts" in str(row.path) for row in rows)
    assert build_manifest(data, tmp_path / "again", "all", progress=False).read_text() != ""


def test_manifest_command_names_a_missing_data_folder(tmp_path, capsys):
    assert main(["manifest", str(tmp_path / "out"), "--data", str(tmp_path / "nowhere")]) == 1
    assert "nowhere" in capsys.readouterr().err
