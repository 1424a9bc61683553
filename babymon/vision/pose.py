"""Where is the baby, even when its face is hidden: MoveNet body keypoints → presence, body box, head box.

A face detector says nothing about a baby lying face down or under a blanket up to the chin, and that is the
dangerous case. The pose model finds the body instead, so the pipeline can tell "no face found" (a baby is here,
look at its head) from "no baby here".

* :class:`PoseEstimator`: MoveNet single-pose lightning int8 (TFLite, ``babymon.models`` name
  ``movenet_lightning``, sha256 checked), the frame letterboxed to 192×192, 17 COCO keypoints back in frame
  pixels. One pass costs ~7 ms on one core.
* :class:`BabyLocator`: runs the estimator on the frame (or on the crib region), scores "is a baby here"
  from the keypoint confidences with a small logistic model calibrated on real images (see
  ``models/posture/MODEL_CARD.md``), and derives the body box and the head box with the pure functions below.

Usage::

    locator = BabyLocator()
    location = locator.locate(bgr_frame, region=(0.1, 0.0, 0.9, 1.0))
    location.baby_present, location.presence_score, location.baby_box, location.head_box, location.pose
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from babymon.analyzers.base import AnalyzerUnavailable
from babymon.paths import bundled_models
from babymon.vision.geometry import Box, Rotation, clip_box, region_view

COCO_KEYPOINTS: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)
NOSE, LEFT_EYE, RIGHT_EYE, LEFT_EAR, RIGHT_EAR = 0, 1, 2, 3, 4
LEFT_SHOULDER, RIGHT_SHOULDER, LEFT_HIP, RIGHT_HIP = 5, 6, 11, 12
HEAD_POINTS = (NOSE, LEFT_EYE, RIGHT_EYE, LEFT_EAR, RIGHT_EAR)
INPUT_SIZE = 192
MODEL_NAME = "movenet_lightning"
N_PRESENCE_FEATURES = 6
EMBEDDING_SIZE = 1024
PRESENCE_FILE = bundled_models("posture", "presence.json")

# Keypoints below this confidence are not used for boxes (MoveNet's own demo uses 0.2-0.3).
KEYPOINT_THRESHOLD = 0.2
# The body box is the keypoints' bounding box grown by this fraction of its longer side on each side
# (keypoints are joints: the head top, hands and feet stick out). Chosen on infant_detection's baby boxes
# (train groups; margins 0 / 0.06 / 0.12 / 0.18 / 0.25 → mean IoU 0.42 / 0.55 / 0.67 / 0.72 / 0.71).
BODY_MARGIN = 0.2
# The head box side, as a multiple of the shoulder width, of the spread of the face keypoints, of the body's
# extent (the largest wins). Checked on infant_face_parts HEAD boxes: the scale barely matters (MODEL_CARD).
HEAD_PER_SHOULDER = 1.0
HEAD_PER_FACE_SPREAD = 2.0
HEAD_PER_BODY = 0.3


@dataclass(frozen=True)
class Pose:
    """17 COCO keypoints (:data:`COCO_KEYPOINTS` order) in frame pixels and their confidences 0..1."""

    keypoints: np.ndarray  # (17, 2) x, y
    scores: np.ndarray  # (17,)


@dataclass(frozen=True)
class Location:
    """The locator's answer for one frame. ``baby_box`` / ``head_box`` are None when not found."""

    baby_present: bool
    presence_score: float
    baby_box: Box | None
    head_box: Box | None
    pose: Pose | None
    # The embedding of :func:`body_crop` that presence was scored on, so the posture classifier can reuse it
    # (one embedding per frame); None when the locator ran without an embedder.
    embedding: np.ndarray | None = None
    # Where the baby finder saw the baby (fractions of the frame, as crib_region): the face detector looks there.
    # None when the locator ran without a finder, or the finder saw no baby.
    focus: tuple[float, float, float, float] | None = None
    finder_score: float | None = None  # the finder's best cell P (None without a finder)


class PoseEstimator:
    """MoveNet lightning on a BGR uint8 frame. Not thread-safe (one TFLite interpreter per instance)."""

    def __init__(self, model: Path | None = None, threads: int = 1):
        from babymon.models import model_path

        path = model or model_path(MODEL_NAME)
        from babymon.tflite import load_interpreter

        self._interpreter = load_interpreter(path, "pose model", threads)
        self._input = self._interpreter.get_input_details()[0]
        self._output = self._interpreter.get_output_details()[0]
        shape = tuple(self._input["shape"])
        if shape != (1, INPUT_SIZE, INPUT_SIZE, 3) or tuple(self._output["shape"]) != (1, 1, 17, 3):
            raise AnalyzerUnavailable(f"pose model {path}: input {shape} / output {tuple(self._output['shape'])}, "
                                      f"expected (1, {INPUT_SIZE}, {INPUT_SIZE}, 3) / (1, 1, 17, 3) (MoveNet)")
        self._input_dtype = self._input["dtype"]

    def estimate(self, image: np.ndarray) -> Pose:
        """The pose in ``image`` (BGR uint8 H×W×3), letterboxed (black bars) to keep its aspect ratio."""
        import cv2

        height, width = image.shape[:2]
        side = max(height, width)
        scale = INPUT_SIZE / side
        new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
        resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        canvas = np.zeros((INPUT_SIZE, INPUT_SIZE, 3), dtype=np.uint8)
        ox, oy = (INPUT_SIZE - new_w) // 2, (INPUT_SIZE - new_h) // 2
        canvas[oy:oy + new_h, ox:ox + new_w] = resized[:, :, ::-1]  # BGR → RGB
        self._interpreter.set_tensor(self._input["index"], canvas[None].astype(self._input_dtype))
        self._interpreter.invoke()
        raw = self._interpreter.get_tensor(self._output["index"]).reshape(17, 3).astype(np.float64)
        # (y, x) are fractions of the 192×192 canvas; undo the letterbox exactly as it was done.
        xs = (raw[:, 1] * INPUT_SIZE - ox) / (new_w / width)
        ys = (raw[:, 0] * INPUT_SIZE - oy) / (new_h / height)
        return Pose(keypoints=np.stack([xs, ys], axis=1), scores=np.clip(raw[:, 2], 0.0, 1.0))


# ------------------------------------------------------------------------------------------- pure geometry

def body_box(pose: Pose, width: float, height: float, threshold: float = KEYPOINT_THRESHOLD,
             margin: float = BODY_MARGIN) -> Box | None:
    """The confident keypoints' bounding box grown by ``margin`` × its longer side, clipped to the frame;
    None with fewer than 3 confident keypoints."""
    confident = pose.keypoints[pose.scores >= threshold]
    if len(confident) < 3:
        return None
    x1, y1 = confident.min(axis=0)
    x2, y2 = confident.max(axis=0)
    grow = margin * max(x2 - x1, y2 - y1, 1.0)
    return clip_box((float(x1 - grow), float(y1 - grow), float(x2 + grow), float(y2 + grow)), width, height)


def head_box(pose: Pose, width: float, height: float, threshold: float = KEYPOINT_THRESHOLD) -> Box | None:
    """A square around the head from the nose, eyes and ears, sized by the shoulder width (or the spread of
    the face keypoints, or the body size). With no confident face keypoint, the head is placed beyond the
    shoulders, away from the hips. None when neither is possible."""
    kp, ok = pose.keypoints, pose.scores >= threshold
    head = [i for i in HEAD_POINTS if ok[i]]
    shoulders_ok = ok[LEFT_SHOULDER] and ok[RIGHT_SHOULDER]
    shoulder_width = float(np.linalg.norm(kp[LEFT_SHOULDER] - kp[RIGHT_SHOULDER])) if shoulders_ok else 0.0
    sizes = []
    if shoulder_width > 0:
        sizes.append(HEAD_PER_SHOULDER * shoulder_width)
    if len(head) >= 2:
        spread = np.ptp(kp[head], axis=0).max()
        sizes.append(HEAD_PER_FACE_SPREAD * float(spread))
    confident = kp[ok]
    if len(confident) >= 3:
        sizes.append(HEAD_PER_BODY * float(np.ptp(confident, axis=0).max()))
    if not sizes:
        return None
    side = max(sizes)
    if head:
        cx, cy = kp[head].mean(axis=0)
    elif shoulders_ok and (ok[LEFT_HIP] or ok[RIGHT_HIP]):
        neck = (kp[LEFT_SHOULDER] + kp[RIGHT_SHOULDER]) / 2
        hips = kp[[i for i in (LEFT_HIP, RIGHT_HIP) if ok[i]]].mean(axis=0)
        direction = neck - hips
        length = float(np.linalg.norm(direction))
        if length < 1e-6:
            return None
        cx, cy = neck + direction / length * side * 0.6
    else:
        return None
    half = side / 2
    box = clip_box((float(cx - half), float(cy - half), float(cx + half), float(cy + half)), width, height)
    return box if box[2] - box[0] >= 2 and box[3] - box[1] >= 2 else None


def presence_features(scores: np.ndarray) -> np.ndarray:
    """What the presence model looks at: the keypoint confidences sorted (high first), their mean, and the
    best face, shoulder and hip confidences (a lying baby often shows only part of its body)."""
    scores = np.asarray(scores, dtype=np.float64).reshape(17)
    ranked = np.sort(scores)[::-1]
    return np.array([ranked[:3].mean(), ranked[:8].mean(), scores.mean(),
                     scores[list(HEAD_POINTS)].max(), scores[[LEFT_SHOULDER, RIGHT_SHOULDER]].max(),
                     scores[[LEFT_HIP, RIGHT_HIP]].max()])


# The crop the presence and posture heads were trained on: keypoints' box grown by CROP_BODY_MARGIN, then
# made square and grown by CROP_MARGIN (crops.crop_square). Changing these means retraining the heads.
CROP_BODY_MARGIN = 0.12
CROP_MARGIN = 0.1


def body_crop(image: np.ndarray, pose: Pose | None) -> tuple[np.ndarray, Box | None]:
    """The 224×224 crop the presence and posture heads look at: around the pose's body box, or the whole
    image (padded square) when the pose has too few confident keypoints. Returns (crop, box or None)."""
    from babymon.vision.crops import crop_square, whole_image_square

    box = None if pose is None else body_box(pose, image.shape[1], image.shape[0], margin=CROP_BODY_MARGIN)
    if box is None:
        return whole_image_square(image), None
    return crop_square(image, box, margin=CROP_MARGIN), box


@dataclass(frozen=True)
class PresenceModel:
    """Logistic regression P(baby) = sigmoid(w·f + b), present when ≥ threshold. ``f`` is
    :func:`presence_features` of the keypoint confidences, followed (when ``uses_embedding``) by the
    embedding of :func:`body_crop`."""

    weights: np.ndarray
    bias: float
    threshold: float
    uses_embedding: bool = False

    def score(self, scores: np.ndarray, embedding: np.ndarray | None = None) -> float:
        features = presence_features(scores)
        if self.uses_embedding:
            if embedding is None:
                raise ValueError("this presence model needs the body crop's embedding")
            features = np.concatenate([features, np.asarray(embedding, dtype=np.float64)])
        z = float(features @ self.weights + self.bias)
        return float(1.0 / (1.0 + np.exp(-np.clip(z, -50, 50))))

    @classmethod
    def load(cls, path: Path = PRESENCE_FILE) -> PresenceModel:
        try:
            data = json.loads(path.read_text())
            weights = np.asarray(data["weights"], dtype=np.float64)
            model = cls(weights=weights, bias=float(data["bias"]), threshold=float(data["threshold"]),
                        uses_embedding=bool(data.get("uses_embedding", False)))
        except FileNotFoundError:
            raise AnalyzerUnavailable(f"presence model {path} is missing (restore models/posture/ from git, "
                                      f"or train it: babymon train posture)") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise AnalyzerUnavailable(f"presence model {path} is not valid: {exc}") from None
        expected = N_PRESENCE_FEATURES + (EMBEDDING_SIZE if model.uses_embedding else 0)
        if weights.shape != (expected,):
            raise AnalyzerUnavailable(f"presence model {path}: 'weights' has shape {weights.shape}, "
                                      f"expected ({expected},)")
        return model

    def to_json(self) -> dict:
        return {"features": ["top3_mean", "top8_mean", "mean", "best_face", "best_shoulder", "best_hip"]
                + (["embedding[1024]"] if self.uses_embedding else []),
                "uses_embedding": self.uses_embedding, "threshold": self.threshold, "bias": self.bias,
                "weights": [round(float(w), 6) for w in self.weights]}


def upright_turns(pose: Pose, threshold: float = KEYPOINT_THRESHOLD) -> int:
    """Clockwise quarter turns that would put this pose's head above its hips (0 when it already is, or when
    the head or hips were not found). The body's axis is hips → head (face keypoints, else shoulders)."""
    ok = pose.scores >= threshold
    top = [i for i in HEAD_POINTS if ok[i]] or [i for i in (LEFT_SHOULDER, RIGHT_SHOULDER) if ok[i]]
    bottom = [i for i in (LEFT_HIP, RIGHT_HIP) if ok[i]]
    if not top or not bottom:
        return 0
    dx, dy = pose.keypoints[top].mean(axis=0) - pose.keypoints[bottom].mean(axis=0)
    if abs(dx) <= abs(dy):
        return 0 if dy <= 0 else 2
    return 1 if dx < 0 else 3  # head to the left: turning clockwise brings it to the top


def quality(pose: Pose) -> float:
    """How sure the pose model is about this pose: the mean of its 8 best keypoint confidences."""
    return float(np.sort(pose.scores)[::-1][:8].mean())


def estimate_upright(estimator: PoseEstimator, image: np.ndarray, turns: int) -> Pose:
    """The pose found in ``image`` turned ``turns`` × 90° clockwise, mapped back to ``image``'s pixels."""
    from babymon.vision.face import rotate_image

    turns %= 4
    if turns == 0:
        return estimator.estimate(image)
    rotation = Rotation(90.0 * turns, image.shape[1], image.shape[0])
    pose = estimator.estimate(rotate_image(image, rotation))
    return Pose(keypoints=rotation.backward(pose.keypoints), scores=pose.scores)


@dataclass
class PoseRecord:
    """MoveNet's two passes over one image: as it is, and turned upright (only when the first pass found a body
    whose head is not above its hips)."""

    first: Pose
    turns: int
    second: Pose | None
    width: int
    height: int

    @property
    def chosen(self) -> Pose:
        """The pose the locator keeps (the more confident pass)."""
        if self.second is not None and quality(self.second) > quality(self.first):
            return self.second
        return self.first


def two_pass_pose(estimator: PoseEstimator, image: np.ndarray) -> PoseRecord:
    """Both passes the locator's ``second_pass`` runs (training caches the whole record)."""
    first = estimator.estimate(image)
    turns = upright_turns(first)
    second = estimate_upright(estimator, image, turns) if turns else None
    return PoseRecord(first=first, turns=turns, second=second, width=image.shape[1], height=image.shape[0])


class BabyFollower:
    """One camera's locator state from frame to frame, so that a baby that stays put costs fewer model passes.

    Searching a frame from scratch runs the finder over the whole view, then MoveNet on the focus around the baby,
    twice for a body lying across the picture (as it is, and turned upright; the more confident pose is kept).
    While the baby is followed, the next frame skips the finder and looks at the last focus, with MoveNet on the
    last upright turn only. A followed frame is kept only when the presence model still finds the baby in that
    focus, and a turned pose only when the body in it still lies that way (``upright_turns`` unchanged) with some
    confidence (``quality`` ≥ ``min_quality``); otherwise that same frame is searched from scratch. So a frame
    on which the baby moved away, rolled or vanished is answered as without following, and every
    ``recheck_every``-th frame is searched from scratch anyway. Stateful: one per camera, frames in order (the
    vision analyzer makes one; evaluation on single images uses none).
    """

    def __init__(self, recheck_every: int = 10, min_quality: float = 0.3):
        if recheck_every < 1:
            raise ValueError("recheck_every must be at least 1")
        self.recheck_every = recheck_every
        self.min_quality = min_quality
        self.focus: tuple[float, float, float, float] | None = None  # where the baby was found (view fractions)
        self.turns = 0  # the quarter turns that put it upright (0: none, or not lying across)
        self.since_search = 0  # followed frames since the last search from scratch
        self.searches = 0
        self.followed = 0

    @property
    def following(self) -> bool:
        return self.focus is not None and self.since_search < self.recheck_every - 1

    def searched(self, focus: tuple[float, float, float, float] | None) -> None:
        self.focus, self.since_search = focus, 0
        self.searches += 1

    def kept(self) -> None:
        self.since_search += 1
        self.followed += 1


class BabyLocator:
    """Finder → pose → :class:`Location`. ``region`` (fractions of the frame, as ``crib_region``) crops first.

    ``finder`` (:class:`babymon.vision.baby_finder.BabyFinder`, the default; ``use_finder=False`` for none): one
    look at the whole view says where a baby is; MoveNet then runs on the part of the view around it
    (:func:`babymon.vision.baby_finder.focus_region`), at the resolution of that crop, and the presence model
    decides there. When the finder sees no baby cell, the whole view is looked at as before: the finder never
    rules a baby out on its own (it missed 3 of 118 covered close-ups, and a covered face read as "no baby"
    would be silent), and it cannot tell an empty bassinet from a baby (models/finder/MODEL_CARD.md).

    ``second_pass``: MoveNet is trained on upright people; when the first pass finds a body lying sideways or
    upside down (head not above hips), the frame is turned so the head is up and MoveNet runs again, and the
    more confident of the two poses is kept (one extra ~7 ms pass, only for such frames).
    """

    def __init__(self, estimator: PoseEstimator | None = None, presence: PresenceModel | None = None,
                 embedder=None, threads: int = 1, second_pass: bool = True, finder=None, use_finder: bool = True):
        self.estimator = estimator or PoseEstimator(threads=threads)
        self.presence = presence or PresenceModel.load()
        if self.presence.uses_embedding and embedder is None:
            from babymon.vision.embedding import ImageEmbedder

            embedder = ImageEmbedder(threads=threads)
        self.embedder = embedder if self.presence.uses_embedding else None
        self.second_pass = second_pass
        if finder is None and use_finder:
            from babymon.vision.baby_finder import BabyFinder

            finder = BabyFinder(threads=threads)
        self.finder = finder
        self.follower: BabyFollower | None = None

    def follow(self, follower: BabyFollower | None = None) -> None:
        """Follow the baby from frame to frame (one camera's frames, in order): see :class:`BabyFollower`.
        Without it (the default, as in evaluation), every image is searched from scratch."""
        self.follower = follower or BabyFollower()

    def find_pose(self, view: np.ndarray, follow: bool = False) -> Pose:
        if not self.second_pass:
            return self.estimator.estimate(view)
        follower = self.follower
        if follow and follower is not None and follower.turns:
            pose = estimate_upright(self.estimator, view, follower.turns)
            if upright_turns(pose) == follower.turns and quality(pose) >= follower.min_quality:
                return pose
        record = two_pass_pose(self.estimator, view)
        chosen = record.chosen
        if follower is not None:
            follower.turns = record.turns if record.second is not None and chosen is record.second else 0
        return chosen

    def look(self, image: np.ndarray, part: tuple[float, float, float, float] | None,
             follow: bool = False) -> tuple[Pose, np.ndarray | None, float]:
        """MoveNet and the presence model on ``part`` of the image (fractions; None: all of it): the pose in frame
        pixels, the embedding of its body crop (or of the whole part) and the presence score."""
        view, ox, oy = region_view(image, part)
        pose = self.find_pose(view, follow)
        embedding = None
        if self.embedder is not None:  # the body, or the whole view the pose was looked for in
            crop, _ = body_crop(view, pose)
            embedding = self.embedder.embed([crop])[0]
        if ox or oy:
            pose = Pose(keypoints=pose.keypoints + np.array([ox, oy], dtype=np.float64), scores=pose.scores)
        return pose, embedding, self.presence.score(pose.scores, embedding)

    def locate(self, image: np.ndarray, region: tuple[float, float, float, float] | None = None) -> Location:
        height, width = image.shape[:2]
        follower = self.follower
        if follower is not None and follower.following:
            assert follower.focus is not None
            pose, embedding, score = self.look(image, follower.focus, follow=True)
            if score >= self.presence.threshold:  # still there: no finder pass this frame
                follower.kept()
                return self._location(pose, embedding, score, width, height, follower.focus, finder_score=None)
        location = self._search(image, region)
        if follower is not None:
            follower.searched(location.focus if location.baby_present else None)
        return location

    def _search(self, image: np.ndarray, region: tuple[float, float, float, float] | None) -> Location:
        """The frame searched from scratch: finder, then MoveNet and presence on its focus (else the whole view)."""
        height, width = image.shape[:2]
        focus = finder_score = None
        if self.finder is not None:
            from babymon.vision.baby_finder import focus_region

            found = self.finder.find(image, region)
            finder_score = found.score
            if found.present and found.box is not None:
                focus = focus_region(found.box, width, height, region)
        pose, embedding, score = self.look(image, focus or region)
        if focus is not None and score < self.presence.threshold:
            # Not a baby where the finder pointed: look at the whole view too (a covered close-up can fool the
            # finder's box), so the finder never makes a baby the whole-view path would find go missing.
            whole = self.look(image, region)
            if whole[2] >= self.presence.threshold:
                (pose, embedding, score), focus = whole, None
        return self._location(pose, embedding, score, width, height, focus, finder_score)

    def _location(self, pose: Pose, embedding: np.ndarray | None, score: float, width: int, height: int,
                  focus: tuple[float, float, float, float] | None, finder_score: float | None) -> Location:
        present = score >= self.presence.threshold
        return Location(baby_present=present, presence_score=score,
                        baby_box=body_box(pose, width, height) if present else None,
                        head_box=head_box(pose, width, height) if present else None,
                        pose=pose, embedding=embedding, focus=focus, finder_score=finder_score)
