"""A real MQTT subscriber for tests: records every message and waits for the ones a test expects."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


@dataclass
class Received:
    topic: str
    payload: bytes
    retain: bool
    at: float

    @property
    def text(self) -> str:
        return self.payload.decode(errors="replace")

    def json(self):
        return json.loads(self.payload)


class Watcher:
    """Subscribes to ``topics`` (QoS 1). With ``persistent=True`` it keeps its session across broker restarts
    (needs a broker with persistence), so messages published while it was cut off are still delivered."""

    def __init__(self, host: str, port: int, topics=("#",), client_id: str = "test-watcher", persistent: bool = False):
        self.messages: list[Received] = []
        self._lock = threading.Condition()
        self._topics = topics
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=not persistent)
        self.client.on_message = self._on_message
        self.client.on_connect = self._on_connect
        self.client.reconnect_delay_set(0.1, 0.5)
        self.connected = threading.Event()
        self.client.connect(host, port, keepalive=10)
        self.client.loop_start()
        if not self.connected.wait(10):
            raise RuntimeError(f"watcher could not connect to {host}:{port}")

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if not reason_code.is_failure:
            client.subscribe([(t, 1) for t in self._topics])
            self.connected.set()

    def _on_message(self, client, userdata, message):
        with self._lock:
            self.messages.append(Received(message.topic, bytes(message.payload), bool(message.retain), time.time()))
            self._lock.notify_all()

    def wait_for(self, topic: str, predicate=None, timeout: float = 15.0, after: float = 0.0) -> Received:
        """The first message on ``topic`` (received after time ``after``) for which ``predicate`` holds."""
        deadline = time.time() + timeout
        with self._lock:
            while True:
                for message in self.messages:
                    if message.topic == topic and message.at >= after and (predicate is None or predicate(message)):
                        return message
                remaining = deadline - time.time()
                if remaining <= 0:
                    seen = [m.text[:80] for m in self.messages if m.topic == topic][-5:]
                    raise AssertionError(f"no matching message on {topic} within {timeout} s; last seen: {seen}")
                self._lock.wait(remaining)

    def wait_text(self, topic: str, text: str, timeout: float = 15.0, after: float = 0.0) -> Received:
        return self.wait_for(topic, lambda m: m.text == text, timeout, after)

    def on(self, topic: str) -> list[Received]:
        with self._lock:
            return [m for m in self.messages if m.topic == topic]

    def events(self, topic: str) -> list[dict]:
        return [m.json() for m in self.on(topic)]

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def retained(broker, topic: str, wait: float = 1.0) -> list[bytes]:
    """What a newly connected subscriber gets on ``topic`` (the broker's retained message, if any)."""
    late = Watcher(broker.host, broker.port, topics=(topic,), client_id=f"late-{time.monotonic_ns()}")
    try:
        time.sleep(wait)
        return [m.payload for m in late.messages if m.retain]
    finally:
        late.close()
