#!/usr/bin/python3
"""Loopback RTSP test server that serves a media file in an endless loop.

Run it with Debian's ``/usr/bin/python3`` (it needs ``gi`` with GStreamer and
GstRtspServer 1.0, which the project venv does not have)::

    /usr/bin/python3 scripts/rtsp_server.py --port 8554 --file clip.mp4 [--mount live]

The file (MP4, MKV, ... anything GStreamer can demux) must contain H.264
video and may contain AAC audio. The stream is served, without re-encoding, at
``rtsp://127.0.0.1:<port>/<mount>`` as RTP/H.264 (pt 96, stream 0) and
RTP/MPEG4-GENERIC AAC (pt 97, stream 1). Clients may use RTP over TCP
(interleaved) or over UDP; every socket is bound to 127.0.0.1.

``READY`` is printed on stdout (flushed) once the file is being played and the
server is listening; nothing else is ever written to stdout. Diagnostics go to
stderr. SIGTERM / SIGINT end the process (exit status 0), which closes all
client connections.

How the endless loop works
--------------------------
Looping a file *inside* a gst-rtsp-server media pipeline is fragile: the
server seeks the media itself on PLAY (Range: npt=0-), a flushing seek on EOS
makes RTP timestamps jump back, and a shared media would make every client
share one playback position. Instead the server behaves like a camera:

* One "source" pipeline (the demuxer is picked by type-finding: qtdemux,
  matroskademux, ...) plays the file forever in real time, independent of
  clients::

      filesrc ! qtdemux ─┬─ queue ! h264parse ! video/x-h264,avc,au ! appsink (sync)
                         └─ queue ! aacparse ! audio/mpeg,raw        ! appsink (sync)

  It is started with a flushing SEGMENT seek; every time the demuxer reaches
  the end it posts SEGMENT_DONE and we answer with a *non-flushing* SEGMENT
  seek back to 0. This is GStreamer's standard gapless-loop technique: no
  flush, and each new segment's ``base`` is the previous segment's end, so the
  running time of the buffers keeps increasing monotonically across loops.
  Nothing is decoded or encoded: demux + parse only.

* Each RTSP client gets its own (non-shared) media pipeline::

      appsrc name=vsrc (live) ! rtph264pay name=pay0 pt=96 config-interval=-1
      appsrc name=asrc (live) ! rtpmp4gpay name=pay1 pt=97

  The appsink callbacks copy (shallowly: memory is shared) every parsed
  sample into the appsrcs of all connected clients, re-stamped into the
  client pipeline's running time with one constant offset per client, so
  timestamps are continuous there too. Because the appsrcs are live, the
  server never seeks anything on PLAY.

* The source keeps the current GOP (everything since the last video key
  frame). A new client first receives that GOP (the offset maps the key
  frame to "now" in its pipeline) and then the live samples, so every client
  starts on a key frame at once, even with long GOPs, instead of waiting for
  the next one. SPS/PPS are repeated before each IDR frame
  (``config-interval=-1``) and also sent in the SDP (sprop-parameter-sets).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstApp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstApp, GstRtspServer  # noqa: E402

VIDEO_CAPS = "video/x-h264,stream-format=avc,alignment=au"
AUDIO_CAPS = "audio/mpeg,mpegversion=4,stream-format=raw"
# Keep at most this much data queued per client appsrc (a client that stops
# reading must not make the server grow without bound).
APPSRC_MAX_TIME = 30 * Gst.SECOND


def log(msg: str) -> None:
    print(f"rtsp_server[{os.getpid()}]: {msg}", file=sys.stderr, flush=True)


def signed_running_time(segment: Gst.Segment, ts: int) -> int | None:
    """Running time of ``ts`` in ``segment`` (may be negative), or None."""
    if ts is None or ts == Gst.CLOCK_TIME_NONE:
        return None
    sign, rt = segment.to_running_time_full(Gst.Format.TIME, ts)
    if sign == 0:
        return None
    return rt if sign > 0 else -rt


def find_demuxer(path: str, timeout: float = 10.0) -> str:
    """Name of the best-ranked demuxer for the container of ``path``."""
    probe = Gst.parse_launch("filesrc name=src ! typefind name=tf ! fakesink")
    probe.get_by_name("src").set_property("location", path)
    try:
        probe.set_state(Gst.State.PAUSED)
        probe.get_state(int(timeout * Gst.SECOND))
        caps = probe.get_by_name("tf").get_property("caps")
    finally:
        probe.set_state(Gst.State.NULL)
    if caps is None:
        raise RuntimeError(f"cannot detect the container type of {path}")
    factories = Gst.ElementFactory.list_get_elements(
        Gst.ELEMENT_FACTORY_TYPE_DEMUXER, Gst.Rank.MARGINAL
    )
    factories = Gst.ElementFactory.list_filter(factories, caps, Gst.PadDirection.SINK, False)
    if not factories:
        raise RuntimeError(f"no demuxer for {caps.to_string()} ({path})")
    factories.sort(key=lambda f: f.get_rank(), reverse=True)
    return factories[0].get_name()


class Sample:
    __slots__ = ("buffer", "pts", "dts", "key")

    def __init__(self, buffer: Gst.Buffer, pts: int | None, dts: int | None, key: bool):
        self.buffer = buffer
        self.pts = pts  # source running time (ns), may be None
        self.dts = dts
        self.key = key

    @property
    def time(self) -> int:
        return self.dts if self.dts is not None else self.pts


class Output:
    """The appsrcs of one client's media pipeline."""

    def __init__(self, vsrc: Gst.Element, asrc: Gst.Element | None):
        # No reference to the media itself: it must be able to go away.
        self.vsrc = vsrc
        self.asrc = asrc
        self.offset: int | None = None  # client running time - source running time
        self.dead = False

    def _now(self) -> int | None:
        if self.vsrc is None:
            return None
        clock = self.vsrc.get_clock()
        if clock is None:
            return None  # media pipeline not PLAYING yet
        return clock.get_time() - self.vsrc.get_base_time()

    def try_start(self, gop: list[Sample], audio: list[Sample]) -> bool:
        if not gop:
            return False
        now = self._now()
        if now is None:
            return False
        self.offset = now - gop[0].time
        for s in gop:
            self.push(self.vsrc, s)
        start = gop[0].time
        for s in audio:
            if s.time >= start:
                self.push(self.asrc, s)
        return True

    def push(self, appsrc: Gst.Element | None, s: Sample) -> None:
        if appsrc is None or self.dead or self.offset is None:
            return
        buf = s.buffer.copy_region(
            Gst.BufferCopyFlags.FLAGS | Gst.BufferCopyFlags.META | Gst.BufferCopyFlags.MEMORY,
            0,
            s.buffer.get_size(),
        )
        buf.pts = max(0, s.pts + self.offset) if s.pts is not None else Gst.CLOCK_TIME_NONE
        buf.dts = max(0, s.dts + self.offset) if s.dts is not None else Gst.CLOCK_TIME_NONE
        buf.duration = s.buffer.duration
        ret = appsrc.emit("push-buffer", buf)
        if ret != Gst.FlowReturn.OK:
            # FLUSHING / EOS: the client's media is shutting down.
            self.dead = True


class LoopingSource:
    """Plays the file forever (real time, demux + parse only) and fans out samples."""

    def __init__(self, path: str):
        self.path = path
        self.lock = threading.Lock()
        self.outputs: list[Output] = []
        self.pending: list[Output] = []
        self.gop: list[Sample] = []  # video samples since the last key frame
        self.audio_tail: list[Sample] = []  # audio samples since that key frame
        self.video_caps: Gst.Caps | None = None
        self.audio_caps: Gst.Caps | None = None
        self.loops = 0
        self.error: str | None = None
        self.on_fatal = None  # called (main thread) after a pipeline error

        self.pipeline = Gst.Pipeline.new("source")
        src = Gst.ElementFactory.make("filesrc", None)
        src.set_property("location", path)
        self.demux = Gst.ElementFactory.make(find_demuxer(path), None)
        self.pipeline.add(src)
        self.pipeline.add(self.demux)
        src.link(self.demux)
        self.demux.connect("pad-added", self._on_pad_added)
        self.no_more_pads = threading.Event()
        self.demux.connect("no-more-pads", lambda *_: self.no_more_pads.set())
        self.vsink: Gst.Element | None = None
        self.asink: Gst.Element | None = None

    # -- pipeline construction ------------------------------------------------
    def _make_branch(self, pad: Gst.Pad, parser: str, caps: str, callback) -> Gst.Element:
        queue = Gst.ElementFactory.make("queue", None)
        parse = Gst.ElementFactory.make(parser, None)
        filt = Gst.ElementFactory.make("capsfilter", None)
        filt.set_property("caps", Gst.Caps.from_string(caps))
        sink = Gst.ElementFactory.make("appsink", None)
        sink.set_property("sync", True)
        sink.set_property("emit-signals", True)
        sink.set_property("max-buffers", 4)
        sink.set_property("drop", False)
        sink.connect("new-sample", callback)
        elems = [queue, parse, filt, sink]
        for e in elems:
            self.pipeline.add(e)
        for a, b in zip(elems, elems[1:]):
            if not a.link(b):
                raise RuntimeError(f"cannot link {a.get_name()} -> {b.get_name()}")
        for e in elems:
            e.sync_state_with_parent()
        if pad.link(queue.get_static_pad("sink")) != Gst.PadLinkReturn.OK:
            raise RuntimeError(f"cannot link {pad.get_name()} to {parser}")
        return sink

    def _on_pad_added(self, _demux, pad: Gst.Pad) -> None:
        caps = pad.get_current_caps() or pad.query_caps(None)
        name = caps.get_structure(0).get_name()
        if name == "video/x-h264" and self.vsink is None:
            self.vsink = self._make_branch(pad, "h264parse", VIDEO_CAPS, self._on_video)
        elif name == "audio/mpeg" and self.asink is None:
            self.asink = self._make_branch(pad, "aacparse", AUDIO_CAPS, self._on_audio)
        else:
            log(f"ignoring stream {caps.to_string()[:80]}")
            sink = Gst.ElementFactory.make("fakesink", None)
            sink.set_property("sync", False)
            sink.set_property("async", False)
            self.pipeline.add(sink)
            sink.sync_state_with_parent()
            pad.link(sink.get_static_pad("sink"))

    # -- start / loop ---------------------------------------------------------
    def start(self, timeout: float = 10.0) -> None:
        # The demuxer adds its pads while going to PAUSED; wait for all of them,
        # then for both appsinks to preroll (which gives us the caps).
        if self.pipeline.set_state(Gst.State.PAUSED) == Gst.StateChangeReturn.FAILURE:
            raise RuntimeError(f"cannot open {self.path}: {self._bus_error()}")
        if not self.no_more_pads.wait(timeout):
            raise RuntimeError(f"cannot demux {self.path}: {self._bus_error() or 'timeout'}")
        if self.vsink is None:
            raise RuntimeError(f"{self.path} has no H.264 video stream")
        for sink in (self.vsink, self.asink):
            if sink is None:
                continue
            sample = sink.emit("try-pull-preroll", int(timeout * Gst.SECOND))
            if sample is None:
                raise RuntimeError(f"cannot preroll {self.path}: {self._bus_error() or 'timeout'}")
            if sink is self.vsink:
                self.video_caps = sample.get_caps()
            else:
                self.audio_caps = sample.get_caps()
        log(f"video caps: {self.video_caps.to_string()}")
        log(f"audio caps: {self.audio_caps.to_string() if self.audio_caps else None}")
        # Flushing *segment* seek: the demuxer will post SEGMENT_DONE instead of
        # sending EOS when it reaches the end (see _on_bus_message).
        if not self.pipeline.seek(
            1.0, Gst.Format.TIME, Gst.SeekFlags.FLUSH | Gst.SeekFlags.SEGMENT,
            Gst.SeekType.SET, 0, Gst.SeekType.NONE, -1,
        ):
            raise RuntimeError("initial segment seek failed")
        self.pipeline.get_state(int(timeout * Gst.SECOND))
        bus = self.pipeline.get_bus()
        bus.add_signal_watch()
        bus.connect("message", self._on_bus_message)
        self.pipeline.set_state(Gst.State.PLAYING)

    def _bus_error(self) -> str | None:
        msg = self.pipeline.get_bus().pop_filtered(Gst.MessageType.ERROR)
        if msg is None:
            return None
        err, dbg = msg.parse_error()
        return f"{err.message} ({dbg})"

    def _on_bus_message(self, _bus, msg: Gst.Message) -> None:
        t = msg.type
        if t == Gst.MessageType.SEGMENT_DONE:
            # Non-flushing segment seek back to the start: playback continues
            # seamlessly and running time keeps increasing.
            self.loops += 1
            self.pipeline.seek(
                1.0, Gst.Format.TIME, Gst.SeekFlags.SEGMENT,
                Gst.SeekType.SET, 0, Gst.SeekType.NONE, -1,
            )
        elif t == Gst.MessageType.ERROR:
            err, dbg = msg.parse_error()
            self.error = f"{err.message} ({dbg})"
            log(f"source pipeline error: {self.error}")
            if self.on_fatal is not None:
                self.on_fatal()
        elif t == Gst.MessageType.EOS:
            # Should not happen with segment seeks; restart from the top.
            log("unexpected EOS, restarting the loop")
            self.pipeline.seek(
                1.0, Gst.Format.TIME, Gst.SeekFlags.FLUSH | Gst.SeekFlags.SEGMENT,
                Gst.SeekType.SET, 0, Gst.SeekType.NONE, -1,
            )

    def stop(self) -> None:
        self.pipeline.set_state(Gst.State.NULL)

    # -- sample fan-out (streaming threads) -----------------------------------
    @staticmethod
    def _pull(sink: Gst.Element) -> Sample | None:
        sample = sink.emit("pull-sample")
        if sample is None:
            return None
        buf = sample.get_buffer()
        seg = sample.get_segment()
        pts = signed_running_time(seg, buf.pts)
        dts = signed_running_time(seg, buf.dts)
        if pts is None and dts is None:
            return None
        if pts is None:
            pts = dts
        key = not buf.has_flags(Gst.BufferFlags.DELTA_UNIT)
        return Sample(buf, pts, dts, key)

    def _start_pending(self) -> None:
        if not self.pending:
            return
        still = []
        for out in self.pending:
            if not out.try_start(self.gop, self.audio_tail):
                still.append(out)
            else:
                self.outputs.append(out)
        self.pending = still

    def _reap(self) -> None:
        if any(o.dead for o in self.outputs):
            self.outputs = [o for o in self.outputs if not o.dead]

    def _on_video(self, sink) -> Gst.FlowReturn:
        s = self._pull(sink)
        if s is None:
            return Gst.FlowReturn.OK
        with self.lock:
            if s.key:
                self.gop = [s]
                self.audio_tail = [a for a in self.audio_tail if a.time >= s.time]
            elif self.gop:
                self.gop.append(s)
            for out in self.outputs:
                out.push(out.vsrc, s)
            self._start_pending()
            self._reap()
        return Gst.FlowReturn.OK

    def _on_audio(self, sink) -> Gst.FlowReturn:
        s = self._pull(sink)
        if s is None:
            return Gst.FlowReturn.OK
        with self.lock:
            if self.gop:
                self.audio_tail.append(s)
            for out in self.outputs:
                out.push(out.asrc, s)
            self._reap()
        return Gst.FlowReturn.OK

    # -- client media management (called from the RTSP server threads) -------
    def launch_description(self) -> str:
        desc = "( appsrc name=vsrc ! rtph264pay name=pay0 pt=96 config-interval=-1"
        if self.audio_caps is not None:
            desc += " appsrc name=asrc ! rtpmp4gpay name=pay1 pt=97"
        return desc + " )"

    @staticmethod
    def _setup_appsrc(appsrc: Gst.Element, caps: Gst.Caps) -> None:
        appsrc.set_property("caps", caps)
        appsrc.set_property("format", Gst.Format.TIME)
        appsrc.set_property("is-live", True)
        appsrc.set_property("do-timestamp", False)
        appsrc.set_property("block", False)
        appsrc.set_property("max-bytes", 0)
        appsrc.set_property("max-buffers", 0)
        appsrc.set_property("max-time", APPSRC_MAX_TIME)
        appsrc.set_property("leaky-type", GstApp.AppLeakyType.DOWNSTREAM)

    def on_media_configure(self, _factory, media: GstRtspServer.RTSPMedia) -> None:
        bin_ = media.get_element()
        vsrc = bin_.get_by_name("vsrc")
        asrc = bin_.get_by_name("asrc")
        self._setup_appsrc(vsrc, self.video_caps)
        if asrc is not None:
            self._setup_appsrc(asrc, self.audio_caps)
        out = Output(vsrc, asrc)
        media.connect("unprepared", self._on_unprepared, out)
        with self.lock:
            self.pending.append(out)

    def _on_unprepared(self, _media, out: Output) -> None:
        with self.lock:
            out.dead = True
            out.vsrc = out.asrc = None
            if out in self.pending:
                self.pending.remove(out)
            self._reap()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True, help="RTSP TCP port (0 = any free port)")
    ap.add_argument("--mount", default="live", help="mount point (default: live)")
    ap.add_argument("--file", required=True, help="media file with H.264 (+ AAC)")
    ap.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    ap.add_argument(
        "--rtp-ports", default="20000-29999",
        help="UDP port range for server-side RTP/RTCP sockets (default 20000-29999)",
    )
    args = ap.parse_args()

    Gst.init(None)
    if not os.path.isfile(args.file):
        log(f"no such file: {args.file}")
        return 2

    source = LoopingSource(os.path.abspath(args.file))
    try:
        source.start()
    except RuntimeError as exc:
        log(str(exc))
        return 1

    server = GstRtspServer.RTSPServer()
    server.set_address(args.host)
    server.set_service(str(args.port))

    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(source.launch_description())
    factory.set_shared(False)  # every client gets its own pipeline (starting on a key frame)
    factory.connect("media-configure", source.on_media_configure)
    # Bind the server's UDP RTP/RTCP sockets to the listen address too (by
    # default they would be bound to 0.0.0.0). Busy ports are skipped.
    lo, hi = (int(p) for p in args.rtp_ports.split("-"))
    pool = GstRtspServer.RTSPAddressPool()
    if not pool.add_range(args.host, args.host, lo, hi, 0):
        log(f"cannot create address pool {args.host}:{lo}-{hi}")
        return 2
    factory.set_address_pool(pool)
    server.get_mount_points().add_factory("/" + args.mount.strip("/"), factory)

    loop = GLib.MainLoop()
    if server.attach(None) == 0:
        log(f"cannot listen on {args.host}:{args.port}")
        source.stop()
        return 1

    # Expire sessions of clients that vanished without TEARDOWN.
    def cleanup_sessions() -> bool:
        server.get_session_pool().cleanup()
        return True

    GLib.timeout_add_seconds(2, cleanup_sessions)

    def on_signal() -> bool:
        log("signal received, exiting")
        loop.quit()
        return False

    GLib.unix_signal_add(GLib.PRIORITY_HIGH, signal.SIGTERM, on_signal)
    GLib.unix_signal_add(GLib.PRIORITY_HIGH, signal.SIGINT, on_signal)
    source.on_fatal = loop.quit

    port = server.get_bound_port()
    log(f"serving {args.file} at rtsp://{args.host}:{port}/{args.mount.strip('/')}")
    print("READY", flush=True)
    loop.run()

    # Clean, but bounded, shutdown: never hang on a stuck streaming thread.
    watchdog = threading.Timer(3.0, lambda: os._exit(0))
    watchdog.daemon = True
    watchdog.start()
    source.stop()
    if source.error:
        os._exit(1)
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
