"""Prove the test infrastructure in tests/support works with the real parts.

* Mosquitto: start, retained publish/receive with paho-mqtt, stop (clients
  are disconnected, port closed), restart on the same port.
* RTSP server: a generated H.264+AAC clip is served in a loop; PyAV decodes
  video and audio over TCP and UDP, reading stops when the server stops, works
  again after a restart, and the stream keeps going past the clip's end.
"""

from __future__ import annotations

import os
import queue
import socket
import time
import uuid
from pathlib import Path

import av
import paho.mqtt.client as mqtt
import pytest

from tests.support.clips import ffmpeg_available, make_test_clip
from tests.support.services import (
    Mosquitto,
    RtspServer,
    free_port,
    have_mosquitto,
    rtsp_server_missing_reason,
)

needs_mosquitto = pytest.mark.skipif(
    not have_mosquitto(), reason="mosquitto broker not installed (apt-get install mosquitto)"
)
_rtsp_missing = rtsp_server_missing_reason()
needs_rtsp = pytest.mark.skipif(
    _rtsp_missing is not None or not ffmpeg_available(),
    reason=_rtsp_missing or "ffmpeg with libx264/aac/lavfi not installed (apt-get install ffmpeg)",
)

pytestmark = pytest.mark.integration

CLIP_SECONDS = 3.0
CLIP_FPS = 15
# Options that work for PyAV/FFmpeg against tests/support/rtsp_server.py.
OPEN_TIMEOUT = (5.0, 5.0)  # (open, read) seconds


# ---------------------------------------------------------------------------
# Mosquitto
# ---------------------------------------------------------------------------
class _Client:
    """Minimal threaded paho-mqtt (2.x API) client recording what happens."""

    def __init__(self, port: int):
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.connected: queue.Queue[object] = queue.Queue()
        self.disconnected: queue.Queue[object] = queue.Queue()
        self.c = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"t-{uuid.uuid4().hex[:8]}"
        )
        self.c.on_connect = lambda c, u, f, rc, p: self.connected.put(rc)
        self.c.on_disconnect = lambda c, u, f, rc, p: self.disconnected.put(rc)
        self.c.on_message = lambda c, u, m: self.messages.put(m)
        self.c.connect("127.0.0.1", port, keepalive=10)
        self.c.loop_start()
        rc = self.connected.get(timeout=5)
        assert not rc.is_failure, rc

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


@needs_mosquitto
def test_mosquitto_retained_message_stop_and_restart():
    topic = "babymon/test/state"
    with Mosquitto() as broker:
        port = broker.port
        assert broker.host == "127.0.0.1"

        pub = _Client(port)
        pub.c.publish(topic, b"awake", qos=1, retain=True).wait_for_publish(5)
        pub.close()

        sub = _Client(port)
        sub.c.subscribe(topic, qos=1)
        msg = sub.messages.get(timeout=5)
        assert (msg.topic, msg.payload, msg.retain) == (topic, b"awake", True)

        # stop(): the broker really goes away.
        t0 = time.monotonic()
        broker.stop()
        sub.disconnected.get(timeout=5)
        assert time.monotonic() - t0 < 6
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        sub.c.loop_stop()

        # restart(): same port again, empty (no persistence), fully working.
        broker.start()
        assert broker.port == port
        again = _Client(port)
        again.c.subscribe(topic, qos=1)
        with pytest.raises(queue.Empty):
            again.messages.get(timeout=0.5)
        again.c.publish(topic, b"asleep", qos=1).wait_for_publish(5)
        msg = again.messages.get(timeout=5)
        assert (msg.payload, msg.retain) == (b"asleep", False)
        again.close()

        broker.restart()
        assert broker.port == port and broker.running
        _Client(port).close()


@needs_mosquitto
def test_mosquitto_fixed_port_and_start_failure():
    port = free_port()
    with Mosquitto(port) as broker:
        assert broker.port == port
        # A second broker on the same port cannot start: clear RuntimeError.
        with pytest.raises(RuntimeError, match="mosquitto"):
            Mosquitto(port).start()


# ---------------------------------------------------------------------------
# RTSP
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def short_clip(tmp_path_factory) -> Path:
    if not ffmpeg_available():
        pytest.skip("ffmpeg not available")
    return make_test_clip(tmp_path_factory.mktemp("clips") / "clip3s.mp4", seconds=CLIP_SECONDS)


@pytest.fixture
def rtsp(short_clip):
    with RtspServer(short_clip) as server:
        yield server


def open_rtsp(url: str, transport: str) -> av.container.InputContainer:
    return av.open(url, options={"rtsp_transport": transport}, timeout=OPEN_TIMEOUT)


def read_frames(container, *, video: int, audio: int = 0, max_wall: float = 15.0):
    """Decode until ``video`` video and ``audio`` audio frames were seen.

    Returns (video_times, audio_count); video_times are frame times in s.
    """
    v = container.streams.video[0]
    streams = [v] + ([container.streams.audio[0]] if audio else [])
    vtimes: list[float | None] = []
    na = 0
    deadline = time.monotonic() + max_wall
    for packet in container.demux(*streams):
        for frame in packet.decode():
            if packet.stream is v:
                vtimes.append(frame.time)
            else:
                na += 1
        if len(vtimes) >= video and na >= audio:
            break
        if time.monotonic() > deadline:
            break
    return vtimes, na


@needs_rtsp
@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_rtsp_decodes_video_and_audio(rtsp, transport):
    assert rtsp.url.startswith("rtsp://127.0.0.1:") and rtsp.url.endswith("/live")
    with open_rtsp(rtsp.url, transport) as c:
        assert [s.type for s in c.streams] == ["video", "audio"]
        vs, au = c.streams.video[0], c.streams.audio[0]
        assert vs.codec_context.name == "h264" and au.codec_context.name == "aac"
        assert (vs.codec_context.width, vs.codec_context.height) == (640, 480)
        assert au.codec_context.sample_rate == 16000
        vtimes, naudio = read_frames(c, video=15, audio=5)
    assert len(vtimes) >= 15
    assert naudio >= 5


@needs_rtsp
def test_rtsp_two_clients_at_once(rtsp):
    with open_rtsp(rtsp.url, "tcp") as a, open_rtsp(rtsp.url, "udp") as b:
        va, _ = read_frames(a, video=10)
        vb, _ = read_frames(b, video=10)
    assert len(va) >= 10 and len(vb) >= 10


@needs_rtsp
def test_rtsp_loops_past_end_of_clip(rtsp):
    """A 3 s clip must keep streaming: read > 6 s of continuous video."""
    want = int(2.2 * CLIP_SECONDS * CLIP_FPS)  # ~6.6 s of frames
    with open_rtsp(rtsp.url, "tcp") as c:
        vtimes, naudio = read_frames(c, video=want, audio=1, max_wall=20)
    assert len(vtimes) >= want, f"only {len(vtimes)} frames"
    times = [t for t in vtimes if t is not None]
    assert times[-1] - times[0] >= 2 * CLIP_SECONDS
    steps = [b - a for a, b in zip(times, times[1:])]
    assert all(0 < s < 0.5 for s in steps), "timestamps must increase smoothly across loops"
    assert naudio > 0


@needs_rtsp
@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_rtsp_stop_ends_stream_then_restart(rtsp, transport):
    url = rtsp.url
    with open_rtsp(url, transport) as c:
        before, _ = read_frames(c, video=10)
        assert len(before) >= 10
        rtsp.stop()
        t0 = time.monotonic()
        with pytest.raises((av.FFmpegError, StopIteration, EOFError, OSError)) as exc:
            # Demuxing must end (EOF: StopIteration) or fail within a few s.
            packets = c.demux(c.streams.video[0])
            for _ in range(10_000):
                next(packets)
            pytest.fail("stream still delivering data after stop()")
        assert time.monotonic() - t0 < 6, exc.value

    rtsp.restart()
    assert rtsp.url == url
    with open_rtsp(url, transport) as c:
        after, _ = read_frames(c, video=10)
    assert len(after) >= 10


REAL_CLIP = Path(
    os.environ.get(
        "BABYMON_TEST_REAL_CLIP", "/work/shared/data/video/newborn_supine_720p_aac.mp4"
    )
)


@needs_rtsp
@pytest.mark.skipif(not REAL_CLIP.is_file(), reason=f"real camera clip {REAL_CLIP} not present")
def test_rtsp_real_camera_clip():
    with RtspServer(REAL_CLIP, mount="cam") as server:
        assert server.url.endswith("/cam")
        with open_rtsp(server.url, "tcp") as c:
            assert {s.type for s in c.streams} == {"video", "audio"}
            vtimes, naudio = read_frames(c, video=20, audio=5)
    assert len(vtimes) >= 20 and naudio >= 5


@needs_rtsp
def test_rtsp_start_failure_is_clear(tmp_path):
    with pytest.raises(RuntimeError, match="no such file"):
        RtspServer(tmp_path / "missing.mp4").start()
    with RtspServer(make_test_clip(tmp_path / "v.mp4", seconds=1, audio=False)) as first:
        # video-only files work too
        with open_rtsp(first.url, "tcp") as c:
            assert [s.type for s in c.streams] == ["video"]
        # a second server on the same port fails with the server's message
        with pytest.raises(RuntimeError, match="cannot listen"):
            RtspServer(first.file, port=first.port).start()
