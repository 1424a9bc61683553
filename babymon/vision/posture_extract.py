"""Run the real models over the training images once and cache what the posture and presence heads learn from.

For each posture image: MoveNet's pose as the locator finds it (first pass, and the upright second pass when
the locator would run one), the embedding of the whole image and of the crop around the body box, and the same
embeddings of the mirrored crops (augmentation). For presence: poses of real babies (``infant_detection``
images, ``infant_posture`` images) and of honest negatives (see :func:`presence_negatives`).

The cache lives in a temporary folder (``$TMPDIR/babymon-posture-cache``), keyed by file path, size and mtime
and by what was computed, so a rerun of ``babymon train posture`` skips the models.
"""

from __future__ import annotations

import hashlib
import pickle
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from babymon.vision.crops import whole_image_square
from babymon.vision.pose import Pose, PoseEstimator, body_crop, estimate_upright, quality, upright_turns

CACHE_VERSION = "posture-v1"
DEFAULT_CACHE = Path(tempfile.gettempdir()) / "babymon-posture-cache"


@dataclass
class PoseRecord:
    """The locator's two MoveNet passes over one image (the second only when it would run one)."""

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


def find_pose(estimator: PoseEstimator, image: np.ndarray) -> PoseRecord:
    first = estimator.estimate(image)
    turns = upright_turns(first)
    second = estimate_upright(estimator, image, turns) if turns else None
    return PoseRecord(first=first, turns=turns, second=second, width=image.shape[1], height=image.shape[0])


class Cache:
    def __init__(self, folder: Path | None = None):
        self.folder = folder or DEFAULT_CACHE
        self.folder.mkdir(parents=True, exist_ok=True)

    def _file(self, kind: str, path: Path, extra: str = "") -> Path:
        stat = path.stat()
        key = f"{CACHE_VERSION}|{kind}|{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{extra}"
        return self.folder / f"{kind}-{hashlib.sha1(key.encode()).hexdigest()[:20]}.pkl"

    def get(self, kind: str, path: Path, extra: str = ""):
        target = self._file(kind, path, extra)
        if target.is_file():
            try:
                return pickle.loads(target.read_bytes())
            except (pickle.UnpicklingError, EOFError, ValueError):
                return None
        return None

    def put(self, kind: str, path: Path, value, extra: str = "") -> None:
        target = self._file(kind, path, extra)
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(pickle.dumps(value))
        tmp.replace(target)


@dataclass
class ImageFeatures:
    record: PoseRecord
    whole: np.ndarray  # (1024,) embedding of the whole image
    crop: np.ndarray  # (1024,) embedding of the body crop (the whole image when no box)
    whole_mirror: np.ndarray
    crop_mirror: np.ndarray
    faces: list | None = None  # every face YuNetDetector() found in the whole image (set by with_faces)


def image_features(paths: Iterable[Path], cache: Cache, progress: bool = True) -> list[ImageFeatures]:
    """Poses and embeddings of each image (cached)."""
    import cv2
    from tqdm import tqdm

    from babymon.vision.embedding import ImageEmbedder

    paths = list(paths)
    estimator = embedder = None
    out = []
    for path in tqdm(paths, desc="posture features", disable=not progress, unit="img"):
        hit = cache.get("image", path)
        if hit is None:
            image = cv2.imread(str(path))
            if image is None:
                raise ValueError(f"{path}: not a readable image")
            estimator = estimator or PoseEstimator()
            embedder = embedder or ImageEmbedder()
            record = find_pose(estimator, image)
            whole = whole_image_square(image)
            crop, _ = body_crop(image, record.chosen)
            vectors = embedder.embed([whole, crop, np.ascontiguousarray(whole[:, ::-1]),
                                      np.ascontiguousarray(crop[:, ::-1])])
            hit = ImageFeatures(record=record, whole=vectors[0], crop=vectors[1], whole_mirror=vectors[2],
                                crop_mirror=vectors[3])
            cache.put("image", path, hit)
        out.append(hit)
    return out


def presence_records(items: Iterable[tuple[Path, tuple[int, int, int, int] | None]], cache: Cache,
                     progress: bool = True, desc: str = "presence features") -> list[tuple[PoseRecord, np.ndarray]]:
    """The locator's pose and the embedding of its body crop for (image path, optional crop x1, y1, x2, y2 in
    pixels) items (cached)."""
    import cv2
    from tqdm import tqdm

    from babymon.vision.embedding import ImageEmbedder

    items = list(items)
    estimator = embedder = None
    out = []
    for path, crop in tqdm(items, desc=desc, disable=not progress, unit="img"):
        extra = "" if crop is None else ",".join(map(str, crop))
        hit = cache.get("presence", path, extra)
        if hit is None:
            image = cv2.imread(str(path))
            if image is None:
                raise ValueError(f"{path}: not a readable image")
            if crop is not None:
                image = np.ascontiguousarray(image[crop[1]:crop[3], crop[0]:crop[2]])
            estimator = estimator or PoseEstimator()
            embedder = embedder or ImageEmbedder()
            record = find_pose(estimator, image)
            hit = (record, embedder.embed([body_crop(image, record.chosen)[0]])[0])
            cache.put("presence", path, hit, extra)
        out.append(hit)
    return out


def face_records(paths: Iterable[Path], cache: Cache, progress: bool = True) -> list[list]:
    """Every face the pipeline's default detector (``YuNetDetector()``: YuNet at quarter turns, score ≥ 0.6)
    finds in each whole image (cached): what the posture head's face features are computed from."""
    import cv2
    from tqdm import tqdm

    from babymon.vision.face import YuNetDetector

    paths = list(paths)
    detector = None
    out = []
    for path in tqdm(paths, desc="faces", disable=not progress, unit="img"):
        hit = cache.get("faces", path)
        if hit is None:
            image = cv2.imread(str(path))
            if image is None:
                raise ValueError(f"{path}: not a readable image")
            detector = detector or YuNetDetector()
            hit = detector.detect(image)
            cache.put("faces", path, hit)
        out.append(hit)
    return out


def with_faces(paths: Iterable[Path], cache: Cache, progress: bool = True) -> list[ImageFeatures]:
    """:func:`image_features` with ``faces`` filled in from :func:`face_records` (both cached)."""
    paths = list(paths)
    feats = image_features(paths, cache, progress)
    for f, faces in zip(feats, face_records(paths, cache, progress), strict=True):
        f.faces = faces
    return feats
