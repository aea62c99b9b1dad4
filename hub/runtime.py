"""The hub's runtime state in one typed container, built once and shared by API and workers."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Engine

from hub.broker.embedded import EmbeddedBroker
from hub.db.migrate import upgrade
from hub.db.session import SessionFactory, make_engine, make_session_factory
from hub.feature import Feature
from hub.ingest.handlers import DeviceChange, HandlerRegistry
from hub.ingest.inbox import BoundedInbox
from hub.ingest.mqtt_client import HubMqtt
from hub.ingest.processor import EventProcessor
from hub.ingest.store import ACK_STATES, BatchOutcome
from hub.ingest.writer import IngestWriter
from hub.services.alerts import Alerts
from hub.services.commands import CommandService, command_public
from hub.services.context import FeatureContext
from hub.services.device_liveness import mark_inactive
from hub.services.keys import Services
from hub.services.live import LiveFeed
from hub.services.timers import Timers
from hub.settings import Settings
from hub.tls import broker_tls

log = logging.getLogger(__name__)

# Event types too frequent to push one by one to live subscribers.
QUIET_EVENT_TYPES = frozenset({"test", "log"})


@dataclass
class HubRuntime:
    settings: Settings
    engine: Engine
    sessions: SessionFactory
    registry: HandlerRegistry
    live: LiveFeed
    inbox: BoundedInbox
    mqtt: HubMqtt
    writer: IngestWriter
    processor: EventProcessor
    commands: CommandService
    timers: Timers
    alerts: Alerts
    broker: EmbeddedBroker | None = None
    # Feature services by typed key (``hub.services.face.service.FACE``, …), set by feature setups.
    services: Services = field(default_factory=Services)
    stoppers: list[Callable[[], None]] = field(default_factory=list)
    features: tuple[Feature, ...] = ()

    @property
    def broker_url(self) -> str:
        return self.broker.url if self.broker else str(self.settings.broker_url)

    def context(self) -> FeatureContext:
        """What features get: the collaborators they use, not the runtime."""
        return FeatureContext(settings=self.settings, sessions=self.sessions, registry=self.registry,
                              timers=self.timers, live=self.live, commands=self.commands, alerts=self.alerts,
                              services=self.services, publish=self.publish, broker_url=self.broker_url,
                              on_stop=self.stoppers.append)

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> bool:
        return self.mqtt.publish(topic, payload, qos=qos, retain=retain)

    def start(self) -> None:
        self.writer.start()
        self.processor.start()
        self.timers.start()
        self.mqtt.start()

    def stop(self) -> None:
        for stop in reversed(self.stoppers):
            try:
                stop()
            except Exception:
                log.exception("feature stop failed")
        self.mqtt.stop()
        self.timers.stop()
        self.writer.stop()
        self.processor.stop()
        if self.broker:
            self.broker.stop()
        self.engine.dispose()


def build_runtime(settings: Settings, *, features: Sequence[Feature], migrate: bool = True) -> HubRuntime:
    """The hub with ``features`` set up (``hub.features.FEATURES`` for the whole product), not started."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if migrate:
        upgrade(settings.db_url)
    engine = make_engine(settings.db_url)
    sessions = make_session_factory(engine)
    broker: EmbeddedBroker | None = None
    broker_url = settings.broker_url
    if broker_url is None:
        broker = EmbeddedBroker(port=settings.embedded_broker_port)
        broker.start()
        broker_url = broker.url
    registry = HandlerRegistry()
    live = LiveFeed()
    inbox = BoundedInbox(max_messages=settings.ingest_inbox_max_messages,
                         max_bytes=int(settings.ingest_inbox_max_mb * 1024 * 1024))
    password = settings.broker_password.get_secret_value() if settings.broker_password else None
    mqtt = HubMqtt(url=broker_url, client_id=settings.hub_client_id, inbox=inbox,
                   username=settings.broker_username, password=password,
                   share_group=settings.shared_subscription_group, tls=broker_tls(settings))
    processor = EventProcessor(sessions=sessions, registry=registry)
    commands = CommandService(sessions=sessions, publish=mqtt.publish,
                              default_ttl_s=settings.command_default_ttl_s,
                              on_change=lambda c: live.publish("command", command_public(c)))

    def on_stored(outcome: BatchOutcome) -> None:
        if any(registry.handles(e.type) for e in outcome.new_events):  # new_events skips quiet types
            processor.notify()
        for device_id, name, ack in outcome.command_acks:
            live.publish("command", {"id": ack.command_id, "device_id": device_id, "name": name,
                                     "state": ACK_STATES[ack.status.value], "result": ack.result, "error": ack.error})
        for ev in outcome.new_events:
            if ev.type not in QUIET_EVENT_TYPES:
                live.publish("event", {"device_id": ev.device_id, "type": ev.type, "event_id": ev.event_id,
                                       "device_ts": ev.device_ts.isoformat(), "data": ev.data})

    writer = IngestWriter(inbox=inbox, sessions=sessions, db_url=settings.db_url, registry=registry,
                          publish=mqtt.publish, max_payload_bytes=settings.max_payload_bytes,
                          batch_max=settings.ingest_batch_max, auto_register=settings.auto_register_devices,
                          on_stored=on_stored, store_process=settings.ingest_store_process,
                          quiet_types=QUIET_EVENT_TYPES)
    timers = Timers()
    rt = HubRuntime(settings=settings, engine=engine, sessions=sessions, registry=registry, live=live,
                    inbox=inbox, mqtt=mqtt, writer=writer, processor=processor, commands=commands,
                    timers=timers, alerts=Alerts(sessions=sessions, live=live), broker=broker,
                    features=tuple(features))

    def on_device_change(change: DeviceChange) -> None:
        live.publish("device", {"device_id": change.device_id, "online": change.online,
                                "reason": change.reason})
        if change.online:
            commands.resend_pending(change.device_id)

    registry.on_device_change(on_device_change)

    def inactivity() -> None:
        for change in mark_inactive(sessions, offline_after_s=settings.device_offline_after_s):
            for listener in registry.device_listeners:
                listener(change)

    timers.every(5, inactivity, name="inactivity")
    timers.every(1, commands.sweep, name="command-sweep")
    ctx = rt.context()
    for feature in features:
        if feature.setup is not None:
            feature.setup(ctx)
    return rt


