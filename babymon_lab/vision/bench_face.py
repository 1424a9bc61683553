"""Milliseconds per 640×480 frame for the face detector, per set of rotation angles.

    python -m babymon_lab.vision.bench_face [--detector yunet|retinaface] [--images DIR] [--frames 40] [--threads 1]
                                        [--max-side N] [--json]

Frames are real images (default: ``infant_face_parts/valid`` from the shared data) resized to 640×480, so the
detector sees faces as it would in a camera frame; ``--images`` takes any folder of JPEG/PNG files.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from babymon_lab.vision.eval_face import DETECTORS, build_detector, detector_defaults
from babymon_lab.vision.manifests import DEFAULT_DATA, FACE_PARTS

ANGLE_SETS = {"upright": (0.0,), "quarters": (0.0, 90.0, 180.0, 270.0),
              "eighths": (0.0, 45.0, 90.0, 135.0, 180.0, 225.0, 270.0, 315.0)}


def load_frames(folder: Path, count: int, size: tuple[int, int] = (640, 480)) -> list:
    import cv2

    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))[:count]
    frames = [cv2.imread(str(p)) for p in paths]
    frames = [cv2.resize(f, size, interpolation=cv2.INTER_LINEAR) for f in frames if f is not None]
    if not frames:
        raise FileNotFoundError(f"no readable images in {folder}")
    return frames


def bench(frames: list, angle_sets: dict[str, tuple[float, ...]] = ANGLE_SETS,
          max_side: int | None = None, detector_name: str = "yunet", threads: int = 1) -> dict[str, dict]:
    """ms per frame for each angle set; ``max_side=None``: frames at full size. ``threads`` is given to the
    detector's runtime (OpenCV's for YuNet, ONNX Runtime's session for RetinaFace)."""
    threshold = detector_defaults(detector_name)[0]
    results = {}
    for name, angles in angle_sets.items():
        detector = build_detector(detector_name, angles, threshold, max_side, threads)
        detector.detect(frames[0])  # warm-up
        start = time.perf_counter()
        found = sum(bool(detector.detect(frame)) for frame in frames)
        ms = 1000.0 * (time.perf_counter() - start) / len(frames)
        results[name] = {"angles": list(angles), "ms_per_frame": ms, "frames": len(frames), "frames_with_face": found}
    return results


def main(argv: list[str] | None = None) -> int:
    import cv2

    parser = argparse.ArgumentParser(prog="python -m babymon_lab.vision.bench_face", description=__doc__.split("\n")[0])
    parser.add_argument("--detector", choices=DETECTORS, default="yunet")
    parser.add_argument("--images", type=Path, default=DEFAULT_DATA / FACE_PARTS / "valid" / "images")
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--threads", type=int, default=1, help="OpenCV / ONNX Runtime threads (default 1)")
    parser.add_argument("--max-side", type=int, default=None,
                        help="shrink frames to this longer side before detecting; 0 = full size "
                             "(default: the detector's own)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    cv2.setNumThreads(args.threads)
    try:
        max_side = detector_defaults(args.detector)[1] if args.max_side is None else (args.max_side or None)
        results = bench(load_frames(args.images, args.frames), max_side=max_side, detector_name=args.detector,
                        threads=args.threads)
    except (FileNotFoundError, ValueError) as exc:
        print(f"bench_face: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(f"{args.detector}, max_side {max_side or 'full size'}, {args.threads} thread(s)")
        for name, r in results.items():
            print(f"{name:9s} {len(r['angles'])} pass(es): {r['ms_per_frame']:6.1f} ms per 640x480 frame "
                  f"({r['frames_with_face']}/{r['frames']} frames with a face)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
