"""What the heads see of one frame, kept so they can be refitted and re-scored without running the models again.

:func:`extract` runs the frame through the same steps as :meth:`babymon.vision.pipeline.VisionPipeline.analyze`
(finder → pose → face → the crops) and keeps the inputs of the three linear heads: the body crop's embedding (the
presence and posture heads), the keypoint and face features (posture), the face or head crop's embedding (face
state). :func:`predict` gives the pipeline's answer from those features with any :class:`~babymon.nursery.heads.Heads`
(pure), so shipped and refitted heads are compared on exactly the same looks.

One approximation: the locator chooses where it looks (the finder's focus, else the whole view) with the shipped
presence head; a refitted presence head is scored on that same look.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from babymon.nursery.heads import Heads
from babymon.vision.face import CONFIDENT_SCORE, check_image
from babymon.vision.face_state import face_state_probabilities, face_unseen
from babymon.vision.pipeline import VisionPipeline, argmax, head_region
from babymon.vision.pose import Pose, body_box, head_box
from babymon.vision.posture import head_inputs, posture_probabilities


@dataclass(frozen=True)
class FrameFeatures:
    embedding: np.ndarray  # (1024,) the body crop (or the looked-at view) as the locator embedded it
    keypoints: np.ndarray  # (57,) posture_features.keypoint_features
    face_vector: np.ndarray  # (9,) posture_face.face_features of the best face (zeros-like when none)
    pose_keypoints: np.ndarray  # (17, 2)
    pose_scores: np.ndarray  # (17,)
    face_embedding: np.ndarray | None  # (1024,) the face-state crop; None: nothing to look at
    face_score: float | None  # the best face's detector score; None: no face found

    @property
    def pose(self) -> Pose:
        return Pose(self.pose_keypoints, self.pose_scores)

    def posture_input(self, name: str) -> np.ndarray:
        return head_inputs(self.keypoints, self.face_vector, self.embedding)[name]


def extract(pipeline: VisionPipeline, image: np.ndarray) -> FrameFeatures:
    """The heads' inputs for one BGR frame. The locator's embedding is needed (a presence model on the embedding)."""
    image = check_image(image)
    location, face = pipeline.find(image)
    if location.embedding is None:
        raise ValueError("the locator gave no embedding: a nursery refit needs the embedding presence model")
    height, width = image.shape[:2]
    if location.pose is not None and not location.baby_present:
        # the boxes the locator would give if a (refitted) presence head said "baby" on this look
        location = replace(location, baby_box=body_box(location.pose, width, height),
                           head_box=head_box(location.pose, width, height))
    keypoints, face_vector, embedding = pipeline.posture.features(image, location, face)
    face_embedding = pipeline.face_state.embedding(image, face, head_region(location, image, pipeline.region))
    pose = location.pose or Pose(np.zeros((17, 2)), np.zeros(17))
    return FrameFeatures(embedding=np.asarray(embedding if embedding is not None else location.embedding),
                         keypoints=keypoints, face_vector=face_vector, pose_keypoints=pose.keypoints,
                         pose_scores=pose.scores, face_embedding=face_embedding,
                         face_score=None if face is None else float(face.score))


@dataclass(frozen=True)
class Answer:
    """What the pipeline says about one frame: ``posture`` is "no_baby" when no baby is seen, ``face_state``
    is "no_baby" then too."""

    presence: float
    posture: str
    face_state: str
    posture_probs: dict[str, float]
    face_probs: dict[str, float]


def predict(heads: Heads, features: FrameFeatures) -> Answer:
    """The pipeline's one-frame answer from cached features with ``heads`` (pure)."""
    score = heads.presence.score(features.pose_scores, features.embedding)
    confident_face = features.face_score is not None and features.face_score >= CONFIDENT_SCORE
    if not (score >= heads.presence.threshold or confident_face):
        return Answer(score, "no_baby", "no_baby", {}, {})
    face_probs = face_state_probabilities(heads.face_state, features.face_embedding)
    if features.face_score is None:
        face_probs = face_unseen(face_probs)
    posture_probs = posture_probabilities(heads.posture, heads.side, features.keypoints, features.face_vector,
                                          features.embedding, features.pose)
    return Answer(score, argmax(posture_probs), argmax(face_probs), posture_probs, face_probs)
