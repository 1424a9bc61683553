"""Every MQTT topic babymon uses, in one place."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topics:
    prefix: str = "babymon"
    discovery_prefix: str = "homeassistant"

    @property
    def available(self) -> str:
        """``online``/``offline`` for the daemon (retained; ``offline`` is also the last will)."""
        return f"{self.prefix}/available"

    @property
    def registry(self) -> str:
        """Retained JSON of the cameras this daemon announced, so removed cameras can be cleaned up."""
        return f"{self.prefix}/_announced"

    @property
    def web(self) -> str:
        """Retained JSON ``{"url", "token"}``: where this daemon's web page and HTTP API are, and whether they need
        a token (never the token itself). The Home Assistant integration's live camera reads it."""
        return f"{self.prefix}/web"

    @property
    def ha_status(self) -> str:
        return f"{self.discovery_prefix}/status"

    def camera(self, camera: str, field: str) -> str:
        return f"{self.prefix}/{camera}/{field}"

    def command_filters(self) -> list[str]:
        return [f"{self.prefix}/+/enabled/set", f"{self.prefix}/+/snooze/set"]

    def parse_command(self, topic: str) -> tuple[str, str] | None:
        """``babymon/nursery/snooze/set`` → ``("nursery", "snooze")``."""
        head = f"{self.prefix}/"
        if not topic.startswith(head) or not topic.endswith("/set"):
            return None
        parts = topic[len(head):].split("/")
        if len(parts) != 3 or parts[1] not in ("enabled", "snooze"):
            return None
        return parts[0], parts[1]

    def node_id(self, camera: str) -> str:
        return f"{self.prefix.replace('/', '_')}_{camera}"

    def discovery(self, component: str, camera: str, key: str) -> str:
        """One entity's discovery config (the ``entity`` discovery schema)."""
        return f"{self.discovery_prefix}/{component}/{self.node_id(camera)}/{key}/config"

    def device_discovery(self, camera: str) -> str:
        """One camera's discovery config with all its entities (the ``device`` discovery schema)."""
        return f"{self.discovery_prefix}/device/{self.node_id(camera)}/config"
