"""A synthetic, camera-like clip (H.264 + AAC) for the demo, the benchmark and the tests."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def read_photo(path: Path | str) -> np.ndarray:
    """A photo as RGB for :func:`make_clip`'s ``still``; ValueError naming the file when it cannot be read."""
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"{path}: not a readable image")
    return np.ascontiguousarray(image[:, :, ::-1])


def still_scene(photo: np.ndarray, width: int, height: int, seed: int = 0):
    """Frames of a fixed camera on ``photo`` (RGB): sensor noise on every frame and, every 4 s, a patch of the
    picture (a hand, a foot) moved by a few pixels for a second, as a sleeping baby moves."""
    import cv2

    base = cv2.resize(photo, (width, height), interpolation=cv2.INTER_AREA)
    rng = np.random.default_rng(seed)

    def frame(i: int, fps: int) -> np.ndarray:
        image = base.copy()
        if (i // fps) % 4 == 3:  # the fourth second of every four: something moves
            y, x = height // 2 - 30, width // 2 - 30
            image[y:y + 60, x + 12:x + 72] = base[y:y + 60, x:x + 60]
        return np.clip(image.astype(np.int16) + rng.integers(-5, 6, image.shape), 0, 255).astype(np.uint8)

    return frame


def make_clip(path: Path, seconds: float = 30, width: int = 640, height: int = 480, fps: int = 15,
              audio: bool = True, bitrate: int = 800_000, still: np.ndarray | None = None) -> Path:
    """A camera-like H.264 + AAC clip, 1 key frame per second: a moving scene with sensor noise, or (``still``:
    an RGB photo) a fixed camera on that photo (:func:`still_scene`)."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:height, 0:width]
    still_frame = None if still is None else still_scene(still, width, height)
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.bit_rate = bitrate
        video.options = {"preset": "veryfast", "g": str(fps), "bf": "0"}
        sound = None
        if audio:
            sound = out.add_stream("aac", rate=16000)
            sound.layout = "mono"
            sound.time_base = Fraction(1, 16000)
        samples_done = 0
        for i in range(int(seconds * fps)):
            if still_frame is not None:
                frame = av.VideoFrame.from_ndarray(still_frame(i, fps), format="rgb24")
                frame.pts = i
                out.mux(video.encode(frame))
                samples_done = _mux_audio(out, sound, samples_done, int((i + 1) / fps * 16000), rng)
                continue
            shift = i * 3
            base = ((xx + shift) % width * 255 // width).astype(np.uint8)
            image = np.stack([base, ((yy + shift // 2) % height * 255 // height).astype(np.uint8),
                              np.full_like(base, 90)], axis=-1)
            cy, cx = height // 2 + int(60 * np.sin(i / 15)), width // 2 + int(120 * np.cos(i / 20))
            image[max(0, cy - 40):cy + 40, max(0, cx - 40):cx + 40] = (220, 180, 160)
            image = np.clip(image.astype(np.int16) + rng.integers(-6, 7, image.shape), 0, 255).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            out.mux(video.encode(frame))
            samples_done = _mux_audio(out, sound, samples_done, int((i + 1) / fps * 16000), rng)
        out.mux(video.encode(None))
        if sound is not None:
            out.mux(sound.encode(None))
    return path


def _mux_audio(out, sound, samples_done: int, until: int, rng: np.random.Generator) -> int:
    """A 440 Hz tone with noise up to sample ``until``; → the samples written so far."""
    if sound is None:
        return samples_done
    while samples_done + 1024 <= until:
        t = (samples_done + np.arange(1024)) / 16000
        pcm = (0.2 * np.sin(2 * np.pi * 440 * t) + 0.02 * rng.standard_normal(1024)).astype(np.float32)
        chunk = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="fltp", layout="mono")
        chunk.sample_rate, chunk.pts = 16000, samples_done
        out.mux(sound.encode(chunk))
        samples_done += 1024
    return samples_done
