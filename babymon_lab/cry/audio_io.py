"""Decode the audio track of any file PyAV can open (wav, ogg, m4a, mp4, avi ...) to 16 kHz mono float32."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from babymon.audio_windows import SAMPLE_RATE


class AudioFileError(Exception):
    """The file cannot be read as audio. The message names the file and what is wrong."""


class NoAudioTrackError(AudioFileError):
    """The file opens but has no audio track (e.g. a video recorded without sound)."""


def load_audio(path: str | Path, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """All of ``path``'s first audio track as mono float32 at ``sample_rate`` Hz, values in -1..1.

    Raises ``NoAudioTrackError`` if the file has no audio track, ``AudioFileError`` if it cannot be read.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioFileError(f"audio file '{path}' does not exist")
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError) as exc:
        raise AudioFileError(f"cannot open '{path}': {exc}") from None
    with container:
        if not container.streams.audio:
            raise NoAudioTrackError(f"'{path}' has no audio track")
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        chunks: list[np.ndarray] = []
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
        except av.FFmpegError as exc:
            raise AudioFileError(f"cannot decode the audio of '{path}': {exc}") from None
    if not chunks:
        raise NoAudioTrackError(f"'{path}' has an audio track with no samples")
    return np.clip(np.concatenate(chunks).astype(np.float32), -1.0, 1.0)
