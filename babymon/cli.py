"""``babymon`` command line: run, check-config, analyze, models, nursery capture, train nursery.

The lab's commands (bench, the other train tasks, eval, bench-cry, bench-vision, models export) are added when the
``babymon_lab`` package is importable, through its one light module (:data:`LAB_COMMANDS`); their heavy
modules are imported only when one of them runs.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import logging
import os
import signal
import sys
from pathlib import Path
from types import ModuleType

from babymon import __version__
from babymon.config import CameraConfig, CameraSettings, Config, ConfigError, load_config, redact_url

EXIT_CONFIG = 2
EXIT_FAILURE = 1  # the daemon stopped on an error (after saying offline): a supervisor should restart it
SHUTDOWN_GRACE = 5.0  # seconds a stopping daemon gets to say offline and close, before it exits anyway
LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def setup_logging(level: str) -> None:
    logging.basicConfig(level=getattr(logging, level), format=LOG_FORMAT, stream=sys.stderr)
    for noisy in ("aiomqtt", "libav"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _load(path: str) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        print(f"babymon: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None
    except Exception as exc:  # noqa: BLE001 - a checker bug: still refuse the file, by name, without a traceback
        print(f"babymon: {path}: invalid configuration\n  - (top level): could not be checked "
              f"({type(exc).__name__}); please report this", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None


def cmd_check_config(args: argparse.Namespace) -> int:
    from babymon.analyzers.registry import load_analyzers

    config = _load(args.config)
    print(f"{args.config}: OK")
    print(f"  MQTT {config.mqtt.host}:{config.mqtt.port} (TLS {'on' if config.mqtt.tls.enabled else 'off'}), "
          f"topics under '{config.mqtt.topic_prefix}/', discovery "
          f"{'under ' + repr(config.mqtt.discovery_prefix + '/') if config.mqtt.discovery else 'off'}")
    if config.http.enabled:
        print(f"  HTTP http://{config.http.host}:{config.http.port}/ (token {'required' if config.http.token else 'off'}),"
              f" evidence in {config.http.evidence.path}")
    else:
        print("  HTTP off")
    print(f"  nursery frames (for labelling) in {config.nursery.path}/<camera>"
          f"{', with the frame of every alert' if config.nursery.keep_alert_frames else ''}")
    for key, camera in config.cameras.items():
        loaded = load_analyzers(key, camera)
        print(f"  camera {key} ({config.camera_name(key)}): {redact_url(camera.url)}, "
              f"{camera.detect.fps:g} fps, {camera.stream.transport.upper()}")
        if camera.vision.models is not None:
            print(f"    vision heads refitted to the nursery: {camera.vision.models}")
        cry = next((a for a in loaded.audio if getattr(a, "name", None) == "cry"), None)
        threshold = (f"threshold {cry.model.threshold:.4g} ({cry.model.kind})" if cry is not None
                     else "cry analyzer not loaded")
        print(f"    cry sensitivity {camera.cry.sensitivity}: {threshold}")
        for name, why in loaded.missing.items():
            print(f"    analyzer '{name}' unavailable: {why}")
        if loaded.undetectable:
            print(f"    NOT detected: {', '.join(loaded.undetectable)}")
        loaded.close()
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from babymon.daemon import Daemon, config_redactor

    from babymon.mqtt.client import say_offline_now
    from babymon.redact import install_log_redaction

    config = _load(args.config)
    setup_logging(args.log_level or config.logging.level)
    install_log_redaction(config_redactor(config))
    log = logging.getLogger(__name__)
    log.info("babymon %s starting with %d camera(s); not a medical device", __version__, len(config.cameras))

    def exit_now(code: int) -> None:
        # Leave from here: a stream thread may still be blocked inside FFmpeg (opening a camera that does not
        # answer), and both asyncio.run's cleanup and the interpreter's finalization can wait on or crash
        # under such a thread.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)

    def on_loop_error(loop: asyncio.AbstractEventLoop, context: dict) -> None:
        log.error("unexpected error in the event loop: %s", context.get("message"),
                  exc_info=context.get("exception"))

    async def main() -> int:
        asyncio.get_running_loop().set_exception_handler(on_loop_error)
        daemon = Daemon(config)
        task = asyncio.create_task(daemon.run())
        loop = asyncio.get_running_loop()
        stopping = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stopping.set)
        waiter = asyncio.create_task(stopping.wait())
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():  # the daemon ended on its own: that is an error (offline has been said on MQTT)
            waiter.cancel()
            task.result()
            raise RuntimeError("the daemon stopped by itself")
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=SHUTDOWN_GRACE)
        if not done:
            log.warning("shutdown did not finish within %.0f s; exiting anyway", SHUTDOWN_GRACE)
        log.info("babymon stopped")
        return 0

    try:
        code = asyncio.run(main())
    except KeyboardInterrupt:  # Ctrl-C before the signal handlers were in place (while loading models)
        code = 130
    except BaseException as exc:  # noqa: BLE001 - say it loudly, then exit non-zero so a supervisor restarts it
        log.critical("babymon STOPPED on an error and is NOT monitoring: %s: %s", type(exc).__name__, exc,
                     exc_info=exc)
        # normally the MQTT task has said offline on its way out; if the loop died under it, say it here
        say_offline_now(config.mqtt, list(config.cameras))
        code = EXIT_FAILURE
    exit_now(code)
    return code


class JsonLinesPublisher:
    """``babymon analyze --json`` output: one JSON object per line, ``kind`` = ``state`` or ``event``."""

    def __init__(self, stream=sys.stdout):
        self.stream = stream
        self.last_state: dict | None = None

    def camera_state(self, camera: str, state: dict) -> None:
        self.last_state = state
        if state["pts"] is not None:  # one line per analysed frame or audio window, not per bookkeeping tick
            self._write({"kind": "state", **state})

    def camera_event(self, camera: str, event: dict) -> None:
        self._write({"kind": "event", **event})

    def camera_snapshot(self, camera: str, jpeg: bytes) -> None:
        pass

    def _write(self, obj: dict) -> None:
        self.stream.write(json.dumps(obj, separators=(",", ":")) + "\n")
        self.stream.flush()


def cmd_analyze(args: argparse.Namespace) -> int:
    from babymon.analyzers.registry import load_analyzers
    from babymon.monitor import CameraMonitor

    setup_logging(args.log_level or "WARNING")
    video = Path(args.video)
    if not video.is_file():
        print(f"babymon: video file '{video}' does not exist", file=sys.stderr)
        return 1
    settings = _load(args.config).defaults if args.config else CameraSettings()
    overrides: dict = {"url": str(video), "realtime": False}
    if args.fps:
        overrides["detect"] = {**settings.detect.model_dump(), "fps": args.fps}
    if args.analyzers is not None:
        overrides["analyzers"] = args.analyzers
    try:
        camera = CameraConfig.model_validate({**settings.model_dump(), **overrides})
    except Exception as exc:  # noqa: BLE001 - pydantic error on a command-line value
        print(f"babymon: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    key = "video"
    analyzers = load_analyzers(key, camera)
    publisher = JsonLinesPublisher() if args.json else _SummaryPublisher()
    writer = None
    if args.annotate:
        from babymon.vision.annotate import AnnotatedVideoWriter, AnnotatingAnalyzer

        if not analyzers.video:
            print("babymon: --annotate needs a video analyzer, and none could be loaded: "
                  + "; ".join(f"{k}: {v}" for k, v in analyzers.missing.items()), file=sys.stderr)
            return 1
        writer = AnnotatedVideoWriter(Path(args.annotate), camera.detect.fps)
        analyzers.video = [AnnotatingAnalyzer(a, writer, lambda: publisher.last_state) for a in analyzers.video]
    monitor = CameraMonitor(key, video.name, camera, analyzers, publisher, realtime=False, stop_at_end=True)
    try:
        asyncio.run(monitor.run())
    finally:
        analyzers.close()
        if writer is not None:
            writer.close()
    if writer is not None and not args.json:
        print(f"wrote {writer.frames} annotated frames to {args.annotate}")
    if monitor.health.last_error and monitor.source.stats.sampled_frames == 0:
        print(f"babymon: cannot read '{video}': {monitor.health.last_error}", file=sys.stderr)
        return 1
    if not args.json:
        publisher.print_summary(monitor)
    return 0


class _SummaryPublisher:
    def __init__(self) -> None:
        self.frames = 0
        self.events: list[dict] = []
        self.last_state: dict | None = None

    def camera_state(self, camera: str, state: dict) -> None:
        self.frames += 1
        self.last_state = state

    def camera_event(self, camera: str, event: dict) -> None:
        self.events.append(event)

    def camera_snapshot(self, camera: str, jpeg: bytes) -> None:
        pass

    def print_summary(self, monitor) -> None:
        print(f"analysed {monitor.source.stats.sampled_frames} frames, "
              f"{monitor.source.stats.audio_seconds:.1f} s of audio; {len(self.events)} events")
        for event in self.events:
            print(f"  {event['time']} {event['type']} {', '.join(event['reasons'])}")
        if monitor.coverage.undetectable:
            print(f"NOT detected in this run (analyzer not chosen or unavailable): "
                  f"{', '.join(monitor.coverage.undetectable)}")


LAB_COMMANDS = "babymon_lab.commands"  # the only name of the lab in this package (tests/models/test_layout.py)


def lab_commands() -> ModuleType | None:
    """The lab's command module, or None when ``babymon_lab`` is not installed (a run-time-only install)."""
    if importlib.util.find_spec(LAB_COMMANDS.partition(".")[0]) is None:
        return None
    return importlib.import_module(LAB_COMMANDS)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="babymon", description="Local-first AI baby monitor (not a medical device).")
    parser.add_argument("--version", action="version", version=f"babymon {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="run the monitor daemon")
    p.add_argument("-c", "--config", required=True, help="YAML configuration file")
    p.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("check-config", help="validate a configuration file (exit code 2 if invalid)")
    p.add_argument("-c", "--config", required=True)
    p.set_defaults(func=cmd_check_config)

    p = sub.add_parser("analyze", help="run the pipeline over a video file as fast as possible")
    p.add_argument("video")
    p.add_argument("--json", action="store_true", help="one JSON object per analysed frame/window on stdout")
    p.add_argument("-c", "--config", help="take detection settings from this file's 'defaults'")
    p.add_argument("--fps", type=float, help="frames analysed per second of video (default: 5)")
    p.add_argument("--analyzer", dest="analyzers", action="append", help="analyzer to use (repeatable)")
    p.add_argument("--annotate", metavar="OUT.mp4", help="also write the analysed frames with boxes and labels drawn")
    p.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    p.set_defaults(func=cmd_analyze)

    from babymon.nursery.commands import add_train_nursery_arguments, train_nursery_command

    p = sub.add_parser("train", help="train a model (`train nursery`: refit to your nursery's labelled frames; the "
                                     "other tasks need the lab, the shared data and training extras such as torch)")
    train_tasks = p.add_subparsers(dest="task", required=True)
    p = train_tasks.add_parser("nursery", help="refit the posture, presence and face-state heads to your nursery's "
                                               "labelled frames (run-time dependencies only)")
    add_train_nursery_arguments(p)
    p.set_defaults(func=train_nursery_command)

    lab = lab_commands()
    if lab is not None:
        lab.add_commands(sub, train_tasks)  # bench, train cry|posture|face_state|finder, eval, bench-cry, bench-vision

    from babymon.models_cli import add_parser as add_models_parser
    from babymon.nursery.capture import add_nursery_parser

    add_nursery_parser(sub)  # babymon nursery capture

    models_actions = add_models_parser(sub)  # babymon models list | download | verify
    if lab is not None:
        lab.add_models_commands(models_actions)  # babymon models export
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:  # `babymon analyze --json | head`
        sys.stderr.close()
        return 0
