"""``/metrics`` in the Prometheus text format (pure rendering) and the event counter behind it."""

from __future__ import annotations

import collections

from babymon.http.live import LiveView


class EventCounter:
    """An output that counts events by camera and type."""

    def __init__(self) -> None:
        self.counts: collections.Counter[tuple[str, str]] = collections.Counter()

    def camera_state(self, camera: str, state: dict) -> None:
        """Only events are counted."""

    def camera_event(self, camera: str, event: dict) -> None:
        self.counts[(camera, event["type"])] += 1

    def camera_snapshot(self, camera: str, jpeg: bytes) -> None:
        """Only events are counted."""


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render_metrics(live: LiveView, events: EventCounter, evidence_bytes: int | None) -> str:
    lines: list[str] = []

    def family(name: str, kind: str, help_text: str, samples: list[tuple[dict[str, str], float]]) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            text = ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
            lines.append(f"{name}{{{text}}} {value:g}" if text else f"{name} {value:g}")

    # from each camera's latest state (published at least every state_interval) and its latest frame
    cams = [(key, view.state or {}) for key, view in live.cameras.items()]

    def per_camera(read) -> list[tuple[dict[str, str], float]]:
        return [({"camera": key}, float(read(state, state.get("health") or {}))) for key, state in cams]

    family("babymon_fps", "gauge", "Analysed frames per second (last 10 s of stream time).",
           per_camera(lambda s, h: h.get("fps") or 0.0))
    family("babymon_connected", "gauge", "1 while the camera stream is up.",
           per_camera(lambda s, h: bool(h.get("connected"))))
    family("babymon_monitoring", "gauge", "1 while the camera is being monitored.",
           per_camera(lambda s, h: bool(s.get("monitoring"))))
    family("babymon_danger", "gauge", "1 while danger is on.", per_camera(lambda s, h: bool(s.get("danger"))))
    family("babymon_decoded_frames_total", "counter", "Frames decoded from the stream.",
           per_camera(lambda s, h: h.get("decoded_frames", 0)))
    family("babymon_dropped_frames_total", "counter", "Frames dropped because analysis was busy.",
           per_camera(lambda s, h: h.get("dropped_frames", 0)))
    family("babymon_dropped_audio_windows_total", "counter", "Audio windows dropped because analysis was busy.",
           per_camera(lambda s, h: h.get("dropped_audio_windows", 0)))
    family("babymon_reconnects_total", "counter", "Stream reconnects.", per_camera(lambda s, h: h.get("reconnects", 0)))
    family("babymon_analysis_errors_total", "counter", "Analyzer calls that raised.",
           per_camera(lambda s, h: h.get("analysis_errors", 0)))
    stages = [(k, stage, t) for k in live.cameras for stage, t in sorted(live.stage_ms(k).items())]
    lines.append("# HELP babymon_analysis_ms Time per analysis stage in milliseconds "
                 "(stage = analyzer, or analyzer.step from its timings).")
    lines.append("# TYPE babymon_analysis_ms summary")
    for camera, stage, t in stages:
        labels = f'camera="{_label(camera)}",stage="{_label(stage)}"'
        for q in (0.5, 0.95):  # over the stage's latest durations (outputs.RECENT_STAGE_TIMES)
            value = t.quantile(q)
            if value is not None:
                lines.append(f'babymon_analysis_ms{{{labels},quantile="{q:g}"}} {value:.3f}')
        lines.append(f"babymon_analysis_ms_sum{{{labels}}} {t.total_ms:.3f}")
        lines.append(f"babymon_analysis_ms_count{{{labels}}} {t.count}")
    family("babymon_analysis_last_ms", "gauge", "Duration of the latest call of each analysis stage in milliseconds.",
           [({"camera": c, "stage": s}, round(t.last_ms, 3)) for c, s, t in stages])
    family("babymon_events_total", "counter", "Events since the daemon started, by type.",
           [({"camera": c, "type": t}, n) for (c, t), n in sorted(events.counts.items())])
    if evidence_bytes is not None:
        family("babymon_evidence_bytes", "gauge", "Bytes of stored snapshots and clips.", [({}, evidence_bytes)])
    return "\n".join(lines) + "\n"
