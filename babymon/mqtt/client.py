"""The MQTT connection: publishes what the monitors produce, and passes commands back to them.

What survives a broker outage, and how:

* **State** is kept as the latest payload per retained topic and published retained at QoS 0. After a
  reconnect every retained topic is published again, so the broker's state is current at once.
* **Events** wait in a bounded queue (``mqtt.event_queue_size``, default 1000; the oldest is dropped and
  counted when it is full) and are removed only once the broker has acknowledged them (QoS 1), so an
  event in flight when the connection breaks is sent again. Each event has an ``id`` for de-duplication.
* ``<prefix>/available`` is ``online`` while connected and ``offline`` as the retained last will. On the
  way out (a stop, or an error the daemon cannot survive) ``offline`` is published for the daemon and every
  camera first, since a clean DISCONNECT means the broker never sends the last will.

Nothing from the broker is trusted: a malformed command is logged and ignored, a retained command is ignored
and removed (commands act only when new, so a restart goes back to the config), and the retained registry of
announced cameras is shape-checked, and only topics this daemon itself would publish are ever removed.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import ssl
import time
from typing import Protocol

import aiomqtt

from babymon.backoff import Backoff
from babymon.config import CAMERA_KEY, MqttConfig
from babymon.mqtt.commands import parse_enabled, parse_snooze
from babymon.mqtt.discovery import MIGRATE, SCHEMAS, announce_messages, discovery_messages
from babymon.mqtt.payloads import FIELDS, field_payloads
from babymon.mqtt.topics import Topics
from babymon.state import iso_time
from babymon.tasks import cancel_and_wait, raise_if_cancelled

log = logging.getLogger(__name__)

REGISTRY_WAIT = 1.5  # seconds to wait for the retained list of previously announced cameras
REGISTRY_MAX_BYTES = 1_000_000  # a registry of 64 cameras is about 200 kB


def tls_context(config: MqttConfig) -> ssl.SSLContext | None:
    tls = config.tls
    if not tls.enabled:
        return None
    context = ssl.create_default_context(cafile=str(tls.ca_file) if tls.ca_file else None)
    if tls.cert_file:
        context.load_cert_chain(str(tls.cert_file), str(tls.key_file) if tls.key_file else None)
    if tls.insecure:
        # only the host name check is skipped: the broker's certificate must still be signed by a trusted CA
        context.check_hostname = False
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def say_offline_now(config: MqttConfig, cameras: list[str], timeout: float = 3.0) -> bool:
    """Last resort, when the event loop itself is gone: a short blocking connection that publishes
    ``offline`` (retained) for the daemon and every camera. True when the broker acknowledged it."""
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    topics = Topics(config.topic_prefix, config.discovery_prefix)
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"{config.client_id or 'babymon'}-farewell")
    if config.username:
        client.username_pw_set(config.username, config.password.get_secret_value() if config.password else None)
    try:
        context = tls_context(config)
        if context is not None:
            client.tls_set_context(context)
        client.connect(config.host, config.port, keepalive=10)
        client.loop_start()
        infos = [client.publish(t, "offline", qos=1, retain=True)
                 for t in [topics.available, *(topics.camera(c, "available") for c in cameras)]]
        for info in infos:
            info.wait_for_publish(timeout)
        return all(info.is_published() for info in infos)
    except Exception:  # noqa: BLE001 - the broker is away as well: the last will is all there is
        return False
    finally:
        try:
            client.disconnect()
            client.loop_stop()
        except Exception:  # noqa: BLE001
            pass


class CommandHandler(Protocol):
    def set_enabled(self, camera: str, enabled: bool) -> None: ...
    def snooze(self, camera: str, seconds: float) -> None: ...


class MqttPublisher:
    """Implements the monitors' ``Publisher`` over MQTT. Run :meth:`run` as a task."""

    def __init__(self, config: MqttConfig, cameras: dict[str, str], snooze_seconds: dict[str, int],
                 commands: CommandHandler | None = None):
        self.config = config
        self.topics = Topics(config.topic_prefix, config.discovery_prefix)
        self.cameras = cameras  # key → display name
        self.snooze_seconds = snooze_seconds
        self.commands = commands
        self.connected = False
        self.events_dropped = 0
        self.connections = 0
        self.messages_rejected = 0  # commands and registry messages that were malformed, retained or failed
        self._retained: dict[str, str | bytes] = {}
        self._dirty: dict[str, None] = {}  # ordered set of retained topics not yet sent on this connection
        self._events: collections.deque[tuple[str, str]] = collections.deque()
        self._wake = asyncio.Event()
        self._registry: asyncio.Future[dict] | None = None
        self._client: aiomqtt.Client | None = None

    # ------------------------------------------------------------------------------------ Publisher side

    def camera_state(self, camera: str, state: dict) -> None:
        self._set(self.topics.camera(camera, "state"), json.dumps(state, separators=(",", ":")))
        for field, payload in field_payloads(state).items():
            self._set(self.topics.camera(camera, field), payload)

    def camera_event(self, camera: str, event: dict) -> None:
        if len(self._events) >= self.config.event_queue_size:
            self._events.popleft()
            self.events_dropped += 1
            log.error("MQTT event queue full (%d): dropped the oldest event", self.config.event_queue_size)
        payload = json.dumps({**event, "event_type": event["type"]}, separators=(",", ":"))
        self._events.append((self.topics.camera(camera, "events"), payload))
        self._wake.set()

    def camera_snapshot(self, camera: str, jpeg: bytes) -> None:
        # When it was taken (the alert's time: the snapshot is pushed just before the alert's events), retained
        # beside it, so Home Assistant shows that time and not the time it (re)received the picture.
        self._set(self.topics.camera(camera, "snapshot"), jpeg)
        self._set(self.topics.camera(camera, "snapshot_time"), iso_time(time.time()))

    def announce_web(self, url: str, token_required: bool) -> None:
        """Where the web page and HTTP API answer (retained on ``<prefix>/web``; the token is never sent)."""
        self._set(self.topics.web, json.dumps({"url": url, "token": token_required}, separators=(",", ":")))

    def _set(self, topic: str, payload: str | bytes) -> None:
        if self._retained.get(topic) == payload:
            return
        self._retained[topic] = payload
        self._dirty[topic] = None
        self._wake.set()

    @property
    def queued_events(self) -> int:
        return len(self._events)

    # ------------------------------------------------------------------------------------ connection

    def _make_client(self) -> aiomqtt.Client:
        cfg = self.config
        return aiomqtt.Client(
            cfg.host,
            cfg.port,
            username=cfg.username,
            password=cfg.password.get_secret_value() if cfg.password else None,
            identifier=cfg.client_id,
            keepalive=cfg.keepalive,
            will=aiomqtt.Will(self.topics.available, "offline", qos=1, retain=True),
            tls_context=tls_context(cfg),
            timeout=10,
        )

    async def run(self) -> None:
        """Stay connected until cancelled, reconnecting with backoff."""
        backoff = Backoff(self.config.reconnect_initial or 0.1, max(self.config.reconnect_max, 0.1))
        where = f"{self.config.host}:{self.config.port}"
        while True:
            try:
                async with self._make_client() as client:
                    self._client = client
                    self.connected = True
                    self.connections += 1
                    log.info("MQTT: connected to %s", where)
                    try:
                        await self._serve(client, backoff)
                    except aiomqtt.MqttError:
                        raise
                    except BaseException:  # shutdown, or a bug: say offline while the connection still works
                        await self._say_offline(client)
                        raise
                    finally:
                        self.connected = False
                        self._client = None
            except aiomqtt.MqttError as exc:
                self.connected = False
                delay = backoff.next_delay()
                log.error("MQTT: broker %s unavailable (%s); %d events queued; retrying in %.1f s",
                          where, exc, len(self._events), delay)
                await asyncio.sleep(delay)

    async def _say_offline(self, client: aiomqtt.Client) -> None:
        """Leaving (a shutdown, or an error this connection cannot survive): say so at once, for the daemon and
        every camera, since a clean DISCONNECT means the broker never sends the last will."""

        async def publish_all() -> None:
            await client.publish(self.topics.available, "offline", qos=1, retain=True)
            for camera in self.cameras:
                topic = self.topics.camera(camera, "available")
                self._retained[topic] = "offline"
                await client.publish(topic, "offline", qos=1, retain=True)

        try:
            await asyncio.wait_for(publish_all(), 2)
        except (aiomqtt.MqttError, TimeoutError):
            pass

    async def _serve(self, client: aiomqtt.Client, backoff: Backoff) -> None:
        self._registry = asyncio.get_running_loop().create_future()
        receiver = asyncio.create_task(self._receive(client))
        sender: asyncio.Task | None = None
        try:
            await client.subscribe([(f, 1) for f in self.topics.command_filters()] + [(self.topics.ha_status, 1)])
            await client.publish(self.topics.available, "online", qos=1, retain=True)
            if self.config.discovery:
                await client.subscribe(self.topics.registry, qos=1)
                await self._announce(client, clean_up=True)
            self._dirty = dict.fromkeys(self._retained)  # everything is news to a fresh connection
            backoff.reset()
            sender = asyncio.create_task(self._send(client))
            done, _ = await asyncio.wait({receiver, sender}, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # re-raise MqttError from whichever side failed
        finally:
            await cancel_and_wait([receiver, *([sender] if sender else [])])

    async def _send(self, client: aiomqtt.Client) -> None:
        while True:
            raise_if_cancelled()  # a publish may have swallowed the cancellation (babymon.tasks)
            await self._wake.wait()
            self._wake.clear()
            while self._dirty:
                # QoS 0 is enough for state: after any reconnect every retained topic is sent again anyway
                topic = next(iter(self._dirty))
                self._dirty.pop(topic, None)
                await client.publish(topic, self._retained[topic], qos=0, retain=True)
                raise_if_cancelled()
            while self._events:
                topic, payload = self._events[0]
                await client.publish(topic, payload, qos=1)
                self._events.popleft()  # only once acknowledged
                raise_if_cancelled()

    async def _receive(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            topic = message.topic.value
            payload = message.payload if isinstance(message.payload, bytes) else str(message.payload or "").encode()
            try:
                await self._on_message(client, topic, payload, bool(message.retain))
            except aiomqtt.MqttError:
                raise
            except Exception:  # noqa: BLE001 - no message from the broker may stop the monitor
                self.messages_rejected += 1
                log.exception("MQTT: message on %s (%d bytes) could not be handled; ignored", ascii(topic[:100]),
                              len(payload))

    async def _on_message(self, client: aiomqtt.Client, topic: str, payload: bytes, retained: bool) -> None:
        if topic == self.topics.registry:
            if self._registry is not None and not self._registry.done():
                self._registry.set_result(parse_registry(payload))
        elif topic == self.topics.ha_status:
            if payload.strip() == b"online":
                log.info("MQTT: Home Assistant came online; re-sending discovery")
                await self._announce(client, clean_up=False)
                self._dirty = dict.fromkeys(self._retained)
                self._wake.set()
        elif retained:
            await self._clear_retained_command(client, topic, payload)
        else:
            self._handle_command(topic, payload)

    async def _clear_retained_command(self, client: aiomqtt.Client, topic: str, payload: bytes) -> None:
        """A command is acted on only when it is new: a retained one would replay at every start (a retained
        OFF would switch monitoring off for good). It is ignored, and removed from the broker."""
        if self.topics.parse_command(topic) is None or not payload:
            return
        self.messages_rejected += 1
        log.warning("MQTT: ignored a retained command on %s (commands must not be retained); removing it",
                    ascii(topic[:100]))
        await client.publish(topic, b"", qos=1, retain=True)

    def _handle_command(self, topic: str, payload: bytes) -> None:
        parsed = self.topics.parse_command(topic)
        if parsed is None or self.commands is None or not payload:  # empty: a retained command being removed
            return
        camera, command = parsed
        if camera not in self.cameras:
            log.warning("MQTT: command for unknown camera %s on %s ignored", ascii(camera[:64]), ascii(topic[:100]))
            return
        try:
            if command == "enabled":
                self.commands.set_enabled(camera, parse_enabled(payload))
            else:
                self.commands.snooze(camera, parse_snooze(payload))
        except ValueError as exc:
            self.messages_rejected += 1
            log.warning("MQTT: bad payload on %s: %s", topic, exc)

    # ------------------------------------------------------------------------------------ discovery

    async def _announce(self, client: aiomqtt.Client, *, clean_up: bool) -> None:
        """Announce every camera to Home Assistant. With ``clean_up`` (once per connection), first read what was
        announced last time: a camera announced in the other discovery schema is moved (see
        :func:`announce_messages`), and a camera no longer configured has its entities and states removed."""
        previous: dict[str, list[str]] = {}
        if clean_up:
            try:
                previous = await asyncio.wait_for(asyncio.shield(self._registry), REGISTRY_WAIT) if self._registry else {}
            except TimeoutError:
                previous = {}
        schema = self.config.discovery_schema
        announced: dict[str, list[str]] = {}
        for camera, name in self.cameras.items():
            current = discovery_messages(self.topics, camera, name, self.snooze_seconds.get(camera, 1800), schema)
            messages = announce_messages(self.topics, camera, current, schema, previous.get(camera, ()))
            if any(payload == MIGRATE for _, payload, _ in messages):
                log.warning("MQTT: moving camera '%s' to Home Assistant's %s discovery schema (mqtt.discovery_schema)",
                            camera, schema)
            for topic, payload, retain in messages:
                await client.publish(topic, payload, qos=1, retain=retain)
                raise_if_cancelled()
            announced[camera] = [*current, *self._state_topics(camera)]
        if not clean_up:
            return
        for camera, old_topics in previous.items():
            if camera in self.cameras:
                continue
            # only topics this daemon itself would announce for that camera: a forged registry cannot make it
            # delete anyone else's retained messages
            listed = set(old_topics)
            ours = [topic for topic in self._own_topics(camera) if topic in listed]  # entities first, then states
            if not ours:
                continue
            log.warning("MQTT: camera '%s' is no longer configured; removing its Home Assistant entities", camera)
            for topic in ours:
                await client.publish(topic, b"", qos=1, retain=True)
        await client.publish(self.topics.registry, json.dumps({"cameras": announced}), qos=1, retain=True)

    def _state_topics(self, camera: str) -> list[str]:
        return [self.topics.camera(camera, f) for f in ("state", "snapshot", "snapshot_time", *FIELDS)]

    def _own_topics(self, camera: str) -> list[str]:
        """Every retained topic this daemon publishes for ``camera``."""
        configs = [t for schema in SCHEMAS for t in discovery_messages(self.topics, camera, camera, 60, schema)]
        return [*dict.fromkeys(configs), *self._state_topics(camera)]


def parse_registry(payload: bytes) -> dict[str, list[str]]:
    """The retained ``<prefix>/_announced`` registry → camera key → topics; anything malformed counts as empty.

    Anyone on the broker can write it, so its shape is checked: ``{"cameras": {key: [topic, ...]}}`` with
    valid camera keys and string topics; other entries are dropped."""
    if len(payload) > REGISTRY_MAX_BYTES:
        log.warning("MQTT: the camera registry is %d bytes (at most %d); ignored", len(payload), REGISTRY_MAX_BYTES)
        return {}
    try:
        data = json.loads(payload) if payload else {}
    except (ValueError, RecursionError):
        log.warning("MQTT: the camera registry is not valid JSON; ignored")
        return {}
    cameras = data.get("cameras") if isinstance(data, dict) else None
    if not isinstance(cameras, dict):
        if payload:
            log.warning("MQTT: the camera registry is not {\"cameras\": {...}}; ignored")
        return {}
    return {key: [t for t in topics if isinstance(t, str)] for key, topics in cameras.items()
            if isinstance(key, str) and CAMERA_KEY.fullmatch(key) and isinstance(topics, list)}
