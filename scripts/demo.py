"""`make demo`: babymon end to end on this machine, with nothing but loopback.

Starts a mosquitto broker and an RTSP "camera" (GStreamer, serving a real baby clip from ../shared/data when
it is there, else a generated clip), runs `babymon run` against them, prints what Home Assistant would see,
then unplugs the camera for a while to show the monitor saying loudly that it is not monitoring.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.clips import make_test_clip  # noqa: E402
from tests.support.services import Mosquitto, RtspServer, free_port, rtsp_server_missing_reason  # noqa: E402
from tests.support.watcher import Watcher  # noqa: E402

REAL_CLIP = ROOT.parent / "shared" / "data" / "video" / "newborn_supine_720p_aac.mp4"
SHARED_MODELS = ROOT.parent / "shared" / "models"  # a local model mirror, when ../shared is there
SHOWN = ("danger", "connected", "monitor_unavailable", "face", "posture", "crying", "degraded", "enabled")


def say(text: str) -> None:
    print(f"\n== {text}", flush=True)


def main() -> int:
    missing = rtsp_server_missing_reason()
    if missing:
        print(f"demo needs GStreamer's RTSP server: {missing}\nrun: sudo bash scripts/install-system-deps.sh")
        return 1
    work = Path(tempfile.mkdtemp(prefix="babymon-demo-"))
    if not os.environ.get("BABYMON_MODEL_MIRROR") and SHARED_MODELS.is_dir():
        os.environ["BABYMON_MODEL_MIRROR"] = str(SHARED_MODELS)  # babymon and its children use these models
        say(f"models from the local mirror {SHARED_MODELS} (else: babymon models download)")
    clip = REAL_CLIP if REAL_CLIP.exists() else make_test_clip(work / "clip.mp4", seconds=20)
    say(f"camera clip: {clip}")
    result = subprocess.run([sys.executable, "-m", "babymon", "analyze", str(clip)], capture_output=True,
                            text=True)
    print(result.stdout.strip())

    with Mosquitto() as broker, RtspServer(clip) as camera:
        http_port = free_port()
        say(f"broker mqtt://{broker.host}:{broker.port}, camera {camera.url}, live view http://127.0.0.1:{http_port}/")
        config = {
            "mqtt": {"host": broker.host, "port": broker.port},
            "http": {"port": http_port, "evidence": {"path": str(work / "evidence")}},
            "defaults": {"rules": {"monitor_unavailable": {"on_delay": "3s"}}, "state_interval": "5s"},
            "cameras": {"nursery": {"name": "Nursery", "url": camera.url}},
        }
        config_path = work / "babymon.yaml"
        config_path.write_text(yaml.safe_dump(config))
        print(config_path.read_text())
        watcher = Watcher(broker.host, broker.port, topics=("babymon/#", "homeassistant/#"), client_id="demo")
        seen: dict[str, str] = {}
        printed = 0

        def show_new() -> None:
            nonlocal printed
            for message in watcher.messages[printed:]:
                printed += 1
                field = message.topic.rsplit("/", 1)[-1]
                if message.topic.endswith("/events"):
                    event = message.json()
                    print(f"  EVENT {event['type']:<28} reasons={event['reasons']}")
                elif message.topic.startswith("babymon/nursery/") and field in SHOWN and seen.get(field) != message.text:
                    seen[field] = message.text
                    print(f"  {field:<20} = {message.text}")

        daemon = subprocess.Popen([sys.executable, "-m", "babymon", "run", "-c", str(config_path)],
                                  stderr=subprocess.PIPE, text=True, cwd=ROOT)
        try:
            say("babymon is running; what Home Assistant sees:")
            _watch(show_new, 8)
            entities = sorted({m.topic.split("/")[1] + "." + m.topic.split("/")[3]
                               for m in watcher.messages if m.topic.startswith("homeassistant/")})
            say(f"{len(entities)} Home Assistant entities announced: {', '.join(entities)}")
            state = json.loads(next(m for m in reversed(watcher.messages) if m.topic == "babymon/nursery/state").payload)
            print(f"  health: {state['health']}")
            print(f"  GET /api/health -> {_get(f'http://127.0.0.1:{http_port}/api/health')[:200]}")
            say("unplugging the camera for 8 s ...")
            camera.stop()
            _watch(show_new, 8)
            say("camera back")
            camera.start()
            _watch(show_new, 8)
        finally:
            daemon.terminate()
            daemon.wait(10)
            watcher.close()
        say("daemon log (last lines)")
        print("\n".join(daemon.stderr.read().strip().splitlines()[-12:]))
    print("\nNot a medical device: babymon does not monitor breathing or any vital sign.")
    return 0


def _get(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode()
    except urllib.error.HTTPError as error:  # 503 while not monitoring still has a JSON body
        return error.read().decode()
    except OSError as error:
        return f"unreachable ({error})"


def _watch(show, seconds: float) -> None:
    end = time.time() + seconds
    while time.time() < end:
        show()
        time.sleep(0.2)
    show()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
