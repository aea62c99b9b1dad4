"""What a device checks before it installs firmware, on a real broker with a real device agent: the
signed manifest (kind, version, min_version), and no downgrade unless the hub's signed rollback
authorisation for this device and version comes with it. Every refusal is a failed ack and a
``failed`` firmware event with the reason, and nothing is downloaded or installed."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from devices.runtime import DeviceAgent
from hub.security.firmware_signing import (
    FirmwareManifest,
    RollbackAuthorisation,
    generate_private_key,
    public_key_to_b64,
    sign_manifest,
    sign_rollback,
)
from protocol.payloads import CommandAck, CommandAckStatus, DeviceKind
from tests.fixtures.brokers import MosquittoBroker
from tests.integration.test_device_runtime import FakeHub, _cmd, _ImageServer, make_agent
from tests.integration.test_device_runtime import device_id as device_id  # fixtures
from tests.integration.test_device_runtime import hub as hub
from tests.support.waiting import wait_for

DOOR, BOX = DeviceKind.DOOR_TERMINAL, DeviceKind.PRINT_BOX


class Bench:
    """One door terminal on firmware 1.0 that trusts ``key``, with an installer and a slot switch."""

    def __init__(self, hub: FakeHub, agent: DeviceAgent, key: Ed25519PrivateKey) -> None:
        self.hub, self.agent, self.key = hub, agent, key
        self.installed: list[str] = []
        self.switched: list[str] = []
        self.servers: list[_ImageServer] = []
        agent.fleet.install_hook = lambda version, path: self.installed.append(version)
        agent.fleet.switch_hook = self.switched.append

    def image(self, version: str, *, kind: DeviceKind = DOOR, min_version: str | None = None,
              model: str | None = None) -> tuple[FirmwareManifest, _ImageServer]:
        data = f"{kind.value} firmware {version} ".encode() * 300
        server = _ImageServer(data)
        self.servers.append(server)
        return FirmwareManifest(kind=kind, model=model, version=version, sha256=hashlib.sha256(data).hexdigest(),
                                size=len(data), min_version=min_version), server

    def grant(self, version: str) -> dict[str, Any]:
        auth = RollbackAuthorisation(kind=DOOR, version=version, device_ids=[self.agent.device_id],
                                     expires_at=int(time.time()) + 600, rollout_id="r-back", issued_by="admin")
        return sign_rollback(auth, self.key).model_dump(mode="json")

    def send(self, name: str, args: dict[str, Any]) -> CommandAck:
        cmd = _cmd(name, args)
        self.hub.send_command(cmd)
        return wait_for(lambda: next((a for a in self.hub.acks() if a.command_id == cmd.command_id), None),
                        what=f"{name} acked")

    def update(self, manifest: FirmwareManifest, server: _ImageServer, *, rollout_id: str,
               signature: str | None = None, **extra: Any) -> CommandAck:
        return self.send("update_firmware", {
            "rollout_id": rollout_id, "url": server.url, "manifest": manifest.model_dump(mode="json"),
            "signature": signature or sign_manifest(manifest, self.key), **extra})

    def events(self, rollout_id: str) -> list[tuple[str, str | None]]:
        evs = sorted((e for e in self.hub.unique_events().values()
                      if e.type == "firmware" and e.data["rollout_id"] == rollout_id), key=lambda e: e.seq)
        return [(e.data["state"], e.data.get("error")) for e in evs]

    def refused(self, ack: CommandAck, rollout_id: str, reason: str) -> None:
        """A failed ack naming ``reason`` and one ``failed`` event starting with it."""
        assert ack.status is CommandAckStatus.ERROR, ack
        assert f"FirmwareFailed: {reason}:" in (ack.error or ""), ack.error
        wait_for(lambda: self.events(rollout_id), what=f"{rollout_id} firmware event")
        [(state, error)] = self.events(rollout_id)
        assert state == "failed" and (error or "").startswith(reason), error


@pytest.fixture
def bench(own_mosquitto: MosquittoBroker, hub: FakeHub, device_id: str, tmp_path: Path) -> Iterator[Bench]:
    key = generate_private_key()
    agent = make_agent(own_mosquitto, device_id, tmp_path / "dev")
    agent.fleet.trust_firmware_key(public_key_to_b64(key.public_key()))
    b = Bench(hub, agent, key)
    agent.start()
    try:
        assert agent.wait_connected(10)
        yield b
    finally:
        agent.stop()
        for server in b.servers:
            server.close()


def test_an_image_signed_for_print_boxes_is_refused_by_a_door_terminal(bench: Bench) -> None:
    manifest, server = bench.image("2.0", kind=BOX)
    ack = bench.update(manifest, server, rollout_id="r-box")
    bench.refused(ack, "r-box", "wrong_kind")
    assert "print_box" in (ack.error or "") and server.downloads == 0
    assert bench.installed == [] and bench.agent.firmware == "1.0"


def test_a_tampered_manifest_is_refused(bench: Bench) -> None:
    """The hub signed 2.0; someone relabels it 3.0 (or another kind) on the way: the signature fails."""
    manifest, server = bench.image("2.0")
    signature = sign_manifest(manifest, bench.key)
    relabelled = manifest.model_copy(update={"version": "3.0"})
    bench.refused(bench.update(relabelled, server, rollout_id="r-tamper", signature=signature),
                  "r-tamper", "bad_signature")
    foreign = sign_manifest(manifest, generate_private_key())
    ack = bench.update(manifest, server, rollout_id="r-foreign", signature=foreign)
    assert ack.status is CommandAckStatus.ERROR and "FirmwareFailed: bad_signature:" in (ack.error or "")
    assert server.downloads == 0 and bench.installed == [] and bench.agent.firmware == "1.0"


def test_an_image_for_newer_devices_is_refused_below_its_min_version(bench: Bench) -> None:
    manifest, server = bench.image("3.0", min_version="2.0")
    ack = bench.update(manifest, server, rollout_id="r-min")
    bench.refused(ack, "r-min", "below_min_version")
    assert "runs 1.0" in (ack.error or "") and server.downloads == 0 and bench.agent.firmware == "1.0"
    # Over 2.0 the same image installs.
    two, two_server = bench.image("2.0")
    assert bench.update(two, two_server, rollout_id="r-2").status is CommandAckStatus.OK
    assert bench.update(manifest, server, rollout_id="r-3").status is CommandAckStatus.OK
    assert bench.installed == ["2.0", "3.0"] and bench.agent.firmware == "3.0"


def test_a_downgrade_needs_the_hubs_rollback_authorisation(bench: Bench) -> None:
    new, new_server = bench.image("1.10")  # 1.10 > 1.9: versions are not compared as strings
    assert bench.update(new, new_server, rollout_id="r-up").status is CommandAckStatus.OK
    assert bench.agent.firmware == "1.10"
    old, old_server = bench.image("1.9")  # a genuine, hub-signed, older image

    # Offered as an update (e.g. a raw command replaying an old image): refused.
    ack = bench.update(old, old_server, rollout_id="r-down")
    bench.refused(ack, "r-down", "downgrade")
    assert old_server.downloads == 0 and bench.agent.firmware == "1.10"
    # An authorisation for another device or version does not help either.
    other = {**bench.grant("1.9"), "authorisation": {**bench.grant("1.9")["authorisation"],
                                                     "device_ids": ["someone-else"]}}
    ack = bench.update(old, old_server, rollout_id="r-other", rollback=other)
    assert ack.status is CommandAckStatus.ERROR and "FirmwareFailed: bad_signature:" in (ack.error or "")
    ack = bench.update(old, old_server, rollout_id="r-wrongv", rollback=bench.grant("1.8"))
    assert ack.status is CommandAckStatus.ERROR and "FirmwareFailed: rollback_not_authorised:" in (ack.error or "")

    # The same downgrade as an admin-initiated rollback (the hub's signed authorisation): installed.
    ok = bench.update(old, old_server, rollout_id="r-back", rollback=bench.grant("1.9"))
    assert ok.status is CommandAckStatus.OK, ok
    assert bench.installed == ["1.10", "1.9"] and bench.agent.firmware == "1.9"
    assert [s for s, _ in bench.events("r-back")][-1] == "succeeded"


def test_switching_back_to_an_older_slot_needs_the_authorisation(bench: Bench) -> None:
    new, server = bench.image("2.0")
    assert bench.update(new, server, rollout_id="r-up").status is CommandAckStatus.OK
    ack = bench.send("rollback_firmware", {"rollout_id": "r-up", "version": "1.0"})
    assert ack.status is CommandAckStatus.ERROR and "FirmwareFailed: downgrade:" in (ack.error or ""), ack
    assert bench.switched == [] and bench.agent.firmware == "2.0"
    wait_for(lambda: any(st == "failed" and (err or "").startswith("downgrade:") for st, err in bench.events("r-up")),
             what="failed rollback event")
    ok = bench.send("rollback_firmware", {"rollout_id": "r-up", "version": "1.0", "rollback": bench.grant("1.0")})
    assert ok.status is CommandAckStatus.OK and bench.switched == ["1.0"] and bench.agent.firmware == "1.0"
