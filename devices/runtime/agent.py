"""``DeviceAgent``: the runtime every device (real or simulated) is built on.

It owns the MQTT session (Will, birth messages, reconnects), the durable event outbox and its
sender, command dispatch with dedupe, request/response, retained state and the heartbeat.
Network callbacks only hand work to the shared ``Runtime`` threads.
"""

from __future__ import annotations

import json
import logging
import os
import random
import ssl
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from devices.runtime.backoff import Backoff
from devices.runtime.commands import CommandDispatcher, CommandHandler
from devices.runtime.executor import Runtime, TimerHandle, default_runtime
from devices.runtime.fleet import FleetFeatures, heartbeat_from_config
from devices.runtime.outbox_recovery import open_outbox, recovery_alarm
from devices.runtime.outbox_writer import OutboxWriter
from devices.runtime.ports import ConfigHook
from devices.runtime.requests import RequestBroker
from devices.runtime.sender import EventSender
from devices.runtime.session import PahoTransport
from devices.runtime.transport import Transport, TransportCallbacks, Will
from protocol import topics
from protocol.broker_tls import TlsSettings
from protocol.events import REQUEST_BODIES, Body, event_type_of
from protocol.payloads import (
    Availability,
    AvailabilityStatus,
    DeviceInfo,
    DeviceKind,
    DeviceState,
    Event,
    EventAck,
    Heartbeat,
    Response,
    new_id,
    utcnow,
)

log = logging.getLogger(__name__)


class UnknownEventType(ValueError):
    pass


class DeviceAgent:
    def __init__(self, *, device_id: str, kind: DeviceKind, model: str, firmware: str, broker_url: str,
                 workdir: Path, username: str | None = None, password: str | None = None,
                 capabilities: list[str] | None = None, heartbeat_s: float = 30, ack_timeout_s: float = 10,
                 max_inflight: int = 1000, runtime: Runtime | None = None,
                 rng: random.Random | None = None, tls: TlsSettings | None = None) -> None:
        """``tls``: the CA (and optional client certificate) for an ``mqtts://`` broker, also trusted
        for HTTPS downloads from the hub."""
        if not topics.valid_device_id(device_id):
            raise ValueError(f"invalid device id {device_id!r} (letters, digits, _ . -; max 64)")
        if heartbeat_s <= 0 or ack_timeout_s <= 0:
            raise ValueError("heartbeat_s and ack_timeout_s must be > 0")
        self.device_id = device_id
        self.kind = kind
        self.model = model
        self.firmware = firmware
        self.capabilities = list(capabilities or [])
        self.tls = tls
        self.heartbeat_s = heartbeat_s
        self._default_heartbeat_s = heartbeat_s
        self._heartbeat_timer: TimerHandle | None = None
        self._timer_lock = threading.Lock()
        self.ack_timeout_s = ack_timeout_s
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.boot_id = new_id()[:16]
        self._rng = rng or random.Random()
        self._runtime = runtime or default_runtime()
        # A corrupt file is moved aside so the device still boots; the alarm follows below.
        self.outbox, recovery = open_outbox(self.workdir / "outbox.sqlite3")
        # While the disk refuses writes, events wait in memory and are retried (see outbox_writer).
        self.writer = OutboxWriter(outbox=self.outbox, scheduler=self._runtime.scheduler,
                                   submit=self._runtime.submit_io, on_stored=self._events_stored,
                                   report=lambda level, message: self.fleet.log(level, message))
        self._state_path = self.workdir / "state.json"
        self._state = self._load_state()
        self._started_at = utcnow()
        self._started_mono = time.monotonic()
        self._online = threading.Event()
        self._stopped = False
        self._started = False
        self._timers: list[TimerHandle] = []
        self._offline_payload = Availability(status=AvailabilityStatus.OFFLINE,
                                             boot_id=self.boot_id).to_bytes()
        self._transport: Transport = PahoTransport(
            client_id=device_id, broker_url=broker_url, username=username, password=password,
            will=Will(topics.availability(device_id), self._offline_payload),
            backoff=Backoff(rng=random.Random(self._rng.random())), max_inflight=max_inflight,
            netloop=self._runtime.netloop, tls=tls)
        self.sender = EventSender(outbox=self.outbox, transport=self._transport,
                                  topic=topics.events(device_id), submit=self._runtime.submit_io,
                                  ack_timeout_s=ack_timeout_s, max_inflight=max_inflight, source=self.writer)
        self.commands = CommandDispatcher(outbox=self.outbox, publish_ack=self._publish_command_ack)
        self._requests = RequestBroker(publish=self._publish_request)
        # ping, reboot, fetch_logs, apply_config, update/rollback_firmware (may set self.firmware).
        self.fleet = FleetFeatures(self)
        # A config applied before a restart keeps its heartbeat interval.
        try:
            self.heartbeat_s = heartbeat_from_config(self._state.config, default=heartbeat_s)
        except ValueError as exc:
            log.warning("%s: ignoring the stored config's heartbeat: %s", device_id, exc)
        if recovery is not None:
            self.emit(recovery_alarm(recovery))

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        if self._started:
            raise RuntimeError(f"agent {self.device_id} already started")
        self._started = True
        self._transport.start(TransportCallbacks(on_connect=self._on_connect,
                                                 on_subscribed=self._on_subscribed,
                                                 on_disconnect=self._on_disconnect,
                                                 on_message=self._on_message))
        sched = self._runtime.scheduler
        # A random first beat spreads a large fleet's heartbeats over the whole interval.
        self._schedule_heartbeat(first_delay=self._rng.uniform(0, self.heartbeat_s))
        self._timers.append(sched.call_every(max(0.2, self.ack_timeout_s / 2), self.sender.check_timeouts))

    def stop(self, timeout: float = 3.0) -> None:
        """Graceful: retained offline availability, clean disconnect, outbox closed."""
        if self._stopped:
            return
        self._stopped = True
        self._cancel_timers()
        self._transport.stop(last=(topics.availability(self.device_id), self._offline_payload),
                             timeout=timeout)
        self._shutdown()

    def drop_link(self) -> None:
        """Simulators and tests: lose the network for a moment; the agent reconnects by itself and
        its outbox delivers what waited."""
        self._transport.drop_link()

    def crash(self) -> None:
        """For tests: vanish like a power cut (no offline message; the broker fires the Will)."""
        if self._stopped:
            return
        self._stopped = True
        self._cancel_timers()
        self._transport.crash()
        self._shutdown()

    def __enter__(self) -> DeviceAgent:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def connected(self) -> bool:
        return self._online.is_set() and self._transport.connected

    def wait_connected(self, timeout: float = 10.0) -> bool:
        return self._online.wait(timeout)

    @property
    def runtime(self) -> Runtime:
        return self._runtime

    @property
    def uptime_s(self) -> float:
        return time.monotonic() - self._started_mono

    def https_context(self) -> ssl.SSLContext | None:
        """For file and firmware downloads from the hub: the system store plus this device's CA
        (None: no CA configured, the default context is right)."""
        if self.tls is None or not self.tls.has_ca:
            return None
        return self.tls.client_context(system_roots=True)

    # --- public API -----------------------------------------------------------------------

    def emit(self, body: Body, *, device_ts: datetime | None = None) -> Event:
        """Persist the event, then let the sender deliver it (works while offline). While the
        outbox refuses writes (disk full) the event waits in memory and is retried, so callers
        such as a door decision carry on.

        ``body`` is a model registered with ``protocol.events.event_body`` (``PunchEvent(...)``);
        its class names the event type. It was validated when it was built, so it is not again."""
        try:
            event_type = event_type_of(type(body))
        except KeyError as exc:
            raise UnknownEventType(exc.args[0]) from None
        event = self.writer.write(type=event_type, data=body.model_dump(mode="json"), device_ts=device_ts,
                                  boot_id=self.boot_id)
        self._events_stored()
        return event

    def on_command(self, name: str, handler: CommandHandler) -> None:
        self.commands.register(name, handler)

    def on_config(self, hook: ConfigHook, *, first: bool = False) -> None:
        """Run ``hook`` on every ``apply_config`` (and raise there to refuse the config). ``first``:
        before the hooks already registered, for the check that fails most often."""
        hooks = self.fleet.config_hooks
        if first:
            hooks.insert(0, hook)
        else:
            hooks.append(hook)

    def request(self, action: str, data: dict[str, Any], *, timeout: float = 10) -> Response:
        model = REQUEST_BODIES.get(action)
        if model is not None:
            data = model.model_validate(data).model_dump(mode="json")
        return self._requests.request(action, data, timeout=timeout)

    def publish_state(self, *, config_version: int | None, config: dict[str, Any],
                      live: dict[str, Any]) -> None:
        self._state = DeviceState(config_version=config_version, config=config, live=live)
        self._save_state()
        if self.connected:
            self._transport.publish(topics.state(self.device_id), self._state.to_bytes(), qos=1, retain=True)

    @property
    def state(self) -> DeviceState:
        return self._state

    @property
    def default_heartbeat_s(self) -> float:
        """The interval given to the constructor, used when the config does not set one."""
        return self._default_heartbeat_s

    def set_heartbeat_interval(self, seconds: float | None) -> None:
        """Change the heartbeat interval now (``None``: back to the constructor's value).

        The next beat comes at most ``seconds`` from now, so a shorter interval takes effect at once
        and a longer one does not leave the hub waiting on the old schedule."""
        interval = self._default_heartbeat_s if seconds is None else float(seconds)
        if interval <= 0:
            raise ValueError(f"heartbeat interval must be > 0, got {seconds!r}")
        if interval == self.heartbeat_s:
            return
        self.heartbeat_s = interval
        self.fleet.log("info", f"heartbeat every {interval:g}s")
        if self._started and not self._stopped:
            self._schedule_heartbeat(first_delay=interval)

    def republish_info(self) -> None:
        """Re-announce ``info`` (e.g. after a firmware switch)."""
        if self.connected:
            self._transport.publish(topics.info(self.device_id), self._info().to_bytes(), qos=1, retain=True)

    def soft_reboot(self) -> None:
        """Simulated restart: a new boot id and fresh birth messages on the same connection."""
        if self._stopped:
            return
        self.boot_id = new_id()[:16]
        self._started_at, self._started_mono = utcnow(), time.monotonic()
        self._offline_payload = Availability(status=AvailabilityStatus.OFFLINE, boot_id=self.boot_id).to_bytes()
        self.fleet.log("info", f"rebooted, boot id {self.boot_id}")
        if self.connected:
            self._on_subscribed()

    # --- network callbacks (paho thread: publish/subscribe only) ----------------------------

    def _on_connect(self) -> None:
        self._transport.subscribe(topics.device_subscriptions(self.device_id), qos=1)

    def _on_subscribed(self) -> None:
        # Announce "online" only once commands and acks can reach us.
        t, d = self._transport, self.device_id
        t.publish(topics.availability(d),
                  Availability(status=AvailabilityStatus.ONLINE, boot_id=self.boot_id).to_bytes(),
                  qos=1, retain=True)
        t.publish(topics.info(d), self._info().to_bytes(), qos=1, retain=True)
        t.publish(topics.state(d), self._state.to_bytes(), qos=1, retain=True)
        self._online.set()
        self._runtime.submit_io(self.sender.reset)

    def _on_disconnect(self) -> None:
        self._online.clear()
        self.fleet.log("warning", "lost the broker connection")
        log.info("%s lost its broker connection; events keep piling up in the outbox", self.device_id)

    def _on_message(self, topic: str, payload: bytes) -> None:
        try:
            parsed = topics.parse(topic)
        except topics.TopicError:
            log.warning("%s: message on unexpected topic %s", self.device_id, topic)
            return
        if parsed.channel is topics.Channel.EVENTS_ACK:
            self._runtime.submit_io(lambda: self._handle_ack(payload))
        elif parsed.channel is topics.Channel.CMD:
            self._runtime.submit_handler(lambda: self._handle_command(payload))
        elif parsed.channel is topics.Channel.RES:
            self._runtime.submit_io(lambda: self._requests.on_response(payload))

    # --- worker-side handlers ---------------------------------------------------------------

    def _handle_ack(self, payload: bytes) -> None:
        if self._stopped:
            return
        try:
            ack = EventAck.model_validate_json(payload)
        except ValidationError as exc:
            log.warning("%s: malformed event ack: %s", self.device_id, exc.errors(include_url=False)[:3])
            return
        self.writer.discard(ack.event_ids)  # acked straight from memory: nothing left to store
        if self.sender.on_ack(ack.event_ids) and self.writer.held:
            self.writer.retry_soon()  # deleted rows made room in the outbox

    def _handle_command(self, payload: bytes) -> None:
        if not self._stopped:
            self.commands.handle(payload)

    def _schedule_heartbeat(self, *, first_delay: float) -> None:
        with self._timer_lock:
            if self._heartbeat_timer is not None:
                self._heartbeat_timer.cancel()
                self._timers.remove(self._heartbeat_timer)
            if self._stopped:
                return
            self._heartbeat_timer = self._runtime.scheduler.call_every(self.heartbeat_s, self._heartbeat,
                                                                       first_delay=first_delay)
            self._timers.append(self._heartbeat_timer)

    def _heartbeat(self) -> None:
        if not self.connected:
            return
        hb = Heartbeat(boot_id=self.boot_id, uptime_s=self.uptime_s, ip=self._transport.local_ip(),
                       outbox_depth=self.outbox.depth() + self.writer.held)
        self._transport.publish(topics.heartbeat(self.device_id), hb.to_bytes(), qos=0)

    def _events_stored(self) -> None:
        if not self._stopped:
            self.sender.wake()

    def _publish_command_ack(self, raw: bytes) -> None:
        self._transport.publish(topics.command_ack(self.device_id), raw, qos=1)

    def _publish_request(self, action: str, raw: bytes) -> None:
        self._transport.publish(topics.request(self.device_id, action), raw, qos=1)

    # --- helpers ------------------------------------------------------------------------------

    def _info(self) -> DeviceInfo:
        return DeviceInfo(kind=self.kind, model=self.model, firmware=self.firmware,
                          capabilities=self.capabilities, boot_id=self.boot_id, ip=self._transport.local_ip(),
                          started_at=self._started_at)

    def _cancel_timers(self) -> None:
        with self._timer_lock:
            for t in self._timers:
                t.cancel()
            self._timers.clear()
            self._heartbeat_timer = None

    def _shutdown(self) -> None:
        self._online.clear()
        self._requests.fail_all()
        self.sender.close()
        self.writer.close()
        self.outbox.close()

    def _load_state(self) -> DeviceState:
        try:
            return DeviceState.model_validate_json(self._state_path.read_bytes())
        except FileNotFoundError:
            return DeviceState()
        except (ValidationError, OSError) as exc:
            log.warning("ignoring unreadable %s: %s", self._state_path, exc)
            return DeviceState()

    def _save_state(self) -> None:
        tmp = self._state_path.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps(self._state.model_dump(mode="json")))
            os.replace(tmp, self._state_path)
        except OSError as exc:  # a full disk must not stop the state from being published
            log.error("%s: cannot save %s: %s", self.device_id, self._state_path, exc)
