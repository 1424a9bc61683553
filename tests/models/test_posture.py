"""Posture: the shipped classifier on real held-out photos, its model files, and the pure feature code."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from babymon.analyzers.base import POSTURES, AnalyzerUnavailable
from babymon.vision.pose import LEFT_HIP, LEFT_SHOULDER, NOSE, RIGHT_HIP, RIGHT_SHOULDER, BabyLocator, Location
from babymon.vision.posture import (
    DEFAULT_MODEL_DIR,
    LinearHead,
    PostureClassifier,
    PostureModel,
    add_side,
    frontal_face_seen,
    softmax,
    veto_prone,
)
from babymon.vision.posture_features import (
    KEYPOINT_FEATURES,
    SIDE_FEATURES,
    keypoint_features,
    mirror_keypoints,
    side_features,
)
from babymon_lab.vision.posture_data import (
    MEDIAPIPE_TO_COCO,
    mediapipe_to_coco,
    read_keypoint_rows,
    split_groups,
    split_images,
    read_posture_images,
    write_manifest,
)
from tests.conftest import SHARED_DATA, shared_file

# Photos from the held-out test split (their dup_group / photo never reached training; the face-down one sits in
# face_down_vs_not's train folder, but the split is by photo and this photo's copies are all in test).
SUPINE_PHOTO = "vision/infant_posture/safe_supine_in_crib/safe_supine_in_crib_val_00c1bcebd4.jpg"
PRONE_PHOTO = "vision/infant_posture/prone/prone_train_0ff224be3d.jpg"
FACE_DOWN_PHOTO = "vision/face_down_vs_not/train/images/21_jpg.rf.103f724d10deb53b188d73e216e9977d.jpg"

RNG = np.random.default_rng(7)
SKELETON = RNG.uniform(50, 400, size=(17, 2))


# ------------------------------------------------------------------------------------------------ pure

def test_keypoint_features_ignore_position_and_size():
    scores = np.full(17, 0.8)
    base = keypoint_features(SKELETON, scores)
    assert base.shape == (KEYPOINT_FEATURES,)
    moved = keypoint_features(SKELETON * 2.5 + [300, -40], scores)
    assert np.allclose(base, moved)


def test_unconfident_keypoints_are_zeroed_but_their_scores_kept():
    scores = np.full(17, 0.8)
    scores[NOSE] = 0.05  # face hidden
    features = keypoint_features(SKELETON, scores)
    assert features[2 * NOSE] == 0 and features[2 * NOSE + 1] == 0 and features[34 + NOSE] == pytest.approx(0.05)
    assert np.count_nonzero(keypoint_features(SKELETON, np.zeros(17))[:34]) == 0
    with pytest.raises(ValueError, match="keypoints"):
        keypoint_features(np.zeros((16, 2)), np.zeros(17))


def test_mirroring_twice_is_the_identity_and_swaps_sides():
    scores = RNG.uniform(0, 1, 17)
    once, once_scores = mirror_keypoints(SKELETON, scores, 640)
    assert once[LEFT_SHOULDER, 0] == pytest.approx(640 - SKELETON[RIGHT_SHOULDER, 0])
    assert once_scores[LEFT_HIP] == scores[RIGHT_HIP]
    twice, twice_scores = mirror_keypoints(once, once_scores, 640)
    assert np.allclose(twice, SKELETON) and np.allclose(twice_scores, scores)


def test_side_features_ignore_rotation_scale_and_mirroring():
    base = side_features(SKELETON)
    assert base.shape == (SIDE_FEATURES,)
    angle = np.radians(73)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    assert np.allclose(side_features(SKELETON @ rotation.T * 0.3 + 5), base)
    mirrored, _ = mirror_keypoints(SKELETON, np.ones(17), 500)
    assert np.allclose(side_features(mirrored), base)


def test_mediapipe_landmarks_map_to_coco():
    landmarks = np.arange(33 * 3, dtype=float).reshape(33, 3)
    coco = mediapipe_to_coco(landmarks)
    assert coco.shape == (17, 2) and coco[0, 0] == 0 and coco[LEFT_SHOULDER, 0] == 11 * 3
    assert coco[RIGHT_HIP, 1] == 24 * 3 + 1 and MEDIAPIPE_TO_COCO[-1] == 28
    with pytest.raises(ValueError, match="33"):
        mediapipe_to_coco(np.zeros((17, 3)))


def test_split_keeps_groups_together_and_is_reproducible():
    groups = [str(i // 3) for i in range(300)]
    first, again = split_groups(groups), split_groups(list(reversed(groups)))
    assert first == again and set(first.values()) == {"train", "val", "test"}
    counts = {s: sum(v == s for v in first.values()) for s in ("train", "val", "test")}
    assert counts == {"train": 70, "val": 15, "test": 15}
    assert split_groups(groups, seed=1) != first


def test_add_side_moves_lying_mass_only():
    probs = {"supine": 0.5, "prone": 0.2, "side": 0.0, "sitting": 0.2, "standing": 0.1}
    out = add_side(probs, 0.5)
    assert out["side"] == pytest.approx(0.35) and out["sitting"] == 0.2 and out["supine"] == pytest.approx(0.25)
    assert sum(out.values()) == pytest.approx(1.0)
    assert add_side(probs, 0.0) == probs


def test_a_frontal_face_seen_confidently_vetoes_prone_only():
    probs = {"supine": 0.15, "prone": 0.7, "side": 0.0, "sitting": 0.1, "standing": 0.05}
    vetoed = veto_prone(probs, frontal_face=True)
    assert vetoed["prone"] == 0.0 and max(vetoed, key=vetoed.get) == "supine"
    assert sum(vetoed.values()) == pytest.approx(1.0)
    assert vetoed["supine"] / vetoed["sitting"] == pytest.approx(1.5)  # the others keep their proportions
    assert veto_prone(probs, frontal_face=False) == probs
    assert veto_prone({"supine": 0.0, "prone": 1.0}, frontal_face=True) == {"supine": 1.0, "prone": 0.0}


def test_frontal_face_needs_a_confident_score_and_no_profile():
    from babymon.vision.posture_face import FACE_FEATURE_NAMES

    def vector(confident: float, profile: float) -> np.ndarray:
        v = np.zeros(len(FACE_FEATURE_NAMES))
        v[FACE_FEATURE_NAMES.index("confident")], v[FACE_FEATURE_NAMES.index("profile")] = confident, profile
        return v

    assert frontal_face_seen(vector(1.0, 0.2))
    assert not frontal_face_seen(vector(0.0, 0.2))  # found, but not confidently
    assert not frontal_face_seen(vector(1.0, 0.9))  # a profile: the other cheek may be on the mattress


def test_posture_model_round_trip_and_bad_files(tmp_path):
    head = LinearHead(mean=np.zeros(3), scale=np.ones(3), coef=np.eye(2, 3), intercept=np.zeros(2))
    model = PostureModel(classes=("supine", "prone"), heads={"keypoints": head}, weights={"keypoints": 1.0},
                         bias=np.array([0.0, 0.5]), crop="box")
    model.save(tmp_path / "posture.npz")
    loaded = PostureModel.load(tmp_path / "posture.npz")
    x = {"keypoints": np.array([1.0, 2.0, 3.0])}
    assert np.allclose(loaded.probabilities(x), model.probabilities(x))
    assert np.allclose(model.probabilities(x), softmax(np.array([1.0, 2.5])))
    (tmp_path / "broken.npz").write_bytes(b"not a zip")
    with pytest.raises(AnalyzerUnavailable, match="broken.npz"):
        PostureModel.load(tmp_path / "broken.npz")
    with pytest.raises(AnalyzerUnavailable, match="missing"):
        PostureClassifier(model_dir=tmp_path / "nowhere")


# ------------------------------------------------------------------------------------- data, real models

def test_keypoint_rows_and_manifest(tmp_path):
    shared_file("vision/keypoints_csv/data_testing_raw.csv")
    points, labels = read_keypoint_rows(SHARED_DATA / "vision/keypoints_csv/data_testing_raw.csv")
    assert points.shape[1:] == (17, 2) and set(labels) == {"supine", "side", "prone"}
    target = write_manifest(SHARED_DATA, tmp_path)
    with target.open() as handle:
        rows = list(csv.DictReader(handle))
    assert rows and all((tmp_path / r["path"]).is_file() for r in rows)
    assert {r["label"] for r in rows} <= set(POSTURES)
    test_files = {str((tmp_path / r["path"]).resolve()) for r in rows}
    train = split_images(read_posture_images(SHARED_DATA))["train"]
    assert not test_files & {str(im.path.resolve()) for im in train}


@pytest.fixture(scope="module")
def models() -> tuple[BabyLocator, PostureClassifier]:
    locator = BabyLocator()
    return locator, PostureClassifier(embedder=locator.embedder)


def _posture(models, relative: str) -> dict[str, float]:
    import cv2

    image = cv2.imread(str(shared_file(relative)))
    locator, classifier = models
    return classifier.predict(image, locator.locate(image))


def test_supine_photo_reads_supine(models):
    probs = _posture(models, SUPINE_PHOTO)
    assert tuple(probs) == POSTURES and sum(probs.values()) == pytest.approx(1.0)
    assert max(probs, key=probs.get) == "supine"


def test_prone_photo_reads_prone(models):
    probs = _posture(models, PRONE_PHOTO)
    assert max(probs, key=probs.get) == "prone"


def test_face_down_overhead_photo_reads_prone(models):
    probs = _posture(models, FACE_DOWN_PHOTO)
    assert max(probs, key=probs.get) == "prone"


def test_without_a_pose_the_classifier_still_answers(models):
    import cv2

    _, classifier = models
    image = cv2.imread(str(shared_file(PRONE_PHOTO)))
    probs = classifier.predict(image, Location(False, 0.0, None, None, None))
    assert tuple(probs) == POSTURES and sum(probs.values()) == pytest.approx(1.0)


def test_shipped_model_files_are_small():
    sizes = {p.name: p.stat().st_size for p in DEFAULT_MODEL_DIR.iterdir()}
    assert {"posture.npz", "side.json", "presence.json", "metrics.json", "MODEL_CARD.md"} <= set(sizes)
    assert sum(sizes.values()) < 2_000_000


def test_ir_look_alike_is_gray_three_channel_and_reproducible():
    from babymon.vision.crops import ir_like

    image = np.random.default_rng(1).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    plain = ir_like(image)
    assert plain.shape == image.shape and plain.dtype == np.uint8
    assert (plain[..., 0] == plain[..., 1]).all() and (plain[..., 1] == plain[..., 2]).all()
    a, b = ir_like(image, np.random.default_rng(7)), ir_like(image, np.random.default_rng(7))
    assert (a == b).all() and (a[..., 0] == a[..., 2]).all()
    assert not (a == plain).all()  # contrast, brightness and noise were applied
