"""The nursery refit's pure parts: runs of near-identical frames, the held-back split, the refusal rules and the
weighted head fits (on synthetic features whose answer is known)."""

from __future__ import annotations

import numpy as np
import pytest

from babymon.nursery.folder import Label
from babymon.nursery.refit import (
    MIN_HELD_BACK,
    MIN_SIDE_FRAMES,
    RUN_GAP_SECONDS,
    LabelledFrame,
    fit_face_state,
    fit_posture,
    fit_presence,
    held_back,
    refusals,
    runs,
)
from babymon.nursery.sample import TrainingSample, balanced, load_sample, save_samples
from babymon.vision.face_state import FACE_CLASSES, FaceStateHead
from babymon.vision.linear import LinearHead
from babymon.vision.pose import PresenceModel
from babymon.vision.posture import PostureModel

CLASSES = ("supine", "prone", "sitting", "standing")
DIM = 12


def frame(name: str, taken_at: float | None, level: float) -> LabelledFrame:
    return LabelledFrame(name=name, features=None, label=Label("supine", ""), taken_at=taken_at,  # type: ignore[arg-type]
                         thumbnail=np.full((32, 32), level, dtype=np.float32))


def test_runs_split_on_a_time_gap_and_on_a_changed_picture():
    frames = [frame("a", 0.0, 100), frame("b", 30.0, 102), frame("c", 30.0 + RUN_GAP_SECONDS + 1, 102),
              frame("d", 200.0, 160), frame("e", 210.0, 161)]
    assert runs(frames) == [0, 0, 1, 2, 2]


def test_runs_without_times_follow_the_pictures():
    frames = [frame("a", None, 10), frame("b", None, 11), frame("c", None, 90)]
    assert runs(frames) == [0, 0, 1]


def test_every_third_run_is_held_back_and_a_run_is_never_split():
    run_ids = [0, 0, 1, 1, 1, 2, 3, 4, 4, 5]
    held = held_back(run_ids)
    assert held.tolist() == [False, False, True, True, True, False, False, True, True, False]
    for run in set(run_ids):
        assert len({bool(h) for h, r in zip(held, run_ids, strict=True) if r == run}) == 1


def report(macro: float | None, recalls: dict[str, float]) -> dict:
    return {"macro_f1": macro, "danger_recall": recalls}


def scores(posture_f1, prone, face_f1, covered) -> dict:
    return {"posture": report(posture_f1, {"prone": prone}), "face_state": report(face_f1, {"covered": covered})}


def test_a_refit_that_is_as_good_or_better_everywhere_is_not_refused():
    assert refusals(scores(0.5, 0.5, 0.6, 0.5), scores(0.7, 0.5, 0.6, 1.0), MIN_HELD_BACK) == []


@pytest.mark.parametrize("after, words", [
    (scores(0.4, 0.5, 0.6, 0.5), "posture macro-F1"),
    (scores(0.9, 0.0, 0.6, 0.5), "prone recall"),
    (scores(0.9, 0.5, 0.5, 0.5), "face_state macro-F1"),
    (scores(0.9, 0.5, 0.9, 0.0), "covered recall"),
])
def test_a_refit_that_loses_macro_f1_or_a_danger_recall_is_refused_and_says_which(after, words):
    reasons = refusals(scores(0.5, 0.5, 0.6, 0.5), after, MIN_HELD_BACK)
    assert len(reasons) == 1 and words in reasons[0]


def test_too_few_held_back_frames_is_a_refusal():
    reasons = refusals(scores(0.5, 0.5, 0.6, 0.5), scores(0.9, 1.0, 0.9, 1.0), MIN_HELD_BACK - 1)
    assert reasons and "held back" in reasons[0]


# ------------------------------------------------------------------------------------- fits on known data

def blobs(rng: np.random.Generator, centres: np.ndarray, n: int, shift: np.ndarray | None = None):
    x = np.vstack([c + rng.normal(0, 1.0, (n, DIM)) for c in centres])
    y = np.repeat(np.arange(len(centres)), n)
    return (x + shift if shift is not None else x), y


@pytest.fixture
def world():
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 3.0, (4, DIM))
    x, y = blobs(rng, centres, 200)
    from sklearn.linear_model import LogisticRegression

    mean, scale = x.mean(axis=0), x.std(axis=0)
    model = LogisticRegression(C=0.1, max_iter=2000).fit((x - mean) / scale, y)
    shipped = PostureModel(classes=CLASSES, heads={"concat_face": LinearHead(mean, scale, model.coef_,
                                                                             model.intercept_)},
                           weights={"concat_face": 1.0}, bias=np.zeros(4), crop="box", temperature=1.0)
    return rng, centres, TrainingSample(x, y, CLASSES, 0.1, n_train=8000), shipped


def accuracy(model: PostureModel, x: np.ndarray, labels: list[str]) -> float:
    predicted = [model.classes[i] for i in model.probabilities({"concat_face": x}).argmax(axis=1)]
    return float(np.mean([p == t for p, t in zip(predicted, labels, strict=True)]))


def test_the_posture_refit_learns_a_nursery_that_looks_different(world):
    rng, centres, sample, shipped = world
    shift = np.full(DIM, 0.0)
    shift[:4] = 6.0  # this camera sees everything shifted: a domain the sample never showed
    x_new, y_new = blobs(rng, centres, 12, shift)
    labels = [CLASSES[i] for i in y_new]
    rows = list(zip(x_new[::2], labels[::2], strict=True))
    x_test, labels_test = x_new[1::2], labels[1::2]
    refitted = fit_posture(shipped, sample, rows)
    assert refitted.classes == CLASSES
    assert accuracy(refitted, x_test, labels_test) > accuracy(shipped, x_test, labels_test)
    # and it still knows the original domain
    x_old, y_old = blobs(rng, centres, 30)
    assert accuracy(refitted, x_old, [CLASSES[i] for i in y_old]) > 0.9


def test_side_becomes_a_class_only_with_enough_side_frames(world):
    rng, centres, sample, shipped = world
    side_centre = rng.normal(0, 3.0, DIM)
    side_rows = [(side_centre + rng.normal(0, 0.5, DIM), "side") for _ in range(MIN_SIDE_FRAMES)]
    assert fit_posture(shipped, sample, side_rows[:-1]).classes == CLASSES
    with_side = fit_posture(shipped, sample, side_rows)
    assert with_side.classes == (*CLASSES, "side") and with_side.bias.shape == (5,)
    assert accuracy(with_side, np.array([side_centre]), ["side"]) == 1.0


def test_with_no_nursery_frames_the_refit_keeps_the_shipped_answers(world):
    rng, centres, sample, shipped = world
    x_old, y_old = blobs(rng, centres, 30)
    refitted = fit_posture(shipped, sample, [])
    same = shipped.probabilities({"concat_face": x_old}).argmax(1) == refitted.probabilities({"concat_face": x_old}).argmax(1)
    assert same.mean() > 0.97


def test_the_presence_refit_learns_an_empty_crib_and_keeps_its_threshold():
    rng = np.random.default_rng(1)
    absent, present = rng.normal(-2, 1, (300, DIM)), rng.normal(2, 1, (300, DIM))
    sample = TrainingSample(np.vstack([absent, present]), np.repeat([0, 1], 300), ("absent", "present"), 0.1, 6000)
    shipped = PresenceModel(weights=np.ones(DIM), bias=0.0, threshold=0.3)

    empty_crib = np.full(DIM, 2.0)  # this nursery's empty mattress looks like a baby to the sample
    empty_crib[:3] = 8.0

    def score(model: PresenceModel, x: np.ndarray) -> float:
        return 1 / (1 + np.exp(-(x @ model.weights + model.bias)))

    refitted = fit_presence(shipped, sample, [(empty_crib + rng.normal(0, 0.3, DIM), False) for _ in range(6)])
    assert score(shipped, empty_crib) > shipped.threshold
    assert score(refitted, empty_crib) < refitted.threshold == shipped.threshold
    assert np.mean(score(refitted, present) >= refitted.threshold) > 0.95


def test_the_face_state_refit_keeps_the_classes_margins_and_bias():
    rng = np.random.default_rng(2)
    centres = rng.normal(0, 3, (4, DIM))
    x, y = blobs(rng, centres, 100)
    sample = TrainingSample(x, y, FACE_CLASSES, 0.1, 4000)
    shipped = FaceStateHead(FACE_CLASSES, x.mean(0), x.std(0), np.zeros((4, DIM)), np.zeros(4),
                            np.array([0.0, 0.0, 0.5, 0.0]), 0.2, 0.1)
    refitted = fit_face_state(shipped, sample, [(centres[2], "covered")])
    assert refitted.classes == FACE_CLASSES and refitted.bias.tolist() == [0.0, 0.0, 0.5, 0.0]
    assert (refitted.face_margin, refitted.head_margin) == (0.2, 0.1)
    assert refitted.probabilities(centres).argmax(1).tolist() == [0, 1, 2, 3]


def test_the_training_sample_is_balanced_and_round_trips_through_its_file(tmp_path):
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(500, DIM)), np.repeat([0, 1, 2], [400, 80, 20])
    bx, by = balanced(x, y, 50, seed=0)
    assert np.bincount(by).tolist() == [50, 50, 20]
    save_samples(tmp_path / "posture_sample.npz", {"posture": TrainingSample(bx, by, ("a", "b", "c"), 0.01, 500,
                                                                             last=2, last_weight=3.0)})
    loaded = load_sample("posture", tmp_path)
    assert loaded.classes == ("a", "b", "c") and (loaded.c, loaded.n_train, loaded.last) == (0.01, 500, 2)
    assert np.allclose(loaded.x, bx, atol=1e-2)
