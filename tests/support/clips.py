"""Synthetic test clips (H.264 + AAC in MP4) generated with the ffmpeg CLI.

The ``ffmpeg`` command line (Debian's build has libx264 and the lavfi
``testsrc``/``sine`` sources) is used rather than PyAV so that clip creation
works the same everywhere and costs little CPU (ultrafast preset, 1 thread).
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path

__all__ = ["ffmpeg_available", "make_test_clip"]


@functools.lru_cache(maxsize=1)
def _ffmpeg() -> str | None:
    return shutil.which("ffmpeg")


@functools.lru_cache(maxsize=1)
def ffmpeg_available() -> bool:
    """True when an ``ffmpeg`` binary with libx264, AAC and lavfi is on PATH."""
    exe = _ffmpeg()
    if exe is None:
        return False
    try:
        enc = subprocess.run(
            [exe, "-hide_banner", "-encoders"], capture_output=True, text=True, timeout=20
        ).stdout
        flt = subprocess.run(
            [exe, "-hide_banner", "-filters"], capture_output=True, text=True, timeout=20
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return " libx264 " in enc and " aac " in enc and " testsrc " in flt and " sine " in flt


def make_test_clip(
    path: Path,
    seconds: float = 20,
    width: int = 640,
    height: int = 480,
    fps: int = 15,
    audio: bool = True,
    gop: int | None = None,
) -> Path:
    """Write an MP4 test clip and return its path.

    Video: H.264 (constrained baseline-like: libx264 ultrafast, no B-frames),
    ``width``x``height`` at ``fps``, lavfi ``testsrc`` (colour bars, a moving
    gradient and a running frame counter), a key frame every ``gop`` frames
    (default: ``fps``, i.e. one per second) with scene-cut key frames disabled.
    Audio (if ``audio``): AAC-LC, mono, 16 kHz, a 440 Hz tone with a short
    1 kHz beep every second.
    """
    exe = _ffmpeg()
    if exe is None:
        raise RuntimeError("ffmpeg not found on PATH (apt-get install ffmpeg)")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    gop = int(gop or fps)
    dur = f"{float(seconds):.3f}"
    cmd = [
        exe, "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
        "-f", "lavfi", "-i", f"testsrc=size={width}x{height}:rate={fps}:duration={dur}",
    ]
    if audio:
        cmd += [
            "-f", "lavfi", "-i",
            f"sine=frequency=440:beep_factor=2:sample_rate=16000:duration={dur}",
        ]
    cmd += [
        "-map", "0:v:0",
        "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
        "-pix_fmt", "yuv420p", "-profile:v", "baseline",
        "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0", "-bf", "0",
        "-b:v", "400k", "-maxrate", "600k", "-bufsize", "600k",
        "-threads", "1",
    ]
    if audio:
        cmd += ["-map", "1:a:0", "-c:a", "aac", "-b:a", "32k", "-ac", "1", "-ar", "16000"]
    cmd += ["-t", dur, "-movflags", "+faststart", str(path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=max(60, 10 * float(seconds)))
    if proc.returncode != 0 or not path.exists():
        raise RuntimeError(f"ffmpeg failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return path
