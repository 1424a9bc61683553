"""Find analyzers by name. Built-in names map to modules; ``package.module:ClassName`` loads any other.

A name that cannot be loaded is not fatal: the daemon runs without it and says so in its logs, in the
state it publishes and in Home Assistant ("detection degraded"), naming the conditions it cannot detect.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field

from babymon.analyzers.base import AnalyzerUnavailable, AudioAnalyzer, VideoAnalyzer
from babymon.config import CameraConfig

log = logging.getLogger(__name__)

BUILTIN = {
    # name: (import path, conditions it would detect)
    "vision": ("babymon.vision.analyzer:VisionAnalyzer", ("face_covered", "prone", "standing")),
    "cry": ("babymon.cry.analyzer:CryAnalyzer", ("crying",)),
}


@dataclass
class LoadedAnalyzers:
    video: list[VideoAnalyzer] = field(default_factory=list)
    audio: list[AudioAnalyzer] = field(default_factory=list)
    missing: dict[str, str] = field(default_factory=dict)  # name → why it is missing
    undetectable: tuple[str, ...] = ()  # conditions no loaded analyzer can detect

    def close(self) -> None:
        for analyzer in [*self.video, *self.audio]:
            try:
                analyzer.close()
            except Exception:  # noqa: BLE001 - closing must not stop the others
                log.exception("closing analyzer %s failed", analyzer.name)


def _import(path: str) -> type:
    module_name, _, class_name = path.partition(":")
    if not class_name:
        raise AnalyzerUnavailable(f"'{path}' is not a built-in analyzer nor a 'module:Class' path")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise AnalyzerUnavailable(f"module {module_name} is not installed") from None
        raise AnalyzerUnavailable(f"module {module_name} needs {exc.name}, which is not installed") from None
    try:
        return getattr(module, class_name)
    except AttributeError:
        raise AnalyzerUnavailable(f"module {module_name} has no {class_name}") from None


def load_analyzers(camera: str, config: CameraConfig) -> LoadedAnalyzers:
    loaded = LoadedAnalyzers()
    expected: set[str] = set()
    for name in config.analyzers:
        path, conditions = BUILTIN.get(name, (name, ()))
        expected.update(conditions)
        try:
            cls = _import(path)
            if not (isinstance(cls, type) and issubclass(cls, (VideoAnalyzer, AudioAnalyzer))):
                raise AnalyzerUnavailable(f"{path} is not a VideoAnalyzer or AudioAnalyzer")
            analyzer = cls(camera, config)
        except AnalyzerUnavailable as exc:
            loaded.missing[name] = str(exc)
            continue
        expected.update(analyzer.conditions)
        (loaded.video if isinstance(analyzer, VideoAnalyzer) else loaded.audio).append(analyzer)
    covered = {c for a in [*loaded.video, *loaded.audio] for c in a.conditions}
    baby_conditions = ("face_covered", "prone", "standing", "crying")
    loaded.undetectable = tuple(c for c in baby_conditions if c not in covered)
    return loaded
