"""The pipeline's own logic (which face is the baby's, "no face" vs "no baby"), with stand-in components that
record calls; the real models are exercised end to end in tests/test_vision_analyzer.py."""

from dataclasses import dataclass

import numpy as np

from babymon.vision.face import Face
from babymon.vision.pipeline import VisionPipeline, best_face


@dataclass(frozen=True)
class _Location:
    baby_present: bool
    presence_score: float
    baby_box: tuple | None = None
    head_box: tuple | None = None
    pose: object | None = None
    focus: tuple | None = None


class _Locator:
    def __init__(self, location):
        self.location = location

    def locate(self, image, region=None):
        return self.location


class _Faces:
    def __init__(self, faces):
        self.faces = faces
        self.regions = []

    def detect(self, image, region=None):
        self.regions.append(region)
        return self.faces


class _Recorder:
    def __init__(self, probs):
        self.probs = probs
        self.calls = []

    def predict(self, image, *args, **kwargs):
        self.calls.append(args + tuple(kwargs.values()))
        return self.probs


FACE = {"clear": 0.1, "pacifier": 0.1, "covered": 0.7, "face_not_visible": 0.1}
POSTURE = {"supine": 0.1, "prone": 0.6, "side": 0.1, "sitting": 0.1, "standing": 0.1}
IMAGE = np.zeros((48, 64, 3), np.uint8)


def test_best_face_prefers_faces_on_the_baby():
    poster = Face(box=(0, 0, 10, 10), score=0.99)
    baby = Face(box=(40, 40, 50, 50), score=0.7)
    assert best_face([poster, baby], baby_box=(30, 30, 64, 48)) is baby
    assert best_face([poster, baby], baby_box=None) is poster
    assert best_face([], baby_box=(30, 30, 64, 48)) is None


def test_no_body_and_no_face_is_no_baby_and_skips_the_classifiers():
    face_state, posture = _Recorder(FACE), _Recorder(POSTURE)
    pipeline = VisionPipeline(_Locator(_Location(False, 0.1)), _Faces([]), face_state, posture)
    result = pipeline.analyze(IMAGE)
    assert (result.baby_present, result.face_state, result.posture) == (False, "no_baby", None)
    assert face_state.calls == [] and posture.calls == []
    assert set(result.timings_ms) == {"locate", "face"}


def test_a_body_without_a_face_is_a_baby_whose_head_is_classified():
    face_state, posture = _Recorder(FACE), _Recorder(POSTURE)
    location = _Location(True, 0.9, baby_box=(0, 0, 64, 48), head_box=(5, 5, 20, 20))
    result = VisionPipeline(_Locator(location), _Faces([]), face_state, posture).analyze(IMAGE)
    assert (result.baby_present, result.face_state, result.posture) == (True, "covered", "prone")
    assert face_state.calls == [(None, (5, 5, 20, 20))]
    assert posture.calls == [(location, None)]  # the posture model is told no face was found
    assert set(result.timings_ms) == {"locate", "face", "face_state", "posture"}


def test_a_face_alone_means_a_baby_is_here():
    face = Face(box=(10, 10, 30, 30), score=0.9)
    face_state, posture = _Recorder(FACE), _Recorder(POSTURE)
    location = _Location(False, 0.2)
    result = VisionPipeline(_Locator(location), _Faces([face]), face_state, posture).analyze(IMAGE)
    assert result.baby_present is True and result.face is face
    assert face_state.calls == [(face, (0.0, 0.0, 64.0, 48.0))]  # the face is classified; the frame is the fallback
    assert posture.calls == [(location, face)]  # the face found is evidence for the posture model


def test_a_weak_face_alone_is_not_a_baby():
    """An empty bassinet gave YuNet 'faces' of 0.68 and 0.70 (crib_cam): a face counts alone only when confident."""
    face_state, posture = _Recorder(FACE), _Recorder(POSTURE)
    result = VisionPipeline(_Locator(_Location(False, 0.2)), _Faces([Face(box=(10, 10, 30, 30), score=0.7)]),
                            face_state, posture).analyze(IMAGE)
    assert (result.baby_present, result.face_state, result.posture) == (False, "no_baby", None)
    assert face_state.calls == [] and posture.calls == []


def test_a_face_not_found_is_never_clear():
    from babymon.vision.face_state import face_unseen

    probs = face_unseen({"clear": 0.6, "pacifier": 0.1, "covered": 0.2, "face_not_visible": 0.1})
    assert probs["clear"] == probs["pacifier"] == 0.0 and probs["covered"] == 0.2
    assert abs(probs["face_not_visible"] - 0.8) < 1e-9


def test_head_region_falls_back_from_head_to_body_to_the_whole_frame():
    from babymon.vision.pipeline import head_region

    assert head_region(_Location(True, 0.9, baby_box=(0, 0, 64, 48), head_box=(5, 5, 20, 20)), IMAGE) == (5, 5, 20, 20)
    assert head_region(_Location(True, 0.9, baby_box=(1, 2, 30, 40)), IMAGE) == (1, 2, 30, 40)
    assert head_region(_Location(True, 0.9), IMAGE) == (0.0, 0.0, 64.0, 48.0)  # a close-up: too few keypoints
    assert head_region(_Location(True, 0.9), IMAGE, region=(0.25, 0.5, 0.75, 1.0)) == (16.0, 24.0, 48.0, 48.0)


def test_the_face_is_looked_for_where_the_finder_saw_the_baby_else_in_the_crib_region():
    face_state, posture = _Recorder(FACE), _Recorder(POSTURE)
    faces = _Faces([])
    focused = _Location(True, 0.9, baby_box=(0, 0, 64, 48), focus=(0.5, 0.5, 1.0, 1.0))
    VisionPipeline(_Locator(focused), faces, face_state, posture, region=(0.1, 0.1, 0.9, 0.9)).analyze(IMAGE)
    VisionPipeline(_Locator(_Location(True, 0.9)), faces, face_state, posture, region=(0.1, 0.1, 0.9, 0.9)).analyze(IMAGE)
    assert faces.regions == [(0.5, 0.5, 1.0, 1.0), (0.1, 0.1, 0.9, 0.9)]
