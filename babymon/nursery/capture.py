"""``babymon nursery capture --camera NAME [-c FILE] [--every 30s] [--count N] [--video FILE]``.

Keeps one frame every ``--every`` seconds of a camera (its stream, as the daemon reads it, at detect size) or of a
video file, with babymon's one-frame answer for it in the sidecar, in the camera's nursery folder
(``nursery.path/<camera>/``), ready for the labelling page (``/label``). Stops after ``--count`` frames, at the
end of a file, or on Ctrl-C.
"""

from __future__ import annotations

import argparse
import queue
import signal
import sys
import threading
from pathlib import Path

import numpy as np

from babymon.analyzers.base import VideoFrame
from babymon.nursery.folder import camera_folder, prediction_of

DEFAULT_EVERY = 30.0


class _Frames:
    """A stream sink that hands frames to the capture loop: a live camera's oldest are dropped when the loop lags,
    a file waits for the loop (``wait``), so no second of it is skipped."""

    def __init__(self, wait: bool = False) -> None:
        self.frames: queue.Queue[VideoFrame | None] = queue.Queue(maxsize=4)
        self.problem: str | None = None
        self.wait = wait

    def on_connected(self, has_audio: bool) -> None:
        self.problem = None

    def on_disconnected(self, reason: str) -> None:
        self.problem = reason
        print(f"camera: {reason} (retrying)", file=sys.stderr)

    def on_video(self, frame: VideoFrame) -> None:
        if self.wait:
            self.frames.put(frame)
            return
        while True:
            try:
                self.frames.put_nowait(frame)
                return
            except queue.Full:
                try:
                    self.frames.get_nowait()
                except queue.Empty:
                    pass

    def on_audio(self, samples: np.ndarray, start_time: float) -> None:
        pass

    def on_end(self) -> None:
        self.frames.put(None)


def due(last: float | None, now: float, every: float) -> bool:
    """A frame at ``now`` is kept when none was yet, or ``every`` seconds have passed since the last one (pure)."""
    return last is None or now - last >= every - 1e-6


def capture_command(args: argparse.Namespace) -> int:
    from babymon.cli import EXIT_CONFIG, _load
    from babymon.nursery.keeper import JPEG_QUALITY
    from babymon.overlay import encode_jpeg
    from babymon.config import CameraConfig, ConfigError
    from babymon.config_values import parse_duration
    from babymon.stream import StreamSource
    from babymon.vision.analyzer import VisionAnalyzer

    config = _load(args.config)
    if args.camera not in config.cameras:
        print(f"babymon: --camera '{args.camera}' is not in {args.config} (cameras: {', '.join(config.cameras)})",
              file=sys.stderr)
        return EXIT_CONFIG
    try:
        every = float(parse_duration(args.every))
        if not every > 0:
            raise ValueError("must be more than 0")
    except ValueError as exc:
        print(f"babymon: --every {args.every}: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if args.count is not None and args.count < 1:
        print("babymon: --count must be 1 or more", file=sys.stderr)
        return EXIT_CONFIG
    camera = config.cameras[args.camera]
    if args.video:
        video = Path(args.video)
        if not video.is_file():
            print(f"babymon: --video '{video}' does not exist", file=sys.stderr)
            return 1
        try:
            camera = CameraConfig.model_validate({**camera.model_dump(), "url": str(video), "realtime": False,
                                                  "loop": False})
        except (ConfigError, ValueError) as exc:
            print(f"babymon: --video: {exc}", file=sys.stderr)
            return 1
    folder = camera_folder(config.nursery.path, args.camera)
    analyzer = VisionAnalyzer(args.camera, camera)
    sink = _Frames(wait=bool(args.video))
    source = StreamSource(args.camera, camera, sink, realtime=False if args.video else None,
                          stop_at_end=bool(args.video))
    stopping = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    source.start()
    print(f"capturing one frame every {every:g} s of {args.video or args.camera} into {folder.root}"
          + (f", {args.count} frames" if args.count else " (Ctrl-C stops)"), flush=True)
    kept, last = 0, None
    try:
        while not stopping.is_set() and (args.count is None or kept < args.count):
            try:
                frame = sink.frames.get(timeout=0.5)
            except queue.Empty:
                continue
            if frame is None:  # end of the file
                break
            if not due(last, frame.timestamp, every):
                continue
            last = frame.timestamp
            observation = analyzer.analyze(frame)
            name = folder.save_frame(encode_jpeg(frame.image, JPEG_QUALITY), prediction_of(observation), "capture",
                                     taken_at=frame.timestamp)
            kept += 1
            print(f"  {name}: {observation.posture or 'no baby'}, face {observation.face_state}", flush=True)
    finally:
        source.stop()
        analyzer.close()
    print(f"kept {kept} frame(s) in {folder.root}; label them at /label of the web page, then "
          f"`babymon train nursery --labels {folder.labels_path}`")
    return 0 if kept else 1


def add_nursery_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("nursery", help="frames of your own nursery, for labelling and refitting (see README)")
    actions = p.add_subparsers(dest="nursery_action", required=True)
    c = actions.add_parser("capture", help="keep a frame every N seconds of a camera or video file, with babymon's "
                                           "answer, in the nursery folder")
    c.add_argument("--camera", required=True, help="camera key in the config")
    c.add_argument("-c", "--config", default="config.yaml", help="config file (default: %(default)s)")
    c.add_argument("--every", default=f"{DEFAULT_EVERY:g}s", help="time between kept frames (default %(default)s)")
    c.add_argument("--count", type=int, default=None, help="stop after this many frames (default: until Ctrl-C or "
                                                           "the end of --video)")
    c.add_argument("--video", default=None, help="read this video file instead of the camera's stream")
    c.set_defaults(func=capture_command)
