"""Baby localisation without a face (MoveNet pose → presence, body box, head box) on real images, and its pure
geometry."""

from __future__ import annotations

import json

import numpy as np
import pytest

from babymon import models
from babymon.analyzers.base import AnalyzerUnavailable
from babymon.vision.geometry import iou
from babymon.vision.pose import (
    COCO_KEYPOINTS,
    LEFT_HIP,
    LEFT_SHOULDER,
    NOSE,
    RIGHT_HIP,
    RIGHT_SHOULDER,
    BabyLocator,
    Pose,
    PoseEstimator,
    PresenceModel,
    body_box,
    head_box,
    presence_features,
    upright_turns,
)
from babymon_lab.vision.manifests import photo_prefix
from babymon_lab.vision.posture_data import _yolo_boxes, clear_strips
from tests.conftest import shared_file

# A held-out (presence "test" group) overhead photo from infant_detection, with its YOLO baby box.
DETECTION_IMAGE = "vision/infant_detection/test/images/116_jpg.rf.3852b8ce04ecc89948e6d27b4eae376e.jpg"


def _pose(points: dict[int, tuple[float, float]], score: float = 0.9) -> Pose:
    keypoints = np.zeros((17, 2))
    scores = np.zeros(17)
    for i, xy in points.items():
        keypoints[i] = xy
        scores[i] = score
    return Pose(keypoints=keypoints, scores=scores)


LYING_LEFT = {NOSE: (100, 200), LEFT_SHOULDER: (160, 180), RIGHT_SHOULDER: (160, 220),
              LEFT_HIP: (260, 185), RIGHT_HIP: (260, 215)}  # head to the left of the hips


# ------------------------------------------------------------------------------------------------ pure

def test_coco_names_in_movenet_order():
    assert len(COCO_KEYPOINTS) == 17 and COCO_KEYPOINTS[0] == "nose" and COCO_KEYPOINTS[16] == "right_ankle"
    assert COCO_KEYPOINTS[LEFT_SHOULDER] == "left_shoulder" and COCO_KEYPOINTS[RIGHT_HIP] == "right_hip"


def test_body_box_grows_the_confident_keypoints_and_needs_three():
    pose = _pose({0: (100, 100), 5: (200, 100), 11: (200, 300)})
    box = body_box(pose, 640, 480, margin=0.1)
    assert box == pytest.approx((80, 80, 220, 320))
    assert body_box(_pose({0: (100, 100), 5: (200, 100)}), 640, 480) is None
    assert body_box(pose, 210, 310, margin=0.1) == pytest.approx((80, 80, 210, 310))  # clipped to the frame


def test_head_box_is_around_the_face_keypoints_sized_by_the_shoulders():
    pose = _pose({**LYING_LEFT, 1: (95, 190), 2: (95, 210)})
    box = head_box(pose, 640, 480)
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    assert cx == pytest.approx(np.mean([100, 95, 95])) and cy == pytest.approx(200)
    assert box[2] - box[0] == pytest.approx(box[3] - box[1])
    assert box[2] - box[0] >= 40  # at least the shoulder width (40 px)


def test_head_box_without_a_face_is_placed_beyond_the_shoulders():
    points = {i: xy for i, xy in LYING_LEFT.items() if i != NOSE}  # face hidden (e.g. under a blanket)
    box = head_box(_pose(points), 640, 480)
    assert box is not None and (box[0] + box[2]) / 2 < 160  # on the far side of the shoulders from the hips
    assert head_box(_pose({LEFT_SHOULDER: (10, 10)}), 640, 480) is None


def test_upright_turns_brings_the_head_up():
    assert upright_turns(_pose(LYING_LEFT)) == 1  # head left → turn clockwise
    mirrored = {i: (400 - x, y) for i, (x, y) in LYING_LEFT.items()}
    assert upright_turns(_pose(mirrored)) == 3
    upright = {NOSE: (200, 50), LEFT_HIP: (190, 300), RIGHT_HIP: (210, 300)}
    assert upright_turns(_pose(upright)) == 0
    assert upright_turns(_pose({NOSE: (200, 400), LEFT_HIP: (200, 100)})) == 2
    assert upright_turns(_pose({NOSE: (200, 400)})) == 0  # no hips: no idea


def test_presence_features_and_model_file_errors(tmp_path):
    scores = np.linspace(0, 1, 17)
    features = presence_features(scores)
    assert features.shape == (6,) and features[0] == pytest.approx(np.mean([1.0, 15 / 16, 14 / 16]))
    with pytest.raises(AnalyzerUnavailable, match="missing"):
        PresenceModel.load(tmp_path / "nope.json")
    bad = tmp_path / "presence.json"
    bad.write_text(json.dumps({"weights": [1, 2], "bias": 0, "threshold": 0.5}))
    with pytest.raises(AnalyzerUnavailable, match=r"presence\.json.*shape"):
        PresenceModel.load(bad)


def test_negative_strips_avoid_the_baby():
    strips = clear_strips(640, 480, [(200, 100, 500, 400)])
    assert (0, 0, 200, 480) in strips and (500, 0, 640, 480) in strips and (0, 0, 640, 100) in strips
    assert all(s[3] - s[1] >= 64 and s[2] - s[0] >= 64 for s in strips)
    assert (0, 400, 640, 480) in strips
    assert clear_strips(640, 480, [(10, 10, 630, 470)]) == []
    assert photo_prefix("12_jpg.rf.abcdef.jpg") == "12_jpg"


# ------------------------------------------------------------------------------------- real model, images

@pytest.fixture(scope="module")
def locator() -> BabyLocator:
    return BabyLocator()


def test_locator_finds_the_baby_in_an_overhead_photo(locator):
    import cv2

    path = shared_file(DETECTION_IMAGE)
    image = cv2.imread(str(path))
    [truth] = _yolo_boxes(path.parent.parent / "labels" / (path.stem + ".txt"), image.shape[1], image.shape[0], 0)
    location = locator.locate(image)
    assert location.baby_present and location.presence_score >= locator.presence.threshold
    assert iou(location.baby_box, truth) >= 0.5
    assert location.head_box is not None and location.pose.keypoints.shape == (17, 2)
    assert location.embedding is not None and location.embedding.shape == (1024,)

    # The same frame turned 90° (the baby lying across an overhead camera's view) is still found.
    turned = locator.locate(np.ascontiguousarray(cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE)))
    assert turned.baby_present


def test_blank_frame_and_bedding_are_not_a_baby(locator):
    import cv2

    assert not locator.locate(np.full((480, 640, 3), 128, np.uint8)).baby_present
    path = shared_file(DETECTION_IMAGE)
    image = cv2.imread(str(path))
    [truth] = _yolo_boxes(path.parent.parent / "labels" / (path.stem + ".txt"), image.shape[1], image.shape[0], 0)
    filled = image.copy()
    x1, y1, x2, y2 = (int(v) for v in truth)
    filled[max(y1, 0):y2, max(x1, 0):x2] = cv2.blur(image, (151, 151))[max(y1, 0):y2, max(x1, 0):x2]
    assert locator.locate(filled).presence_score < locator.locate(image).presence_score


def test_region_maps_keypoints_back_to_the_frame(locator):
    import cv2

    image = cv2.imread(str(shared_file(DETECTION_IMAGE)))
    height, width = image.shape[:2]
    canvas = np.zeros((height * 2, width * 2, 3), np.uint8)
    canvas[height:, width:] = image
    full = locator.locate(image)
    region = locator.locate(canvas, region=(0.5, 0.5, 1.0, 1.0))
    assert region.baby_present
    assert np.allclose(region.pose.keypoints, full.pose.keypoints + [width, height], atol=1.0)


def test_a_corrupt_pose_model_is_refused_with_its_name(tmp_path, monkeypatch):
    bad = tmp_path / "movenet" / "movenet_single_pose_lightning_ptq.tflite"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"not a model")
    monkeypatch.setenv(models.ENV_MODEL_DIR, str(tmp_path))
    monkeypatch.delenv(models.ENV_MIRROR, raising=False)
    with pytest.raises(models.ModelError) as excinfo:
        PoseEstimator()
    assert "'movenet_lightning'" in str(excinfo.value) and "corrupt" in str(excinfo.value)
    with pytest.raises(AnalyzerUnavailable, match=str(bad)):
        PoseEstimator(model=bad)  # an explicit path skips the sha256 check but still refuses the file
