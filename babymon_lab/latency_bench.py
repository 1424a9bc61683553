"""``babymon bench-latency``: how long after a baby turns face down does Home Assistant hear ``danger_started``.

A fixed camera (a clip made of two photos, with sensor noise) shows a baby on its back for ``--segment`` seconds,
then a baby face down for as long, over and over; the real daemon (``babymon run``, analyzers vision and cry, its
default 5 fps) watches it in real time against a real mosquitto. For every cut to face down, the latency is the
time from the frame of the cut (its ``frame_time`` in the state messages) to the arrival of ``prone_started`` on
MQTT, minus the rule's ``on_delay`` (``--on-delay``, 3 s here so that a run takes minutes; the default is 10 s).
The goal is p95 ≤ 1 s beyond ``on_delay``.

``--stream-cut`` times the other danger: N fixed cameras each stop sending (their file ends and is gone), and the
latency is from each one's last analysed frame to its ``monitor_unavailable_started`` on MQTT, beyond that
rule's ``on_delay`` (``--on-delay``, 3 s for the run; the default is 10 s).

The two photos default to real crib-camera frames of ``../shared/data/vision/crib_cam`` that the shipped vision
path reads right (supine: ``baby19``, face down: ``IMG_0415``); pass your own with ``--supine`` / ``--prone``.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from babymon_lab.bench import MqttListener, _start_mosquitto, stop_daemon
from babymon_lab.synthetic_clip import make_clip, read_photo

CRIB_CAM = Path(__file__).resolve().parents[2] / "shared" / "data" / "vision" / "crib_cam" / "images"
DEFAULT_SUPINE = CRIB_CAM / "baby19_jpg.rf.e524fc692edaf0cc9d7a629d6c02d816.jpg"
DEFAULT_PRONE = CRIB_CAM / "IMG_0415_jpeg.rf.92a7bacab8d88da7996e9a39c64bc8ac.jpg"


def cut_clip(path: Path, supine: Path, prone: Path, segment: float, fps: int = 15) -> Path:
    """``segment`` s of the supine photo, then ``segment`` s of the prone one, as a fixed camera (H.264 + AAC)."""
    first = path.with_name("supine.mp4")
    second = path.with_name("prone.mp4")
    make_clip(first, seconds=segment, fps=fps, still=_rgb(supine))
    make_clip(second, seconds=segment, fps=fps, still=_rgb(prone))
    listing = path.with_name("parts.txt")
    listing.write_text(f"file '{first}'\nfile '{second}'\n")
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-f", "concat", "-safe", "0", "-i", str(listing),
                    "-c", "copy", str(path)], check=True)
    return path


class _Watch(MqttListener):
    """States (pts, frame_time), prone_started arrivals, and per camera its last frame and the arrival of
    monitor_unavailable_started, from MQTT."""

    def __init__(self, host: str, port: int):
        self.states: list[tuple[float, float]] = []  # (pts, frame_time)
        self.alerts: list[float] = []  # arrival times of prone_started
        self.last_frame: dict[str, float] = {}  # camera → frame_time of its latest analysed frame
        self.unavailable: dict[str, float] = {}  # camera → arrival of its first monitor_unavailable_started
        super().__init__(host, port, ("babymon/+/state", "babymon/+/events"))

    def on_payload(self, topic: str, data: dict, arrived: float) -> None:
        if topic.endswith("/events"):
            if data.get("type") == "prone_started":
                self.alerts.append(arrived)
            elif data.get("type") == "monitor_unavailable_started":
                self.unavailable.setdefault(data["camera"], arrived)
        elif data.get("pts") is not None and data.get("frame_time"):
            self.states.append((float(data["pts"]), float(data["frame_time"])))
            if data["camera"] not in self.unavailable:
                self.last_frame[data["camera"]] = float(data["frame_time"])


def cut_times(states: list[tuple[float, float]], segment: float) -> list[float]:
    """The frame_time of the first analysed frame after each cut to face down: its place in the looped clip
    (pts modulo the clip's length) crosses ``segment`` (pure)."""
    cuts, before = [], None
    for pts, frame_time in states:
        phase = pts % (2 * segment)
        if before is not None and before < segment <= phase:
            cuts.append(frame_time)
        before = phase
    return cuts


def latencies(cuts: list[float], alerts: list[float], on_delay: float, segment: float) -> list[float]:
    """For each cut, the first prone_started after it (within the segment) minus the cut and ``on_delay`` (pure)."""
    out = []
    for cut in cuts:
        after = [a for a in alerts if cut <= a < cut + segment + 5]
        if after:
            out.append(after[0] - cut - on_delay)
    return out


def stream_cut(args, workdir: Path, supine: Path) -> dict:
    """``--stream-cut``: N cameras each play a clip of a different length once, and their file is gone when it
    ends (a camera unplugged); → the seconds from each camera's last analysed frame to its
    monitor_unavailable_started on MQTT, beyond that rule's on_delay."""
    import shutil

    base = make_clip(workdir / "base.mp4", seconds=4 + args.cuts, fps=15, still=_rgb(supine))
    cameras = {}
    for i in range(args.cuts):
        clip = workdir / f"cam{i}.mp4"
        subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-i", str(base), "-t", f"{4 + i:.1f}", "-c", "copy",
                        str(clip)], check=True)
        cameras[f"cam{i}"] = {"url": str(clip), "loop": False, "realtime": True}
    broker, port = _start_mosquitto(workdir)
    config = {"mqtt": {"host": "127.0.0.1", "port": port, "discovery": False},
              "http": {"enabled": False}, "nursery": {"path": str(workdir / "nursery")},
              "defaults": {"analyzers": ["vision", "cry"], "state_interval": 0,
                           "stream": {"retry_initial": 1, "retry_max": 2},
                           "rules": {"monitor_unavailable": {"on_delay": args.on_delay, "off_delay": 0}}},
              "cameras": cameras}
    (workdir / "cut.yaml").write_text(yaml.safe_dump(config))
    watch = _Watch("127.0.0.1", port)
    daemon = subprocess.Popen([sys.executable, "-m", "babymon", "run", "-c", str(workdir / "cut.yaml"),
                               "--log-level", "ERROR"], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        while len(watch.last_frame) < args.cuts and time.time() < deadline:  # every camera is playing
            time.sleep(0.2)
        for i in range(args.cuts):  # gone when it ends: the reconnects fail
            shutil.move(str(workdir / f"cam{i}.mp4"), str(workdir / f"gone{i}.mp4"))
        print(f"watching the {args.cuts} cameras end (monitor_unavailable on_delay {args.on_delay:g} s) ...",
              file=sys.stderr)
        time.sleep(args.cuts + 4 + args.on_delay + 8)
    finally:
        watch.close()
        stop_daemon(daemon)
        broker.terminate()
        broker.wait(5)
    found = sorted(watch.unavailable[c] - watch.last_frame[c] - args.on_delay
                   for c in watch.unavailable if c in watch.last_frame)
    return {"cameras": args.cuts, "alerts": len(found), "on_delay": args.on_delay,
            "beyond_on_delay_s": [round(v, 2) for v in found]}


def _rgb(photo: Path):
    try:
        return read_photo(photo)
    except ValueError as exc:
        raise SystemExit(f"babymon bench-latency: {exc}") from None


def summary(found: list[float]) -> dict:
    found = sorted(found)
    return {"beyond_on_delay_s_p50": round(statistics.median(found), 2) if found else None,
            "beyond_on_delay_s_p95": round(found[min(len(found) - 1, int(0.95 * len(found)))], 2) if found else None,
            "beyond_on_delay_s_max": round(found[-1], 2) if found else None}


def bench_latency_command(args) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="babymon-latency-"))
    supine, prone = Path(args.supine or DEFAULT_SUPINE), Path(args.prone or DEFAULT_PRONE)
    for photo in (supine, prone):
        if not photo.is_file():
            print(f"babymon bench-latency: {photo} does not exist (pass --supine / --prone)", file=sys.stderr)
            return 2
    if args.stream_cut:
        result = stream_cut(args, workdir, supine)
        result.update(summary(result["beyond_on_delay_s"]))
        _report(args, result, f"babymon bench-latency --stream-cut: {result['alerts']} monitor_unavailable_started "
                              f"for {result['cameras']} cameras cut")
        return 0 if result["alerts"] else 1
    print(f"making a clip: {args.segment:g} s on the back, {args.segment:g} s face down ...", file=sys.stderr)
    clip = cut_clip(workdir / "cut.mp4", supine, prone, args.segment)
    broker, port = _start_mosquitto(workdir)
    off_delay = min(2.0, args.segment / 3)
    config = {"mqtt": {"host": "127.0.0.1", "port": port, "discovery": False},
              "http": {"enabled": False}, "nursery": {"path": str(workdir / "nursery")},
              "defaults": {"analyzers": ["vision", "cry"], "state_interval": 0,
                           "rules": {"prone": {"on_delay": args.on_delay, "off_delay": off_delay}},
                           "vision": {**({"reuse_unchanged_seconds": args.reuse} if args.reuse is not None else {}),
                                      **({"smoothing_seconds": args.smoothing} if args.smoothing is not None else {})}},
              "cameras": {"cot": {"url": str(clip), "loop": True, "realtime": True}}}
    (workdir / "latency.yaml").write_text(yaml.safe_dump(config))
    watch = _Watch("127.0.0.1", port)
    daemon = subprocess.Popen([sys.executable, "-m", "babymon", "run", "-c", str(workdir / "latency.yaml"),
                               "--log-level", "WARNING"], stderr=subprocess.PIPE, text=True)
    try:
        seconds = args.cuts * 2 * args.segment + 12
        print(f"watching {seconds:.0f} s ({args.cuts} cuts to face down, prone on_delay {args.on_delay:g} s) ...",
              file=sys.stderr)
        time.sleep(seconds)
        if daemon.poll() is not None:
            raise SystemExit(f"babymon bench-latency: the daemon exited early:\n{daemon.stderr.read()}")
    finally:
        watch.close()
        stop_daemon(daemon)
        broker.terminate()
        broker.wait(5)
    cuts = cut_times(watch.states, args.segment)
    found = sorted(latencies(cuts, watch.alerts, args.on_delay, args.segment))
    result = {"cuts": len(cuts), "alerts": len(found), "on_delay": args.on_delay,
              "beyond_on_delay_s": [round(v, 2) for v in found], **summary(found)}
    _report(args, result, f"babymon bench-latency: {result['alerts']} prone_started for {result['cuts']} cuts to "
                          "face down")
    return 0 if found else 1


def _report(args, result: dict, head: str) -> None:
    """``result`` as JSON (``--json``), or ``head`` and the latencies beyond on_delay in one line."""
    if args.json:
        print(json.dumps(result))
        return
    print(f"{head}; beyond on_delay ({args.on_delay:g} s): p50 {result['beyond_on_delay_s_p50']} s, "
          f"p95 {result['beyond_on_delay_s_p95']} s, max {result['beyond_on_delay_s_max']} s (goal p95 <= 1 s)")
