"""Encode a frame as JPEG (with PyAV's MJPEG encoder, so the daemon needs no image library)."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np


def encode_jpeg(image_bgr: np.ndarray, quality: int = 5) -> bytes:
    """``quality`` is MJPEG's qscale: 2 (best) … 31 (smallest)."""
    height, width = image_bgr.shape[:2]
    codec = av.CodecContext.create("mjpeg", "w")
    codec.width = width - width % 2
    codec.height = height - height % 2
    codec.pix_fmt = "yuvj420p"
    codec.time_base = Fraction(1, 1)
    codec.qmin = codec.qmax = quality
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image_bgr[: codec.height, : codec.width]), format="bgr24")
    frame = frame.reformat(format="yuvj420p")
    frame.pts = 0
    packets = codec.encode(frame) + codec.encode(None)
    return b"".join(bytes(p) for p in packets)
