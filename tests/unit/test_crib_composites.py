"""The crib-camera composites the baby finder trains on (and the crib-scale test is made of): the box they report
is where the pasted baby really is, whatever turn or mirror was drawn; the IR look-alike manifest keeps its rows."""

import csv

import cv2
import numpy as np
import pytest

from babymon.vision.geometry import iou
from babymon_lab.vision.finder_train import composite, crib_frame_look
from babymon_lab.vision.ir_manifest import ir_look, write_ir_manifest


def _photo() -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """A 300×200 photo (grey) with a red 'baby' whose top-left corner is marked blue (to see turns)."""
    image = np.full((200, 300, 3), 128, np.uint8)
    image[50:150, 60:220] = (0, 0, 255)
    image[50:70, 60:80] = (255, 0, 0)
    return image, (60.0, 50.0, 220.0, 150.0)


@pytest.mark.parametrize("seed", range(12))
def test_the_composite_box_is_where_the_pasted_baby_is(seed):
    baby, box = _photo()
    background = np.full((480, 640, 3), 40, np.uint8)
    frame, pasted = composite(baby, box, background, np.random.default_rng(seed))
    assert frame.shape == background.shape
    red = (frame[:, :, 2] > 150) & (frame[:, :, 0] < 100)
    blue = (frame[:, :, 0] > 150) & (frame[:, :, 2] < 100)
    ys, xs = np.nonzero(red | blue)
    seen = (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))
    assert iou(seen, pasted) > 0.8  # the soft edge eats a pixel or two of the rim
    share = (pasted[2] - pasted[0]) * (pasted[3] - pasted[1]) / (640 * 480)
    assert 0.015 <= share <= 0.16  # 2-15 % of the frame, give or take the rounding


def test_the_crib_look_keeps_the_frame_size_and_changes_the_pixels():
    frame = np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    looked = crib_frame_look(frame, np.random.default_rng(1))
    assert looked.shape == frame.shape and looked.dtype == np.uint8
    assert not np.array_equal(looked, frame)


def test_the_ir_look_is_gray_and_the_manifest_keeps_labels_and_columns(tmp_path):
    gray = ir_look(np.full((10, 10, 3), (0, 100, 200), np.uint8), np.random.default_rng(0))
    assert np.array_equal(gray[:, :, 0], gray[:, :, 1]) and np.array_equal(gray[:, :, 1], gray[:, :, 2])
    images = tmp_path / "in"
    images.mkdir()
    for name in ("a.jpg", "b.jpg"):
        cv2.imwrite(str(images / name), np.full((20, 30, 3), 200, np.uint8))
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,label,group\nin/a.jpg,prone,g1\nin/b.jpg,supine,g2\n")
    out = write_ir_manifest(manifest, tmp_path / "ir")
    rows = list(csv.DictReader(out.open()))
    assert [(r["label"], r["group"]) for r in rows] == [("prone", "g1"), ("supine", "g2")]
    assert all((out.parent / r["path"]).is_file() for r in rows)
    manifest.write_text("path,label\nin/missing.jpg,prone\n")
    with pytest.raises(ValueError, match="line 2: cannot read"):
        write_ir_manifest(manifest, tmp_path / "ir2")
