"""The baby finder's pure parts: letterbox maps, cell targets, the grid → box step, the focus region, the head."""

import numpy as np
import pytest

from babymon.analyzers.base import AnalyzerUnavailable
from babymon.vision.baby_finder import (
    CELL,
    CELL_FEATURES,
    GRID,
    FinderModel,
    Letterbox,
    cell_features,
    cell_labels,
    focus_region,
    grid_box,
)
from babymon.vision.linear import LinearHead


def test_letterbox_maps_a_box_there_and_back():
    lb = Letterbox.of(640, 480)  # padded top and bottom by 80 px each
    assert lb.scale == pytest.approx(640 / 224)
    assert lb.to_view((0, 0, 224, 224)) == pytest.approx((0, -80, 640, 560))
    box = (100.0, 50.0, 300.0, 200.0)
    assert lb.to_view(lb.to_input(box)) == pytest.approx(box)


def test_cell_labels_mark_inside_rim_and_outside():
    lb = Letterbox.of(224, 224)
    labels = cell_labels([(32, 32, 96, 64)], lb)  # cells x 2..5, y 2..3
    assert labels[2:4, 2:6].tolist() == [[1] * 4] * 2
    assert (labels == 1).sum() == 8
    assert labels[10, 10] == 0 and labels[0, 0] == 0
    rim = cell_labels([(30, 30, 98, 66)], lb)  # overhangs into the neighbouring cells by 2 px: still negative
    assert (rim == -1).sum() == 0 and (rim == 1).sum() == 8
    big_rim = cell_labels([(26, 26, 104, 72)], lb)  # 6 of the neighbouring cells' 16 px: not scored
    assert big_rim[1, 3] == -1 and big_rim[2, 3] == 1


def test_a_box_smaller_than_a_cell_still_marks_the_cell_under_its_centre():
    labels = cell_labels([(40, 40, 46, 46)], Letterbox.of(224, 224))
    assert (labels == 1).sum() == 1 and labels[2, 2] == 1


def test_no_baby_means_every_cell_negative():
    assert (cell_labels([], Letterbox.of(640, 480)) == 0).all()


def test_grid_box_is_the_connected_group_around_the_best_cell():
    probs = np.zeros((GRID, GRID))
    probs[3:5, 4:7] = 0.8
    probs[4, 5] = 0.95
    probs[10, 10] = 0.7  # another group: not joined
    box, best = grid_box(probs, 0.5)
    assert best == pytest.approx(0.95)
    assert box == (4 * CELL, 3 * CELL, 7 * CELL, 5 * CELL)


def test_grid_box_without_a_cell_over_the_threshold_is_none():
    probs = np.full((GRID, GRID), 0.3)
    assert grid_box(probs, 0.5) == (None, pytest.approx(0.3))


def test_focus_region_is_a_grown_square_kept_inside_the_view():
    # a 64 px box in the middle of a 640×480 frame: grown to 128 px, raised to 0.3 × 640 = 192 px
    region = focus_region((288, 208, 352, 272), 640, 480)
    x1, y1, x2, y2 = region[0] * 640, region[1] * 480, region[2] * 640, region[3] * 480
    assert (x2 - x1, y2 - y1) == pytest.approx((192, 192))
    assert ((x1 + x2) / 2, (y1 + y2) / 2) == pytest.approx((320, 240))
    # near a corner: moved inside, not cut short
    corner = focus_region((0, 0, 40, 40), 640, 480)
    assert corner[0] == 0 and corner[1] == 0 and corner[2] * 640 == pytest.approx(192)
    # a crib region: never outside it
    inside = focus_region((300, 200, 340, 240), 640, 480, region=(0.25, 0.25, 0.75, 0.75))
    assert inside[0] >= 0.25 and inside[1] >= 0.25 and inside[2] <= 0.75 and inside[3] <= 0.75


def test_focus_region_of_a_box_bigger_than_the_view_is_the_view():
    assert focus_region((0, 0, 640, 480), 640, 480) == pytest.approx((0, 0, 1, 1))


def test_cell_features_join_each_fine_cell_with_its_coarse_cell():
    fine = np.zeros((GRID, GRID, 512), np.float32)
    coarse = np.zeros((GRID // 2, GRID // 2, 1024), np.float32)
    fine[3, 5, 0] = 1.0
    coarse[1, 2, 7] = 2.0  # covers fine rows 2-3, columns 4-5
    features = cell_features(fine, coarse)
    assert features.shape == (GRID * GRID, CELL_FEATURES)
    assert features[3 * GRID + 5, 0] == 1.0
    assert all(features[r * GRID + c, 512 + 7] == 2.0 for r in (2, 3) for c in (4, 5))
    assert features[3 * GRID + 6, 512 + 7] == 0.0
    with pytest.raises(ValueError, match="feature maps"):
        cell_features(fine[:7], coarse)


def _model(bias: float) -> FinderModel:
    head = LinearHead(mean=np.zeros(CELL_FEATURES), scale=np.ones(CELL_FEATURES),
                      coef=np.eye(1, CELL_FEATURES), intercept=np.array([bias]))
    return FinderModel(head=head, cell_threshold=0.5, present_threshold=0.4)


def test_finder_model_round_trips_and_scores_cells(tmp_path):
    model = _model(-1.0)
    model.save(tmp_path / "finder.npz")
    loaded = FinderModel.load(tmp_path / "finder.npz")
    assert (loaded.cell_threshold, loaded.present_threshold) == (0.5, 0.4)
    x = np.zeros((2, CELL_FEATURES))
    x[1, 0] = 3.0
    assert loaded.cell_probabilities(x) == pytest.approx([1 / (1 + np.e), 1 / (1 + np.exp(-2))])


def test_a_missing_or_broken_finder_model_is_unavailable_naming_the_file(tmp_path):
    with pytest.raises(AnalyzerUnavailable, match="missing.*babymon train finder"):
        FinderModel.load(tmp_path / "nope.npz")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(AnalyzerUnavailable, match="bad.npz"):
        FinderModel.load(tmp_path / "bad.npz")


def test_letterbox_puts_the_view_where_the_letterbox_map_says():
    from babymon.vision.baby_finder import letterbox

    view = np.zeros((480, 640, 3), np.uint8)
    view[100:200, 300:400] = 255  # a white square, 100 px
    square = letterbox(view)
    assert square.shape == (224, 224, 3)
    ys, xs = np.nonzero(square[:, :, 0] > 127)
    found = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    assert Letterbox.of(640, 480).to_view(found) == pytest.approx((300, 100, 400, 200), abs=4)


def test_region_view_is_the_part_and_its_offset():
    from babymon.vision.geometry import region_view

    image = np.arange(48 * 64 * 3, dtype=np.uint32).reshape(48, 64, 3)
    view, ox, oy = region_view(image, (0.25, 0.5, 0.75, 1.0))
    assert (ox, oy) == (16, 24) and view.shape == (24, 32, 3) and view[0, 0, 0] == image[24, 16, 0]
    whole, ox, oy = region_view(image, None)
    assert whole is image and (ox, oy) == (0, 0)


def test_a_folded_head_gives_the_same_logits():
    rng = np.random.default_rng(0)
    head = LinearHead(mean=rng.normal(size=5), scale=rng.uniform(0.5, 2, 5), coef=rng.normal(size=(3, 5)),
                      intercept=rng.normal(size=3))
    x = rng.normal(size=(4, 5))
    weights, bias = head.folded()
    assert x @ weights.T + bias == pytest.approx(head.logits(x))


def test_dequantized_reads_a_quantized_tensor_as_real_values():
    from babymon.tflite import dequantized

    raw = np.array([0, 10, 255], np.uint8)
    assert dequantized(raw, {"quantization": (0.5, 10)}).tolist() == [-5.0, 0.0, 122.5]
    assert dequantized(raw, {"quantization": (0.0, 0)}).tolist() == [0.0, 10.0, 255.0]
