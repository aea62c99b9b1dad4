"""Many agents in one process on the shared epoll loop: past paho's select() limit (fds >= 1024),
commands and events flow, and every agent comes back after a broker restart with nothing lost.

The hub runs as its own process: in this one, every new socket gets a descriptor above 1024, which
the hub's own paho client (select-based ``loop_start``) could not watch after a reconnect.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from firmware_sim.fleet import SimFleet
from firmware_sim.loadgen import emit_events
from tests.fixtures.brokers import MosquittoBroker
from tests.fixtures.hub_process import HubProcess
from tests.support.waiting import wait_for


@pytest.fixture
def hub(own_mosquitto: MosquittoBroker, tmp_path: Path) -> Iterator[tuple[HubProcess, httpx.Client]]:
    (tmp_path / "hub").mkdir()
    proc = HubProcess(workdir=tmp_path / "hub", broker_url=own_mosquitto.url,
                      db_url=f"sqlite:///{tmp_path / 'hub' / 'hub.db'}")
    proc.start()
    client = httpx.Client(base_url=proc.base_url, timeout=30)
    token = client.post("/api/v1/auth/token", data={"username": "admin", "password": "admin-test-password"})
    client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
    try:
        yield proc, client
    finally:
        client.close()
        proc.stop()


def test_300_agents_share_one_network_thread_and_survive_a_broker_restart(
        own_mosquitto: MosquittoBroker, hub: tuple[HubProcess, httpx.Client], tmp_path: Path) -> None:
    _, api = hub
    fleet = SimFleet(broker_url=own_mosquitto.url, doors=250, printboxes=50, seed=1, workdir=tmp_path / "sim",
                     ack_timeout_s=2, heartbeat_s=5)
    assert fleet.runtime.netloop is not None
    fleet.start()
    try:
        assert fleet.wait_connected(60)
        assert fleet.runtime.netloop.clients == 300
        # The old per-client select() loop could not watch descriptors this high.
        assert max(int(fd) for fd in os.listdir("/proc/self/fd")) > 1024
        wait_for(lambda: api.get("/api/v1/devices", params={"online": "true", "limit": 1}).json()["total"] == 300,
                 timeout=60)

        sent = emit_events(fleet, total=600, note="scale")
        own_mosquitto.restart(down_for=1.0)
        wait_for(lambda: all(a.connected for a in fleet.agents), timeout=90)
        wait_for(lambda: fleet.total_outbox_depth() == 0, timeout=90)  # every event acked, i.e. stored by the hub
        stored = api.get("/api/v1/events", params={"type": "test", "limit": 10_000}).json()["items"]
        assert sorted(e["event_id"] for e in stored) == sorted(e.event_id for e in sent)  # none lost or doubled

        door = fleet.doors[123]
        cmd = api.post(f"/api/v1/devices/{door.device_id}/commands",
                       json={"name": "ping", "args": {"echo": "through the loop"}}).json()
        done = wait_for(lambda: (c := api.get(f"/api/v1/devices/{door.device_id}/commands/{cmd['id']}").json())
                        ["state"] == "acked" and c, timeout=60)
        assert done["result"]["echo"] == "through the loop"
    finally:
        fleet.stop()
