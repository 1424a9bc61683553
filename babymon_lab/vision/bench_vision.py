"""``babymon bench-vision``: milliseconds per stage of the whole vision path, and frames/s on this machine.

Frames: 640×480 pictures of real babies (the shared test videos and posture photos, when ../shared/data is
there; otherwise synthetic frames, which exercise the cost but not the decisions). Each worker thread runs its
own pipeline (models with one thread each, as the daemon runs one analyzer per camera); ``--workers`` should
match the cores. ``--finder off`` runs the locator without the baby finder (the path before it), for a
before/after in one session; ``locate`` includes the finder. Prints per-stage mean/p95 ms for one worker, then throughput for ``--workers`` in parallel.
Target (issue 3): ≥ 30 frames/s at 640×480 on the 2-core dev machine (six cameras at 5 fps).
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from pathlib import Path

import numpy as np

from babymon_lab.paths import SHARED_DATA

STAGES = ("locate", "face", "face_state", "posture")


def load_frames(data: Path, count: int, width: int = 640, height: int = 480) -> tuple[list[np.ndarray], str]:
    import cv2

    frames: list[np.ndarray] = []
    for video in sorted((data / "video").glob("*.mp4")):
        capture = cv2.VideoCapture(str(video))
        index = 0
        while len(frames) < count // 2:
            ok, frame = capture.read()
            if not ok:
                break
            if index % 15 == 0:
                frames.append(cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA))
            index += 1
        capture.release()
    photos = sorted((data / "vision" / "infant_posture").glob("*/*.jpg"))
    for path in photos[:: max(1, len(photos) // max(1, count - len(frames)))]:
        if len(frames) >= count:
            break
        image = cv2.imread(str(path))
        if image is not None:
            frames.append(cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA))
    if frames:
        return frames, f"{len(frames)} real frames from {data}"
    rng = np.random.default_rng(0)
    return [rng.integers(0, 255, (height, width, 3), dtype=np.uint8) for _ in range(count)], "synthetic noise frames"


def _pipeline(face_detector: str, finder: bool = True):
    from babymon.vision.analyzer import build_face_detector
    from babymon.vision.pipeline import VisionPipeline
    from babymon.vision.pose import BabyLocator

    return VisionPipeline(locator=BabyLocator(use_finder=finder), face_detector=build_face_detector(face_detector))


def run(frames: list[np.ndarray], workers: int, seconds: float, face_detector: str, finder: bool = True) -> dict:
    from babymon_lab.vision.retinaface_export import prepare

    prepare(face_detector)
    pipeline = _pipeline(face_detector, finder)
    for frame in frames[:3]:
        pipeline.analyze(frame)  # warm-up
    per_stage: dict[str, list[float]] = {s: [] for s in STAGES}
    totals = []
    for frame in frames:
        started = time.perf_counter()
        result = pipeline.analyze(frame)
        totals.append((time.perf_counter() - started) * 1000)
        for stage in STAGES:
            per_stage[stage].append(result.timings_ms.get(stage, 0.0))
    stages = {s: {"mean_ms": float(np.mean(v)), "p95_ms": float(np.percentile(v, 95))} for s, v in per_stage.items()}

    pipelines = [pipeline] + [_pipeline(face_detector, finder) for _ in range(workers - 1)]
    counts = [0] * workers
    stop = threading.Event()

    def work(i: int) -> None:
        n = 0
        while not stop.is_set():
            pipelines[i].analyze(frames[(i * 7 + n) % len(frames)])
            n += 1
        counts[i] = n

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    return {
        "frames": len(frames),
        "single_worker": {"stages": stages, "total_mean_ms": float(np.mean(totals)),
                          "total_p95_ms": float(np.percentile(totals, 95))},
        "workers": workers,
        "throughput_fps": sum(counts) / elapsed,
        "cameras_at_5fps": sum(counts) / elapsed / 5.0,
        "face_detector": face_detector,
        "finder": finder,
        "cpu_count": os.cpu_count(),
    }


def bench_vision_command(args: argparse.Namespace) -> int:
    data = Path(args.data) if args.data else SHARED_DATA
    frames, what = load_frames(data, args.frames)
    report = run(frames, max(1, args.workers), args.seconds, args.face_detector, args.finder == "on")
    report["frames_from"] = what
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"vision path, 640x480, {what}, face detector {args.face_detector}, baby finder {args.finder}")
    single = report["single_worker"]
    for stage, numbers in single["stages"].items():
        print(f"  {stage:11s} {numbers['mean_ms']:6.1f} ms (p95 {numbers['p95_ms']:.1f})")
    print(f"  {'total':11s} {single['total_mean_ms']:6.1f} ms (p95 {single['total_p95_ms']:.1f}) on one worker")
    print(f"throughput with {report['workers']} workers: {report['throughput_fps']:.1f} frames/s "
          f"= {report['cameras_at_5fps']:.1f} cameras at 5 fps (target >= 30 frames/s)")
    return 0
