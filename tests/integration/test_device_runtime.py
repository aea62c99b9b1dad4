"""DeviceAgent against a real Mosquitto: delivery, acks, resends, restarts, Will, commands, requests.

A tiny test-side "hub" (plain paho) plays the other end of the contract.
"""

from __future__ import annotations

import hashlib
import http.server
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from devices.runtime import DeviceAgent, RequestTimeout, UnknownEventType
from devices.runtime.transport import parse_broker_url
from hub.security.firmware_signing import (
    FirmwareManifest,
    RollbackAuthorisation,
    generate_private_key,
    public_key_to_b64,
    sign_manifest,
    sign_rollback,
)
from protocol import events, topics
from protocol.events import Body
from protocol.payloads import (
    Availability,
    AvailabilityStatus,
    Command,
    CommandAck,
    CommandAckStatus,
    DeviceInfo,
    DeviceKind,
    Event,
    EventAck,
    Request,
    Response,
    ResponseStatus,
    new_id,
    utcnow,
)
from tests.fixtures.brokers import MosquittoBroker, unique_id
from tests.support.waiting import wait_for


class FakeHub:
    """Records everything a device publishes; acks events (when ``acking``) and answers requests."""

    def __init__(self, broker_url: str, device_id: str) -> None:
        self.device_id = device_id
        self.acking = True
        self.responders: dict[str, Callable[[Request], Response]] = {}
        self.events: list[Event] = []
        self.messages: dict[str, list[bytes]] = defaultdict(list)
        self.lock = threading.Lock()
        self.connected = threading.Event()
        addr = parse_broker_url(broker_url)
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=unique_id("hub"))
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.2, 1)  # type: ignore[arg-type]
        self.client.connect(addr.host, addr.port)
        self.client.loop_start()

    def _on_connect(self, client: mqtt.Client, *_: Any) -> None:
        client.subscribe(topics.device_subtree(self.device_id), qos=1)
        self.connected.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        parsed = topics.parse(msg.topic)
        with self.lock:
            self.messages[msg.topic].append(bytes(msg.payload))
        if parsed.channel is topics.Channel.EVENTS:
            ev = Event.model_validate_json(msg.payload)
            with self.lock:
                self.events.append(ev)
            if self.acking:
                client.publish(topics.events_ack(self.device_id),
                               EventAck(event_ids=[ev.event_id]).to_bytes(), qos=1)
        elif parsed.channel is topics.Channel.REQ and parsed.action in self.responders:
            req = Request.model_validate_json(msg.payload)
            res = self.responders[parsed.action](req)
            client.publish(topics.response(self.device_id, parsed.action), res.to_bytes(), qos=1)

    def ack_all(self) -> None:
        with self.lock:
            ids = list({e.event_id for e in self.events})
        self.client.publish(topics.events_ack(self.device_id), EventAck(event_ids=ids).to_bytes(), qos=1)

    def unique_events(self) -> dict[str, Event]:
        with self.lock:
            return {e.event_id: e for e in self.events}

    def send_counts(self) -> Counter[str]:
        with self.lock:
            return Counter(e.event_id for e in self.events)

    def on_topic(self, topic: str) -> list[bytes]:
        with self.lock:
            return list(self.messages.get(topic, []))

    def send_command(self, cmd: Command) -> None:
        self.client.publish(topics.command(self.device_id), cmd.to_bytes(), qos=1)

    def acks(self) -> list[CommandAck]:
        return [CommandAck.model_validate_json(b) for b in self.on_topic(topics.command_ack(self.device_id))]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def retained(broker_url: str, topic: str, timeout: float = 5.0) -> bytes | None:
    """Read the retained message of ``topic`` with a fresh subscriber."""
    got: list[bytes] = []
    ev = threading.Event()
    addr = parse_broker_url(broker_url)
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=unique_id("ret"))
    c.on_connect = lambda client, *a: client.subscribe(topic, qos=1)

    def on_message(client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        if msg.retain:
            got.append(bytes(msg.payload))
            ev.set()

    c.on_message = on_message
    c.connect(addr.host, addr.port)
    c.loop_start()
    ev.wait(timeout)
    c.disconnect()
    c.loop_stop()
    return got[-1] if got else None


@pytest.fixture
def device_id() -> str:
    return unique_id("dev")


@pytest.fixture
def hub(own_mosquitto: MosquittoBroker, device_id: str) -> Iterator[FakeHub]:
    h = FakeHub(own_mosquitto.url, device_id)
    assert h.connected.wait(10)
    yield h
    h.close()


class _Unregistered(Body):
    """A body model no event type is registered for."""


def make_agent(broker: MosquittoBroker, device_id: str, workdir: Path, **kw: Any) -> DeviceAgent:
    opts: dict[str, Any] = {"heartbeat_s": 30, "ack_timeout_s": 1.5}
    opts.update(kw)
    return DeviceAgent(device_id=device_id, kind=DeviceKind.DOOR_TERMINAL, model="test", firmware="1.0",
                       broker_url=broker.url, workdir=workdir, capabilities=["door"], **opts)


def test_events_delivered_and_dropped_after_ack(own_mosquitto: MosquittoBroker, hub: FakeHub,
                                                device_id: str, tmp_path: Path) -> None:
    agent = make_agent(own_mosquitto, device_id, tmp_path / "dev")
    agent.start()
    try:
        assert agent.wait_connected(10)
        sent = [agent.emit(events.TestEvent(n=i)) for i in range(50)]
        wait_for(lambda: agent.outbox.depth() == 0, what="outbox drained by acks")
        got = hub.unique_events()
        assert set(got) == {e.event_id for e in sent}
        assert sorted(e.seq for e in got.values()) == list(range(1, 51))
        info = DeviceInfo.model_validate_json(hub.on_topic(topics.info(device_id))[-1])
        assert info.kind is DeviceKind.DOOR_TERMINAL and info.boot_id == agent.boot_id
        with pytest.raises(UnknownEventType):
            agent.emit(_Unregistered())
    finally:
        agent.stop()


def test_broker_down_while_emitting_loses_nothing(own_mosquitto: MosquittoBroker, hub: FakeHub,
                                                   device_id: str, tmp_path: Path) -> None:
    agent = make_agent(own_mosquitto, device_id, tmp_path / "dev")
    agent.start()
    try:
        assert agent.wait_connected(10)
        base = datetime(2024, 5, 6, 7, 0, tzinfo=UTC)
        sent = [agent.emit(events.TestEvent(n=i), device_ts=base + timedelta(seconds=i)) for i in range(20)]
        own_mosquitto.stop()
        wait_for(lambda: not agent.connected, what="agent notices the broker is gone")
        sent += [agent.emit(events.TestEvent(n=i), device_ts=base + timedelta(seconds=i)) for i in range(20, 60)]
        assert agent.outbox.depth() >= 40  # piled up on disk
        time.sleep(5)
        own_mosquitto.start()
        wait_for(lambda: agent.outbox.depth() == 0, what="backlog drained after reconnect", timeout=60)
        got = hub.unique_events()
        assert set(got) == {e.event_id for e in sent}
        for e in sent:
            assert got[e.event_id].device_ts == e.device_ts  # original device time kept
    finally:
        agent.stop()


def test_unacked_events_are_resent(own_mosquitto: MosquittoBroker, hub: FakeHub, device_id: str,
                                   tmp_path: Path) -> None:
    hub.acking = False
    agent = make_agent(own_mosquitto, device_id, tmp_path / "dev", ack_timeout_s=0.5)
    agent.start()
    try:
        sent = [agent.emit(events.TestEvent(n=i)) for i in range(3)]
        wait_for(lambda: all(hub.send_counts()[e.event_id] >= 2 for e in sent), what="each event re-sent")
        assert agent.outbox.depth() == 3
        hub.ack_all()
        wait_for(lambda: agent.outbox.depth() == 0, what="acked events removed")
    finally:
        agent.stop()


def test_restart_continues_seq_and_resends_unacked(own_mosquitto: MosquittoBroker, hub: FakeHub,
                                                   device_id: str, tmp_path: Path) -> None:
    hub.acking = False
    first = make_agent(own_mosquitto, device_id, tmp_path / "dev", ack_timeout_s=60)
    first.start()
    sent = [first.emit(events.TestEvent(n=i)) for i in range(5)]
    wait_for(lambda: len(hub.unique_events()) == 5, what="first boot delivered 5 (unacked)")
    first.stop()
    second = make_agent(own_mosquitto, device_id, tmp_path / "dev", ack_timeout_s=60)
    assert second.boot_id != first.boot_id
    assert second.outbox.depth() == 5
    second.start()
    try:
        wait_for(lambda: all(hub.send_counts()[e.event_id] >= 2 for e in sent), what="re-sent after restart")
        hub.acking = True
        nxt = second.emit(events.TestEvent(n=5))
        assert nxt.seq == 6
        hub.ack_all()
        wait_for(lambda: second.outbox.depth() == 0, what="all acked")
        assert {e.boot_id for e in sent} == {first.boot_id}  # re-sent events keep their origin
    finally:
        second.stop()


def test_will_fires_offline_on_crash(own_mosquitto: MosquittoBroker, hub: FakeHub, device_id: str,
                                     tmp_path: Path) -> None:
    topic = topics.availability(device_id)
    agent = make_agent(own_mosquitto, device_id, tmp_path / "dev")
    agent.start()
    assert agent.wait_connected(10)
    wait_for(lambda: bool(hub.on_topic(topic)), what="online published")
    online = Availability.model_validate_json(retained(own_mosquitto.url, topic) or b"")
    assert online.status is AvailabilityStatus.ONLINE and online.boot_id == agent.boot_id
    agent.crash()
    wait_for(lambda: any(Availability.model_validate_json(b).status is AvailabilityStatus.OFFLINE
                         for b in hub.on_topic(topic)), what="Will published")
    offline = Availability.model_validate_json(retained(own_mosquitto.url, topic) or b"")
    assert offline.status is AvailabilityStatus.OFFLINE and offline.boot_id == agent.boot_id


def test_graceful_stop_publishes_offline(own_mosquitto: MosquittoBroker, device_id: str,
                                         tmp_path: Path) -> None:
    topic = topics.availability(device_id)
    agent = make_agent(own_mosquitto, device_id, tmp_path / "dev")
    agent.start()
    assert agent.wait_connected(10)
    agent.publish_state(config_version=3, config={"threshold": 0.5}, live={"lock": "closed"})
    agent.stop()
    offline = Availability.model_validate_json(retained(own_mosquitto.url, topic) or b"")
    assert offline.status is AvailabilityStatus.OFFLINE and offline.boot_id == agent.boot_id
    state_raw = retained(own_mosquitto.url, topics.state(device_id))
    assert state_raw is not None and b'"config_version":3' in state_raw


def _cmd(name: str, args: dict[str, Any] | None = None, *, expires_in: float = 60) -> Command:
    return Command(command_id=new_id(), name=name, args=args or {},
                   expires_at=utcnow() + timedelta(seconds=expires_in))


def test_command_runs_once_even_when_delivered_twice(own_mosquitto: MosquittoBroker, hub: FakeHub,
                                                     device_id: str, tmp_path: Path) -> None:
    calls: list[dict[str, Any]] = []
    agent = make_agent(own_mosquitto, device_id, tmp_path / "dev")
    agent.on_command("ping", lambda args: calls.append(args) or {"echo": args["echo"]})
    agent.start()
    try:
        assert agent.wait_connected(10)
        cmd = _cmd("ping", {"echo": "hi"})
        hub.send_command(cmd)
        wait_for(lambda: len(hub.acks()) == 1, what="first ack")
        hub.send_command(cmd)
        wait_for(lambda: len(hub.acks()) == 2, what="duplicate acked again")
        acks = hub.acks()
        assert [a.status for a in acks] == [CommandAckStatus.OK, CommandAckStatus.OK]
        assert acks[0].result == acks[1].result == {"echo": "hi"}
        assert len(calls) == 1
    finally:
        agent.stop()


def test_expired_unknown_failing_and_invalid_commands(own_mosquitto: MosquittoBroker, hub: FakeHub,
                                                      device_id: str, tmp_path: Path) -> None:
    def boom(args: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("relay stuck")

    ran: list[str] = []
    agent = make_agent(own_mosquitto, device_id, tmp_path / "dev")
    agent.on_command("ping", lambda args: ran.append("ping") or {})
    agent.on_command("reboot", boom)
    agent.start()
    try:
        assert agent.wait_connected(10)
        expired = _cmd("ping", expires_in=-1)
        unknown = _cmd("launch_rocket")
        failing = _cmd("reboot")
        invalid = _cmd("ping", {"echo": 5, "extra": True})
        for c in (expired, unknown, failing, invalid):
            hub.send_command(c)
        wait_for(lambda: len(hub.acks()) == 4, what="four acks")
        by_id = {a.command_id: a for a in hub.acks()}
        assert by_id[expired.command_id].status is CommandAckStatus.EXPIRED
        assert by_id[unknown.command_id].status is CommandAckStatus.UNSUPPORTED
        assert by_id[failing.command_id].status is CommandAckStatus.ERROR
        assert "relay stuck" in (by_id[failing.command_id].error or "")
        assert by_id[invalid.command_id].status is CommandAckStatus.ERROR
        assert "invalid args" in (by_id[invalid.command_id].error or "")
        assert ran == []
    finally:
        agent.stop()


def test_request_response_and_timeout(own_mosquitto: MosquittoBroker, hub: FakeHub, device_id: str,
                                      tmp_path: Path) -> None:
    hub.responders["time_sync"] = lambda req: Response(transaction=req.transaction, status=ResponseStatus.OK,
                                                       data={"echo": req.data})
    agent = make_agent(own_mosquitto, device_id, tmp_path / "dev")
    agent.start()
    try:
        assert agent.wait_connected(10)
        res = agent.request("time_sync", {"x": 1}, timeout=10)
        assert res.status is ResponseStatus.OK and res.data == {"echo": {"x": 1}}
        with pytest.raises(RequestTimeout, match="nobody_answers"):
            agent.request("nobody_answers", {}, timeout=0.5)
    finally:
        agent.stop()


def test_config_heartbeat_reschedules_the_heartbeat(own_mosquitto: MosquittoBroker, hub: FakeHub,
                                                    device_id: str, tmp_path: Path) -> None:
    beats = topics.heartbeat(device_id)
    agent = make_agent(own_mosquitto, device_id, tmp_path / "dev", heartbeat_s=3600)
    agent.start()
    try:
        assert agent.wait_connected(10)
        hub.send_command(_cmd("apply_config", {"version": 1, "config": {"heartbeat_s": 0.2}}))
        wait_for(lambda: len(hub.on_topic(beats)) >= 3, what="heartbeats at the configured interval")
        assert agent.heartbeat_s == 0.2
        # A refused value changes nothing.
        hub.send_command(_cmd("apply_config", {"version": 2, "config": {"heartbeat_s": -1}}))
        wait_for(lambda: len(hub.acks()) == 2, what="second ack")
        assert hub.acks()[1].status is CommandAckStatus.ERROR and "heartbeat_s" in (hub.acks()[1].error or "")
        assert agent.heartbeat_s == 0.2 and agent.state.config_version == 1
    finally:
        agent.stop()
    # The applied config survives a restart, interval included.
    agent = make_agent(own_mosquitto, device_id, tmp_path / "dev", heartbeat_s=3600)
    agent.start()
    try:
        assert agent.wait_connected(10) and agent.heartbeat_s == 0.2
        seen = len(hub.on_topic(beats))
        wait_for(lambda: len(hub.on_topic(beats)) >= seen + 3, what="heartbeats after the restart")
        # A config without the key goes back to the interval the agent was built with.
        hub.send_command(_cmd("apply_config", {"version": 3, "config": {}}))
        wait_for(lambda: agent.state.config_version == 3, what="config v3 applied")
        assert agent.heartbeat_s == 3600
    finally:
        agent.stop()


def test_full_outbox_keeps_delivering_from_memory_and_each_event_arrives_once(
        own_mosquitto: MosquittoBroker, hub: FakeHub, device_id: str, tmp_path: Path) -> None:
    """A real SQLITE_FULL (the outbox capped at its size, see Outbox.set_size_limit): emit keeps
    working, events the disk refused still reach the hub from memory, the alarm names the real
    reason, and once there is room again every event has arrived exactly once."""
    hub.acking = False  # acks delete rows, which would make room by themselves
    agent = make_agent(own_mosquitto, device_id, tmp_path / "dev")
    agent.start()
    try:
        assert agent.wait_connected(10)
        agent.outbox.set_size_limit(max_bytes=0)
        sent: list[Event] = []
        while agent.writer.fault is None and len(sent) < 500:
            sent.append(agent.emit(events.TestEvent(n=len(sent), note="x" * 180)))
        sent += [agent.emit(events.TestEvent(n=1000 + i)) for i in range(5)]  # emit never raises
        fault = agent.writer.fault
        assert fault is not None and fault.reason == "database or disk is full" and fault.held == 7
        stored = agent.outbox.depth()

        # Still full, yet the hub already has everything, the alarm included (sent from memory).
        wait_for(lambda: {e.event_id for e in sent} <= set(hub.unique_events()), what="all sent during the fault")
        (alarm,) = [e for e in hub.unique_events().values() if e.type == "alarm"]
        assert alarm.data["code"] == "outbox_write_failed"
        assert "database or disk is full" in alarm.data["message"] and "cannot rollback" not in alarm.data["message"]
        hub.acking = True
        hub.ack_all()
        wait_for(lambda: agent.writer.held == 0, what="acked events need no storing")
        assert agent.outbox.depth() <= stored

        agent.outbox.set_size_limit(max_bytes=None)  # room again
        sent.append(agent.emit(events.TestEvent(n=2000)))
        assert agent.writer.fault is None
        wait_for(lambda: agent.outbox.depth() == 0, what="everything acked", timeout=60)
        got = hub.unique_events()
        assert {e.event_id for e in sent} <= set(got)
        seqs = sorted(e.seq for e in got.values())
        assert len(seqs) == len(set(seqs)) == len(sent) + 1
    finally:
        agent.stop()


class _ImageServer:
    """A plain HTTP server for one firmware image; counts the downloads."""

    def __init__(self, data: bytes) -> None:
        image = data
        self.downloads = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.downloads += 1
                self.send_response(200)
                self.send_header("Content-Length", str(len(image)))
                self.end_headers()
                self.wfile.write(image)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/fw.bin"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_no_installer_switch_or_reboot_hook_means_unsupported_not_success(
        own_mosquitto: MosquittoBroker, hub: FakeHub, device_id: str, tmp_path: Path) -> None:
    """A device (a claimed real terminal) trusts the hub's key but has nothing that installs images,
    switches slots or restarts it. Each command is answered ``unsupported`` with the reason, and no
    firmware event, version or boot id claims a change that did not happen."""
    key = generate_private_key()
    image = b"door firmware 2.0 " * 500
    server = _ImageServer(image)
    manifest = FirmwareManifest(kind=DeviceKind.DOOR_TERMINAL, version="2.0", size=len(image),
                                sha256=hashlib.sha256(image).hexdigest())
    update = {"rollout_id": "r1", "url": server.url, "manifest": manifest.model_dump(mode="json"),
              "signature": sign_manifest(manifest, key)}
    agent = make_agent(own_mosquitto, device_id, tmp_path / "dev")
    agent.fleet.trust_firmware_key(public_key_to_b64(key.public_key()))
    agent.start()
    try:
        assert agent.wait_connected(10)
        boot = agent.boot_id

        def ack(cmd: Command) -> CommandAck:
            hub.send_command(cmd)
            return wait_for(lambda: next((a for a in hub.acks() if a.command_id == cmd.command_id), None),
                            what=f"{cmd.name} acked")

        def firmware_states() -> list[tuple[str, str | None]]:
            evs = sorted((e for e in hub.unique_events().values() if e.type == "firmware"), key=lambda e: e.seq)
            return [(e.data["state"], e.data.get("error")) for e in evs]

        first = ack(_cmd("update_firmware", update))
        assert first.status is CommandAckStatus.UNSUPPORTED, first
        assert "no firmware installer" in (first.error or "")
        wait_for(lambda: firmware_states(), what="firmware event")
        [(state, error)] = firmware_states()
        assert state == "failed" and "unsupported" in (error or "") and "1.0 still runs" in (error or "")
        assert server.downloads == 0
        assert agent.firmware == "1.0" and not (agent.workdir / "firmware" / "slots.json").exists()
        info = retained(own_mosquitto.url, topics.info(device_id))
        assert info is not None and DeviceInfo.model_validate_json(info).firmware == "1.0"

        reboot = ack(_cmd("reboot", {"delay_s": 0}))
        assert reboot.status is CommandAckStatus.UNSUPPORTED and "no reboot hook" in (reboot.error or "")

        # With an installer the update goes through; a rollback still needs a way to switch slots.
        installed: list[str] = []
        agent.fleet.install_hook = lambda version, path: installed.append(version)
        second = ack(_cmd("update_firmware", {**update, "rollout_id": "r2"}))
        assert second.status is CommandAckStatus.OK and installed == ["2.0"] and agent.firmware == "2.0"
        # Going back to 1.0 is a downgrade: it needs the hub's signed authorisation for this device.
        grant = sign_rollback(RollbackAuthorisation(kind=DeviceKind.DOOR_TERMINAL, version="1.0",
                                                    device_ids=[device_id], expires_at=int(time.time()) + 600,
                                                    rollout_id="r2", issued_by="admin"), key)
        rollback = {"rollout_id": "r2", "version": "1.0", "rollback": grant.model_dump(mode="json")}
        back = ack(_cmd("rollback_firmware", rollback))
        assert back.status is CommandAckStatus.UNSUPPORTED and "no switch hook" in (back.error or "")
        assert agent.firmware == "2.0"
        assert not [s for s, _ in firmware_states() if s == "rolled_back"]
        switched: list[str] = []
        agent.fleet.switch_hook = switched.append
        again = ack(_cmd("rollback_firmware", rollback))
        assert again.status is CommandAckStatus.OK and switched == ["1.0"] and agent.firmware == "1.0"
        assert agent.boot_id == boot  # nothing restarted it
    finally:
        agent.stop()
        server.close()
