"""``babymon analyze VIDEO --annotate OUT.mp4``: the analysed frames with boxes, keypoints and labels drawn.

:class:`AnnotatingAnalyzer` wraps a video analyzer: it passes each frame through, draws what came out (the
live view's overlay: baby and face boxes, face state, posture, the danger banner from the latest published
state) plus the pose keypoints when the vision pipeline found them, and appends the picture to an H.264 MP4 at
the detect frame rate (so it plays back at the video's own speed).
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np

from babymon.analyzers.base import Observation, VideoAnalyzer, VideoFrame


class AnnotatedVideoWriter:
    def __init__(self, path: Path, fps: float):
        self.path = Path(path)
        self.fps = fps
        self._container = None
        self._stream = None
        self.frames = 0

    def write(self, image_bgr: np.ndarray) -> None:
        import av

        if self._container is None:
            self._container = av.open(str(self.path), "w")
            codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
            self._rate = Fraction(self.fps).limit_denominator(1000)
            self._stream = self._container.add_stream(codec, rate=self._rate)
            self._stream.width = image_bgr.shape[1] - image_bgr.shape[1] % 2
            self._stream.height = image_bgr.shape[0] - image_bgr.shape[0] % 2
            self._stream.pix_fmt = "yuv420p"
        assert self._stream is not None
        image = np.ascontiguousarray(image_bgr[: self._stream.height, : self._stream.width])
        frame = av.VideoFrame.from_ndarray(image, format="bgr24")
        frame.pts = self.frames
        frame.time_base = 1 / self._rate
        self._container.mux(self._stream.encode(frame))
        self.frames += 1

    def close(self) -> None:
        if self._container is not None and self._stream is not None:
            self._container.mux(self._stream.encode(None))
            self._container.close()
            self._container = None


def draw_keypoints(image: np.ndarray, keypoints: np.ndarray | None, scores: np.ndarray | None,
                   min_score: float = 0.2) -> None:
    import cv2

    if keypoints is None or scores is None:
        return
    radius = max(2, image.shape[1] // 200)
    for (x, y), score in zip(keypoints, scores, strict=False):
        if score >= min_score:
            cv2.circle(image, (int(round(x)), int(round(y))), radius, (255, 200, 0), -1, cv2.LINE_AA)


class AnnotatingAnalyzer(VideoAnalyzer):
    def __init__(self, inner: VideoAnalyzer, writer: AnnotatedVideoWriter, state: Callable[[], dict | None]):
        super().__init__(inner.camera, inner.config)
        self.inner = inner
        self.writer = writer
        self.state = state
        self.name = inner.name  # type: ignore[misc]
        self.conditions = inner.conditions  # type: ignore[misc]

    def analyze(self, frame: VideoFrame) -> Observation:
        from babymon.overlay import draw_overlay

        observation = self.inner.analyze(frame)
        picture = draw_overlay(frame.image, observation, self.state())
        result = getattr(self.inner, "last_result", None)
        if result is not None:
            draw_keypoints(picture, result.keypoints, result.keypoint_scores)
        self.writer.write(picture)
        return observation

    def close(self) -> None:
        self.inner.close()
