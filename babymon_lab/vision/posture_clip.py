"""Per-frame posture counts on a video clip (a sanity check, never training data).

    python -m babymon_lab.vision.posture_clip VIDEO [VIDEO ...] [--fps 5] [--width 640] [--model-dir DIR]

Samples each clip at ``--fps``, resizes frames to ``--width`` pixels wide, and runs what the vision pipeline
runs for posture: ``BabyLocator.locate`` → ``YuNetDetector().detect`` → the best face on the baby →
``PostureClassifier.predict(image, location, face=face)``. Prints the count of each answer and the mean
probabilities. The locator and detector output is cached per frame (``$TMPDIR/babymon-posture-cache``) so
model variants can be compared quickly.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np


def sample_frames(video: Path, fps: float, width: int) -> list[np.ndarray]:
    """Frames of ``video`` every 1/``fps`` seconds, resized to ``width`` pixels wide (BGR uint8)."""
    import cv2

    capture = cv2.VideoCapture(str(video))
    if not capture.isOpened():
        raise ValueError(f"{video}: not a readable video")
    native = capture.get(cv2.CAP_PROP_FPS) or 30.0
    step = max(int(round(native / fps)), 1)
    frames, index = [], 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        if index % step == 0:
            h, w = frame.shape[:2]
            frames.append(cv2.resize(frame, (width, round(h * width / w)), interpolation=cv2.INTER_AREA))
        index += 1
    capture.release()
    if not frames:
        raise ValueError(f"{video}: no frames could be read")
    return frames


def located_frames(video: Path, fps: float, width: int, cache=None, progress: bool = True) -> list[tuple]:
    """(frame, location, best face or None) for each sampled frame; locator and detector output cached."""
    from tqdm import tqdm

    from babymon.vision.face import YuNetDetector
    from babymon.vision.pipeline import best_face
    from babymon.vision.pose import BabyLocator
    from babymon_lab.vision.posture_extract import Cache

    cache = cache or Cache()
    frames = sample_frames(video, fps, width)
    extra = f"{fps}|{width}"
    hit = cache.get("clip", video, extra)
    if hit is None:
        locator, detector = BabyLocator(), YuNetDetector()
        hit = []
        for frame in tqdm(frames, desc=video.name, disable=not progress, unit="frame"):
            location = locator.locate(frame)
            hit.append((location, best_face(detector.detect(frame), location.baby_box)))
        cache.put("clip", video, hit, extra)
    return [(frame, location, face) for frame, (location, face) in zip(frames, hit, strict=True)]


def main(argv: list[str] | None = None) -> int:
    from babymon.analyzers.base import POSTURES
    from babymon.vision.posture import PostureClassifier

    parser = argparse.ArgumentParser(prog="python -m babymon_lab.vision.posture_clip")
    parser.add_argument("videos", nargs="+", type=Path)
    parser.add_argument("--fps", type=float, default=5.0)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--model-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    classifier = PostureClassifier(model_dir=args.model_dir)
    for video in args.videos:
        rows = located_frames(video, args.fps, args.width)
        probs = [classifier.predict(frame, location, face=face) for frame, location, face in rows]
        counts = Counter(max(p, key=p.__getitem__) for p in probs)
        mean = {c: round(float(np.mean([p[c] for p in probs])), 3) for c in POSTURES}
        faces = sum(face is not None for _, _, face in rows)
        print(f"{video.name}: {len(rows)} frames, face found on {faces}; posture {dict(counts.most_common())}; "
              f"mean probabilities {mean}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
