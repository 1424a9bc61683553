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
from babymon.vision.pose import PoseEstimator, PoseRecord, body_crop
from babymon.vision.pose import two_pass_pose as find_pose

CACHE_VERSION = "posture-v1"
DEFAULT_CACHE = Path(tempfile.gettempdir()) / "babymon-posture-cache"


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


def _read(path: Path) -> np.ndarray:
    import cv2

    image = cv2.imread(str(path))
    if image is None:
        raise ValueError(f"{path}: not a readable image")
    return image


def _cached(cache: Cache, kind: str, items: list, key, compute, desc: str, progress: bool) -> list:
    """``compute(item)`` for each item, cached under ``kind`` and ``key(item)`` = (image path, extra key)."""
    from tqdm import tqdm

    out = []
    for item in tqdm(items, desc=desc, disable=not progress, unit="img"):
        path, extra = key(item)
        hit = cache.get(kind, path, extra)
        if hit is None:
            hit = compute(item)
            cache.put(kind, path, hit, extra)
        out.append(hit)
    return out


def _lazy(make):
    """``make()`` on the first call, the same object after (a warm cache needs no model at all)."""
    made = []

    def get():
        if not made:
            made.append(make())
        return made[0]

    return get


def _embedder():
    from babymon.vision.embedding import ImageEmbedder

    return ImageEmbedder()


def image_features(paths: Iterable[Path], cache: Cache, progress: bool = True) -> list[ImageFeatures]:
    """Poses and embeddings of each image (cached)."""
    estimator, embedder = _lazy(PoseEstimator), _lazy(_embedder)

    def compute(path: Path) -> ImageFeatures:
        image = _read(path)
        record = find_pose(estimator(), image)
        whole = whole_image_square(image)
        crop, _ = body_crop(image, record.chosen)
        vectors = embedder().embed([whole, crop, np.ascontiguousarray(whole[:, ::-1]),
                                    np.ascontiguousarray(crop[:, ::-1])])
        return ImageFeatures(record=record, whole=vectors[0], crop=vectors[1], whole_mirror=vectors[2],
                             crop_mirror=vectors[3])

    return _cached(cache, "image", list(paths), lambda path: (path, ""), compute, "posture features", progress)


def presence_records(items: Iterable[tuple[Path, tuple[int, int, int, int] | None]], cache: Cache,
                     progress: bool = True, desc: str = "presence features") -> list[tuple[PoseRecord, np.ndarray]]:
    """The locator's pose and the embedding of its body crop for (image path, optional crop x1, y1, x2, y2 in
    pixels) items (cached)."""
    estimator, embedder = _lazy(PoseEstimator), _lazy(_embedder)

    def key(item) -> tuple[Path, str]:
        path, crop = item
        return path, "" if crop is None else ",".join(map(str, crop))

    def compute(item) -> tuple[PoseRecord, np.ndarray]:
        path, crop = item
        image = _read(path)
        if crop is not None:
            image = np.ascontiguousarray(image[crop[1]:crop[3], crop[0]:crop[2]])
        record = find_pose(estimator(), image)
        return record, embedder().embed([body_crop(image, record.chosen)[0]])[0]

    return _cached(cache, "presence", list(items), key, compute, desc, progress)


def face_records(paths: Iterable[Path], cache: Cache, progress: bool = True) -> list[list]:
    """Every face the pipeline's default detector (``YuNetDetector()``: YuNet at quarter turns, score ≥ 0.6)
    finds in each whole image (cached): what the posture head's face features are computed from."""
    from babymon.vision.face import YuNetDetector

    detector = _lazy(YuNetDetector)
    return _cached(cache, "faces", list(paths), lambda path: (path, ""),
                   lambda path: detector().detect(_read(path)), "faces", progress)


def with_faces(paths: Iterable[Path], cache: Cache, progress: bool = True) -> list[ImageFeatures]:
    """:func:`image_features` with ``faces`` filled in from :func:`face_records` (both cached)."""
    paths = list(paths)
    feats = image_features(paths, cache, progress)
    for f, faces in zip(feats, face_records(paths, cache, progress), strict=True):
        f.faces = faces
    return feats
