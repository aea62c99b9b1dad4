"""Desired vs reported config on a real hub + simulated devices: layers, versions, drift and its
reconciliation, and refusal of bad values (with the reason, an audit entry, and the device unchanged)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from firmware_sim.fleet import SimFleet
from hub.api.app import create_app
from hub.db.models.core import AuditLog
from hub.runtime import HubRuntime
from hub.services.fleet.setup import FLEET
from tests.fixtures.brokers import MosquittoBroker, unique_id
from tests.fixtures.hub import login
from tests.support.waiting import wait_for


@pytest.fixture
def setup(hub_factory: Callable[..., HubRuntime], mosquitto: MosquittoBroker,
          tmp_path: Path) -> Iterator[tuple[HubRuntime, TestClient, dict[str, str], SimFleet]]:
    rt = hub_factory(broker_url=mosquitto.url, config_reconcile_s=1.0)
    fleet = SimFleet(broker_url=mosquitto.url, doors=2, printboxes=1, seed=3, workdir=tmp_path / "sim",
                     id_prefix=unique_id("cfg") + "-", heartbeat_s=5)
    fleet.start()
    with TestClient(create_app(runtime=rt)) as api:
        headers = login(api, "admin", "admin-test-password")
        prefix = fleet.doors[0].device_id.rsplit("-door", 1)[0]

        def registered() -> bool:
            items = api.get("/api/v1/devices", headers=headers, params={"q": prefix}).json()["items"]
            return len(items) == 3 and all(d["kind"] and d["online"] for d in items)

        wait_for(registered)
        try:
            yield rt, api, headers, fleet
        finally:
            fleet.stop()


def config(api: TestClient, headers: dict[str, str], device_id: str) -> dict[str, Any]:
    res = api.get(f"/api/v1/devices/{device_id}/config", headers=headers)
    assert res.status_code == 200, res.text
    body: dict[str, Any] = res.json()
    return body


def audit(rt: HubRuntime, action: str, target: str) -> list[AuditLog]:
    with rt.sessions() as s:
        return list(s.execute(select(AuditLog).where(AuditLog.action == action, AuditLog.target_id == target)
                              ).scalars())


def test_layers_versions_and_apply(setup: tuple[HubRuntime, TestClient, dict[str, str], SimFleet]) -> None:
    _, api, h, fleet = setup
    door, other, box = fleet.doors[0], fleet.doors[1], fleet.printboxes[0]
    group = unique_id("grp")
    assert api.patch(f"/api/v1/devices/{door.device_id}", headers=h, json={"group": group}).status_code == 200
    res = api.patch(f"/api/v1/devices/{door.device_id}/config", headers=h, json={"values": {"door_unlock_s": 7}})
    assert res.status_code == 200, res.text
    v1 = res.json()
    assert v1["version"] == 1 and v1["desired"]["door_unlock_s"] == 7.0 and v1["desired"]["heartbeat_s"] == 30
    synced = wait_for(lambda: (c := config(api, h, door.device_id))["in_sync"] and c)
    assert synced["reported"] == synced["desired"] and synced["reported_version"] == 1
    assert door.agent.state.config_version == 1 and door.agent.state.config["door_unlock_s"] == 7.0

    # A group layer reaches the group's devices only; the device override still wins over it.
    put = api.put(f"/api/v1/config/layers/group/{group}/door_terminal", headers=h,
                  json={"values": {"face_policy": {"threshold": 0.45}, "door_unlock_s": 3}})
    assert put.status_code == 200 and put.json()["devices_updated"] == [door.device_id]
    v2 = wait_for(lambda: (c := config(api, h, door.device_id))["in_sync"] and c["version"] == 2 and c)
    assert v2["desired"]["face_policy"] == {"threshold": 0.45} and v2["desired"]["door_unlock_s"] == 7.0
    assert [la["layer"] for la in v2["layers"]] == ["site", f"group:{group}", "device"]
    assert config(api, h, other.device_id)["version"] == 0

    # Optimistic concurrency: an update based on an old version is a conflict.
    stale = api.patch(f"/api/v1/devices/{door.device_id}/config", headers=h,
                      json={"values": {"door_unlock_s": 9}, "expected_version": 1})
    assert stale.status_code == 409 and "v1" in stale.json()["detail"]
    # Print boxes have their own schema.
    ok = api.patch(f"/api/v1/devices/{box.device_id}/config", headers=h,
                   json={"values": {"max_job_mb": 20}})
    assert ok.status_code == 200 and ok.json()["desired"]["max_job_mb"] == 20
    assert wait_for(lambda: box.jobs is not None and box.jobs.max_job_bytes == 20 * 1024 * 1024)
    assert api.get("/api/v1/config/schema/door_terminal", headers=h).json()["properties"]["door_unlock_s"]
    # One hub, one site layer: another site name is refused instead of stored and never read.
    other_site = api.put("/api/v1/config/layers/site/berlin/door_terminal", headers=h,
                         json={"values": {"door_unlock_s": 4}})
    assert other_site.status_code == 404 and "default" in other_site.json()["detail"]


def test_drift_is_visible_and_reconciled(setup: tuple[HubRuntime, TestClient, dict[str, str], SimFleet]) -> None:
    rt, api, h, fleet = setup
    door = fleet.doors[1]
    api.patch(f"/api/v1/devices/{door.device_id}/config", headers=h, json={"values": {"door_unlock_s": 6}})
    wait_for(lambda: config(api, h, door.device_id)["in_sync"])

    door.agent.fleet.set_local_config("door_unlock_s", 20)  # a technician changes it on the device
    seen = wait_for(lambda: (c := config(api, h, door.device_id))["drift"] and c)
    assert seen["drift"] == {"door_unlock_s": {"desired": 6.0, "reported": 20}} and not seen["in_sync"]
    back = wait_for(lambda: (c := config(api, h, door.device_id))["in_sync"] and c)
    assert back["reported"]["door_unlock_s"] == 6.0 and door.agent.state.config["door_unlock_s"] == 6.0
    assert audit(rt, "config.reconcile", door.device_id), "reconciliation must be in the audit log"
    assert audit(rt, "config.applied", door.device_id)


def test_bad_config_is_refused_with_reason_audit_and_device_unchanged(
        setup: tuple[HubRuntime, TestClient, dict[str, str], SimFleet]) -> None:
    rt, api, h, fleet = setup
    door = fleet.doors[0]
    api.patch(f"/api/v1/devices/{door.device_id}/config", headers=h, json={"values": {"door_unlock_s": 8}})
    before = wait_for(lambda: (c := config(api, h, door.device_id))["in_sync"] and c)

    out_of_range = api.patch(f"/api/v1/devices/{door.device_id}/config", headers=h,
                             json={"values": {"door_unlock_s": 999, "face_policy": {"threshold": 0.1}}})
    assert out_of_range.status_code == 422
    detail = out_of_range.json()["detail"]
    assert any("device → door_unlock_s" in i and "60" in i for i in detail["issues"]), detail
    assert any("face_policy" in i and "threshold" in i for i in detail["issues"]), detail
    unknown = api.patch(f"/api/v1/devices/{door.device_id}/config", headers=h, json={"values": {"colour": "red"}})
    assert unknown.status_code == 422 and "unknown key" in str(unknown.json()["detail"])
    bad_layer = api.put("/api/v1/config/layers/site/default/door_terminal", headers=h,
                        json={"values": {"heartbeat_s": 1}})
    assert bad_layer.status_code == 422 and "site → heartbeat_s" in str(bad_layer.json()["detail"])

    refusals = audit(rt, "config.refused", door.device_id)
    assert len(refusals) == 2 and "door_unlock_s" in refusals[0].detail["reason"]
    after = config(api, h, door.device_id)
    assert after["version"] == before["version"] and after["desired"] == before["desired"]
    assert door.agent.state.config["door_unlock_s"] == 8.0 and door.agent.state.config_version == before["version"]
    employee = api.patch(f"/api/v1/devices/{door.device_id}/config", json={"values": {"door_unlock_s": 5}},
                         headers={"Authorization": "Bearer forged"})
    assert employee.status_code == 401


def test_logs_on_demand_reboot_and_command_history(
        setup: tuple[HubRuntime, TestClient, dict[str, str], SimFleet]) -> None:
    rt, api, h, fleet = setup
    door = fleet.doors[0]
    api.patch(f"/api/v1/devices/{door.device_id}/config", headers=h, json={"values": {"log_level": "debug"}})
    wait_for(lambda: config(api, h, door.device_id)["in_sync"])
    # A device CLI also hands its Python log records to fetch_logs (a camera or CUPS error, say).
    camera_log = logging.getLogger(f"devices.test.{unique_id('camera')}")
    handler = door.agent.fleet.capture_logging(camera_log)
    try:
        camera_log.warning("camera %s lost, retrying", "rtsp://cam-7")
    finally:
        camera_log.removeHandler(handler)
    logs = api.post(f"/api/v1/devices/{door.device_id}/logs", headers=h, params={"lines": 5, "wait_s": 10})
    assert logs.status_code == 200 and logs.json()["state"] == "acked", logs.text
    lines = logs.json()["result"]["lines"]
    assert lines and any("config v1 applied" in line for line in lines)
    assert any("WARNING" in line and "camera rtsp://cam-7 lost, retrying" in line for line in lines), lines

    boot = door.agent.boot_id
    reboot = api.post(f"/api/v1/devices/{door.device_id}/commands", headers=h, json={"name": "reboot"}).json()
    wait_for(lambda: api.get(f"/api/v1/devices/{door.device_id}/commands/{reboot['id']}",
                             headers=h).json()["state"] == "acked")
    wait_for(lambda: door.agent.boot_id != boot)
    wait_for(lambda: api.get(f"/api/v1/devices/{door.device_id}", headers=h).json()["online"])
    history = api.get(f"/api/v1/devices/{door.device_id}/commands", headers=h).json()
    assert {"apply_config", "fetch_logs", "reboot"} <= {c["name"] for c in history}
    unknown = api.post(f"/api/v1/devices/{door.device_id}/commands", headers=h, json={"name": "self_destruct"})
    assert unknown.status_code == 422 and "unknown command" in unknown.json()["detail"]
    assert rt.commands.get(reboot["id"]) is not None


def test_face_policy_through_the_config_api(hub_factory: Callable[..., HubRuntime], mosquitto: MosquittoBroker,
                                            tmp_path: Path) -> None:
    rt = hub_factory(broker_url=mosquitto.url, config_reconcile_s=1.0)
    fleet = SimFleet(broker_url=mosquitto.url, doors=1, printboxes=0, seed=5, workdir=tmp_path / "sim",
                     id_prefix=unique_id("fp") + "-", heartbeat_s=5, face_mode="thin")
    fleet.start()
    door = fleet.doors[0]
    assert door.face is not None
    default_threshold = door.face.policy.threshold
    try:
        with TestClient(create_app(runtime=rt)) as api:
            h = login(api, "admin", "admin-test-password")
            wait_for(lambda: api.get(f"/api/v1/devices/{door.device_id}", headers=h).json().get("online"))
            res = api.patch(f"/api/v1/devices/{door.device_id}/config", headers=h,
                            json={"values": {"face_policy": {"threshold": 0.42}}})
            assert res.status_code == 200, res.text
            assert res.json()["desired"]["face_policy"] == {"threshold": 0.42}
            synced = wait_for(lambda: (c := config(api, h, door.device_id))["in_sync"] and c)
            # The terminal applies it (a device threshold is pinned) and reports it back.
            assert synced["reported"]["face_policy"] == {"threshold": 0.42}
            assert door.face.policy.threshold == 0.42 and door.face.policy.threshold_pinned
            assert door.face.policy.threshold < default_threshold

            # Reconciliation keeps it: a local change is put back to the desired policy.
            door.agent.fleet.set_local_config("face_policy", {})
            wait_for(lambda: config(api, h, door.device_id)["drift"])
            back = wait_for(lambda: (c := config(api, h, door.device_id))["in_sync"] and c)
            assert back["reported"]["face_policy"] == {"threshold": 0.42} and door.face.policy.threshold == 0.42
            assert rt.services.get(FLEET).config.reconcile() == []  # in sync: nothing to re-send

            bad = api.patch(f"/api/v1/devices/{door.device_id}/config", headers=h,
                            json={"values": {"face_policy": {"thresold": 0.5}}})
            assert bad.status_code == 422
            assert any("device → face_policy.thresold: unknown key" in i for i in bad.json()["detail"]["issues"])
            assert audit(rt, "config.refused", door.device_id)
            assert config(api, h, door.device_id)["desired"]["face_policy"] == {"threshold": 0.42}
            assert door.face.policy.threshold == 0.42
    finally:
        fleet.stop()
