"""A device claims itself on first start over HTTP (what ``door --claim-token … --hub-url …`` does),
keeps its credentials in its workdir, and comes online with them; later starts reuse them."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import pytest

from devices.door_terminal.agent import DoorTerminal
from devices.runtime.claim import CREDENTIALS_FILE, ClaimFailed, resolve_identity
from firmware_sim.adapters import SimulatedLock
from tests.fixtures.hub_http import HttpHub


def test_claim_on_first_start_then_reuse(http_hub: HttpHub, tmp_path: Path) -> None:
    h = http_hub.login()
    with http_hub.client() as c:
        token = c.post("/api/v1/provisioning/claims", headers=h,
                       json={"device_kind": "door_terminal", "group": "entrance"}).json()["token"]
    workdir = tmp_path / "door"
    ident = resolve_identity(workdir=workdir, kind="door_terminal", device_id=None, broker_url="mqtt://unused:1",
                             username=None, password=None, claim_token=token, hub_url=http_hub.url)
    assert ident.device_id.startswith("door-") and ident.broker_url == http_hub.runtime.broker_url
    # Embedded/open broker in this test: demo mode, no broker account (the claim says so).
    assert ident.username is None
    creds_file = workdir / CREDENTIALS_FILE
    assert stat.S_IMODE(creds_file.stat().st_mode) == 0o600
    again = resolve_identity(workdir=workdir, kind="door_terminal", device_id=None, broker_url="x",
                             username=None, password=None, claim_token=token, hub_url=http_hub.url)
    assert again == ident  # the used token is not presented a second time

    door = DoorTerminal(device_id=ident.device_id, broker_url=ident.broker_url, workdir=workdir,
                        lock=SimulatedLock(), username=ident.username, password=ident.password)
    assert door.agent.fleet.public_key is not None  # the hub's firmware key came with the claim
    door.start()
    try:
        with http_hub.client() as c:
            deadline = time.monotonic() + 20
            dev = {}
            while time.monotonic() < deadline:
                dev = c.get(f"/api/v1/devices/{ident.device_id}", headers=h).json()
                if dev.get("online"):
                    break
                time.sleep(0.1)
            assert dev["online"] and dev["group"] == "entrance"
    finally:
        door.stop()

    with pytest.raises(ClaimFailed, match="refused the claim"):
        resolve_identity(workdir=tmp_path / "other", kind="door_terminal", device_id=None, broker_url="x",
                         username=None, password=None, claim_token=token, hub_url=http_hub.url)
