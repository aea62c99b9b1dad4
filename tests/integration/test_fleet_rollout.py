"""Firmware rollouts end to end: upload (hash + signature), staged rollout over 50 simulated devices
downloading over real HTTP, 20% failing → abort at the threshold and rollback, nothing half-applied,
an audit entry for each step; forged or corrupted firmware refused with the reason."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from firmware_sim.adapters import FirmwareFaults
from firmware_sim.fleet import SimFleet
from hub.db.models.core import AuditLog
from hub.db.models.fleet import FirmwareArtifact
from hub.security.firmware_signing import (
    LEGACY_DIGEST_PREFIX,
    FirmwareManifest,
    generate_private_key,
    sign_manifest,
    verify_manifest,
)
from hub.services.fleet.setup import FLEET
from protocol.payloads import DeviceKind
from tests.fixtures.brokers import MosquittoBroker, unique_id
from tests.fixtures.hub_http import HttpHub
from tests.support.waiting import wait_for

OLD, NEW = "0.1.0", "0.2.0"


class Site:
    def __init__(self, hub: HttpHub, fleet: SimFleet, group: str, faults: FirmwareFaults) -> None:
        self.hub, self.fleet, self.group, self.faults = hub, fleet, group, faults
        self.http = hub.client()
        self.h = hub.login()

    def get(self, path: str, **kw: Any) -> Any:
        res = self.http.get(path, headers=self.h, **kw)
        assert res.status_code == 200, res.text
        return res.json()

    def upload(self, version: str, data: bytes, **form: str) -> httpx.Response:
        return self.http.post("/api/v1/firmware", headers=self.h, files={"file": (f"fw-{version}.bin", data)},
                              data={"kind": "door_terminal", "version": version, **form})

    def audit(self, action: str, target: str | None = None) -> list[AuditLog]:
        with self.hub.runtime.sessions() as s:
            q = select(AuditLog).where(AuditLog.action == action)
            if target:
                q = q.where(AuditLog.target_id == target)
            return list(s.execute(q).scalars())


@pytest.fixture
def site(http_hub_factory: Callable[..., HttpHub], mosquitto: MosquittoBroker,
         tmp_path: Path) -> Iterator[Site]:
    hub = http_hub_factory(broker_url=mosquitto.url, rollout_tick_s=0.5)
    fleet = SimFleet(broker_url=mosquitto.url, doors=50, printboxes=0, seed=11, workdir=tmp_path / "sim",
                     id_prefix=unique_id("ro") + "-", heartbeat_s=10)
    fail_ids = {d.device_id for d in fleet.doors[::5]}  # every fifth: 10 of 50 = 20%
    faults = FirmwareFaults(fail_ids=fail_ids)
    fleet.enable_firmware(public_key_b64=hub.runtime.services.get(FLEET).firmware.public_key_b64, faults=faults)
    fleet.start()
    s = Site(hub, fleet, unique_id("grp"), faults)
    try:
        assert fleet.wait_connected(30)
        prefix = fleet.doors[0].device_id.rsplit("-door", 1)[0]
        wait_for(lambda: len([d for d in s.get("/api/v1/devices", params={"q": prefix})["items"]
                              if d["online"] and d["firmware"] == OLD]) == 50, timeout=60)
        for d in fleet.doors:
            assert s.http.patch(f"/api/v1/devices/{d.device_id}", headers=s.h,
                                json={"group": s.group}).status_code == 200
        yield s
    finally:
        fleet.stop()
        s.http.close()


def test_rollout_with_20_percent_failures_aborts_and_rolls_everyone_back(site: Site) -> None:
    fw = site.upload(NEW, b"firmware image " * 4000)
    assert fw.status_code == 201, fw.text
    res = site.http.post("/api/v1/rollouts", headers=site.h, json={
        "firmware_id": fw.json()["id"], "group": site.group, "stages": [10, 50, 100], "start": False,
        "success_threshold_pct": 90, "failure_threshold_pct": 15, "min_executed": 5, "device_timeout_s": 60})
    assert res.status_code == 201, res.text
    rid = res.json()["id"]
    assert res.json()["state"] == "draft" and len(res.json()["devices"]) == 50
    # Stages are a seeded shuffle (seed = rollout id): pick the failing 20 % knowing them, two in the
    # first stage of five, so the threshold (15 % of >= 5 executed) must trip there, whatever the seed.
    by_stage = sorted(res.json()["devices"], key=lambda d: (d["stage"], d["device_id"]))
    first = [d["device_id"] for d in by_stage if d["stage"] == 0]
    later = [d["device_id"] for d in by_stage if d["stage"] > 0]
    assert len(first) == 5
    site.faults.fail_ids = set(first[:2] + later[:8])
    started = site.http.post(f"/api/v1/rollouts/{rid}/start", headers=site.h)
    assert started.status_code == 200 and started.json()["state"] == "running", started.text

    # Under load a rollback command can go unanswered; the driver re-sends it after device_timeout_s,
    # so wait long enough for that recovery path too.
    final = wait_for(lambda: (r := site.get(f"/api/v1/rollouts/{rid}"))["state"] == "rolled_back" and r, timeout=300)
    runs = {d["device_id"]: d for d in final["devices"]}
    failed = {i for i, d in runs.items() if d["error"]}
    assert failed and failed <= site.faults.fail_ids
    # It stopped at the threshold, in the first stage: no later device was offered the update.
    offered = [i for i, d in runs.items() if d["state"] != "pending"]
    assert sorted(offered) == sorted(first)

    # Every device is back on the previous version, on the device and in the registry; no half-applied
    # image anywhere (A/B slots hold exactly one active version, no partial download left).
    for d in site.fleet.doors:
        slots = json.loads((d.agent.workdir / "firmware" / "slots.json").read_text()) \
            if (d.agent.workdir / "firmware" / "slots.json").exists() else {"active": d.agent.firmware}
        assert d.agent.firmware == OLD and slots["active"] == OLD, d.device_id
        assert not list((d.agent.workdir / "firmware").glob("*.part"))
    prefix = site.fleet.doors[0].device_id.rsplit("-door", 1)[0]
    wait_for(lambda: all(x["firmware"] == OLD for x in site.get("/api/v1/devices", params={"q": prefix})["items"]),
             timeout=60)

    # The audit log has each step: creation, start, the rollout's state changes, every device transition.
    assert site.audit("rollout.create", rid) and site.audit("rollout.start", rid)
    states = [(e.detail["from"], e.detail["to"]) for e in site.audit("rollout.state", rid)]
    assert ("draft", "running") in states and ("running", "aborted") in states
    assert ("aborted", "rolling_back") in states and ("rolling_back", "rolled_back") in states
    aborted = [e for e in site.audit("rollout.state", rid) if e.detail["to"] == "aborted"]
    assert "failure threshold reached" in aborted[0].detail["reason"]
    device_steps = site.audit("rollout.device", rid)
    for device_id in offered:
        seen = {e.detail["to"] for e in device_steps if e.detail["subject"] == device_id}
        assert "offered" in seen and "rolled_back" in seen, (device_id, seen)
    alerts = site.get("/api/v1/alerts", params={"kind": "rollout_aborted"})
    assert any(a["details"].get("rollout_id") == rid for a in alerts)


def test_pause_resume_and_complete_without_failures(site: Site) -> None:
    ok_ids = [d.device_id for d in site.fleet.doors if d not in site.fleet.doors[::5]][:8]
    fw = site.upload("0.3.0", b"another image " * 1000).json()
    res = site.http.post("/api/v1/rollouts", headers=site.h, json={
        "firmware_id": fw["id"], "device_ids": ok_ids, "stages": [25, 100], "start": False})
    assert res.status_code == 201, res.text
    rid = res.json()["id"]
    assert res.json()["state"] == "draft"
    assert site.http.post(f"/api/v1/rollouts/{rid}/pause", headers=site.h).status_code == 409
    assert site.http.post(f"/api/v1/rollouts/{rid}/start", headers=site.h).json()["state"] == "running"
    paused = site.http.post(f"/api/v1/rollouts/{rid}/pause", headers=site.h, json={"reason": "lunch"}).json()
    assert paused["state"] == "paused" and paused["reason"] == "lunch"
    assert site.http.post(f"/api/v1/rollouts/{rid}/resume", headers=site.h).json()["state"] in ("running",
                                                                                                 "completed")
    done = wait_for(lambda: (r := site.get(f"/api/v1/rollouts/{rid}"))["state"] == "completed" and r, timeout=60)
    assert done["counts"] == {"succeeded": 8}
    assert all(site.fleet.device(i).agent.firmware == "0.3.0" for i in ok_ids)
    back = site.http.post(f"/api/v1/rollouts/{rid}/rollback", headers=site.h).json()
    assert back["state"] in ("rolling_back", "rolled_back")
    wait_for(lambda: site.get(f"/api/v1/rollouts/{rid}")["state"] == "rolled_back", timeout=60)
    assert all(site.fleet.device(i).agent.firmware == OLD for i in ok_ids)


def test_abort_cancels_the_update_an_offline_device_never_got(site: Site) -> None:
    """An offline device's update waits for it as a pending command; once the rollout is aborted
    that command is canceled, so the device cannot install the withdrawn version when it returns."""
    healthy = [d for d in site.fleet.doors if d not in site.fleet.doors[::5]]
    online, away = healthy[:4], healthy[4:7]
    for door in away:
        door.agent.stop()
    wait_for(lambda: not any(site.get(f"/api/v1/devices/{d.device_id}")["online"] for d in away), timeout=30)
    fw = site.upload("0.4.0", b"withdrawn image " * 1000).json()
    res = site.http.post("/api/v1/rollouts", headers=site.h, json={
        "firmware_id": fw["id"], "device_ids": [d.device_id for d in online + away], "stages": [100],
        "device_timeout_s": 600})
    assert res.status_code == 201, res.text
    rid = res.json()["id"]
    wait_for(lambda: sum(d["state"] == "succeeded" for d in site.get(f"/api/v1/rollouts/{rid}")["devices"]) == 4,
             timeout=60)

    def update_commands(device_id: str) -> list[dict[str, Any]]:
        return [c for c in site.get(f"/api/v1/devices/{device_id}/commands")
                if c["name"] == "update_firmware" and c["args"]["rollout_id"] == rid]

    assert all(c["state"] == "pending" for d in away for c in update_commands(d.device_id))
    aborted = site.http.post(f"/api/v1/rollouts/{rid}/abort", headers=site.h, json={"reason": "bad build"})
    assert aborted.status_code == 200, aborted.text
    for door in away:
        commands = update_commands(door.device_id)
        assert [c["state"] for c in commands] == ["canceled"], commands
        assert "aborted" in commands[0]["error"]
        assert door.agent.firmware == OLD
    # The devices that did install it are sent back.
    wait_for(lambda: all(d.agent.firmware == OLD for d in online), timeout=60)


def manifest_of(fw: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The manifest the hub signed for an uploaded artefact (from its public listing)."""
    return {**{k: fw[k] for k in ("kind", "model", "version", "sha256", "size", "min_version")}, **changes}


def test_wrong_hash_or_signature_is_refused_and_the_device_is_unchanged(site: Site) -> None:
    data = b"good image " * 100
    wrong_hash = site.upload("9.9.1", data, sha256="0" * 64)
    assert wrong_hash.status_code == 422 and "hash_mismatch" in wrong_hash.json()["detail"]
    digest = hashlib.sha256(data).hexdigest()
    other_key = generate_private_key()  # a key the hub does not hold
    foreign = sign_manifest(FirmwareManifest(kind=DeviceKind.DOOR_TERMINAL, version="9.9.2", sha256=digest,
                                             size=len(data)), other_key)
    bad_sig = site.upload("9.9.2", data, signature=foreign)
    assert bad_sig.status_code == 422 and "bad_signature" in bad_sig.json()["detail"]
    refused = {e.detail["reason"] for e in site.audit("firmware.refused")}
    assert {"hash_mismatch", "bad_signature"} <= refused
    assert not [f for f in site.get("/api/v1/firmware") if f["version"].startswith("9.9.")]

    # A forged update command (valid URL, forged signature) reaches a device: it refuses, stays unchanged.
    good = site.upload("9.9.3", data).json()
    url = site.hub.runtime.services.get(FLEET).firmware.signed_url(good["id"])
    door = site.fleet.doors[1]
    forged = manifest_of(good)
    for manifest, sig in ((forged, sign_manifest(FirmwareManifest.model_validate(forged), other_key)),
                          (manifest_of(good, sha256="1" * 64), good["signature"])):
        done = raw_command(site, door.device_id, "update_firmware", {
            "rollout_id": "forged", "url": url, "manifest": manifest, "signature": sig})
        assert done["state"] == "failed" and "bad_signature" in done["error"]
        assert site.audit("device.command", door.device_id)
    # Right signature, tampered image behind a valid link: the device's hash check refuses it.
    evil = site.upload("9.9.4", b"evil image " * 100).json()
    tampered = site.hub.runtime.services.get(FLEET).firmware.signed_url(evil["id"])
    done = raw_command(site, door.device_id, "update_firmware", {
        "rollout_id": "forged", "url": tampered, "manifest": manifest_of(good), "signature": good["signature"]})
    assert done["state"] == "failed" and "hash_mismatch" in done["error"]
    assert door.agent.firmware == OLD and not list((door.agent.workdir / "firmware").glob("slot-9.9.*"))
    # Download links are signed: a changed signature is refused.
    assert site.http.get(url.replace("sig=", "sig=x")).status_code == 403


def raw_command(site: Site, device_id: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
    """Send a command through the commands route (not a rollout) and wait for the device's answer."""
    res = site.http.post(f"/api/v1/devices/{device_id}/commands", headers=site.h, json={"name": name, "args": args})
    assert res.status_code in (200, 201, 202), res.text
    cid = res.json()["id"]
    return wait_for(lambda: (x := site.get(f"/api/v1/devices/{device_id}/commands/{cid}"))
                    ["state"] in ("acked", "failed") and x, timeout=60)


def test_a_device_without_an_installer_is_not_counted_as_updated(
        http_hub_factory: Callable[..., HttpHub], mosquitto: MosquittoBroker, tmp_path: Path) -> None:
    """Two doors trust the hub's key; only one can install (the simulator's installer). The other, like
    a claimed terminal with no install hook, must not count as updated: its run fails with the reason,
    it keeps its version everywhere, and the rollout does not complete."""
    hub = http_hub_factory(broker_url=mosquitto.url, rollout_tick_s=0.5)
    fleet = SimFleet(broker_url=mosquitto.url, doors=2, printboxes=0, seed=5, workdir=tmp_path / "sim",
                     id_prefix=unique_id("noinst") + "-", heartbeat_s=10)
    key = hub.runtime.services.get(FLEET).firmware.public_key_b64
    able, bare = fleet.doors
    fleet.enable_firmware(public_key_b64=key)
    bare.agent.fleet.install_hook = bare.agent.fleet.switch_hook = None  # trusts the key, cannot install
    fleet.start()
    s = Site(hub, fleet, unique_id("grp"), FirmwareFaults())
    try:
        assert fleet.wait_connected(30)
        ids = [able.device_id, bare.device_id]
        prefix = able.device_id.rsplit("-door", 1)[0]
        wait_for(lambda: sorted(d["id"] for d in s.get("/api/v1/devices", params={"q": prefix})["items"]
                                if d["online"] and d["firmware"] == OLD) == sorted(ids), timeout=60)
        fw = s.upload(NEW, b"firmware image " * 1000)
        assert fw.status_code == 201, fw.text
        res = s.http.post("/api/v1/rollouts", headers=s.h, json={
            "firmware_id": fw.json()["id"], "device_ids": ids, "stages": [100], "failure_threshold_pct": 60,
            "min_executed": 2})
        assert res.status_code == 201, res.text
        rid = res.json()["id"]
        done = wait_for(lambda: (r := s.get(f"/api/v1/rollouts/{rid}"))["state"] != "running" and r, timeout=60)
        runs = {d["device_id"]: d for d in done["devices"]}
        assert runs[able.device_id]["state"] == "succeeded"
        assert runs[bare.device_id]["state"] == "failed", runs
        assert "no firmware installer" in runs[bare.device_id]["error"]
        assert done["counts"] == {"succeeded": 1, "failed": 1} and done["state"] == "paused", done
        assert bare.agent.firmware == OLD and able.agent.firmware == NEW
        assert not list((bare.agent.workdir / "firmware").glob("slot-*"))
        wait_for(lambda: s.get(f"/api/v1/devices/{able.device_id}")["firmware"] == NEW, timeout=30)
        assert s.get(f"/api/v1/devices/{bare.device_id}")["firmware"] == OLD
        [cmd] = [c for c in s.get(f"/api/v1/devices/{bare.device_id}/commands") if c["name"] == "update_firmware"]
        assert cmd["state"] == "failed" and "no firmware installer" in cmd["error"]
    finally:
        fleet.stop()
        s.http.close()


def test_devices_refuse_other_kinds_downgrades_and_min_version_and_only_the_admins_rollback_goes_back(
        http_hub_factory: Callable[..., HttpHub], mosquitto: MosquittoBroker, tmp_path: Path) -> None:
    """Images reach devices through raw commands (what an operator, or anyone publishing on the command
    topic, could send): each is hub-signed and genuine, and each is refused on the device with the
    reason. The admin's rollback of a rollout carries the hub's signed authorisation and is obeyed."""
    hub = http_hub_factory(broker_url=mosquitto.url, rollout_tick_s=0.5)
    fleet = SimFleet(broker_url=mosquitto.url, doors=3, printboxes=0, seed=7, workdir=tmp_path / "sim",
                     id_prefix=unique_id("sig") + "-", heartbeat_s=10)
    fw_service = hub.runtime.services.get(FLEET).firmware
    fleet.enable_firmware(public_key_b64=fw_service.public_key_b64)
    fleet.start()
    s = Site(hub, fleet, unique_id("grp"), FirmwareFaults())
    try:
        assert fleet.wait_connected(30)
        ids = [d.device_id for d in fleet.doors]
        target = fleet.doors[0]
        prefix = target.device_id.rsplit("-door", 1)[0]
        wait_for(lambda: sorted(d["id"] for d in s.get("/api/v1/devices", params={"q": prefix})["items"]
                                if d["online"] and d["firmware"] == OLD) == sorted(ids), timeout=60)
        for d in fleet.doors:
            res = s.http.patch(f"/api/v1/devices/{d.device_id}", headers=s.h, json={"group": s.group})
            assert res.status_code == 200, res.text

        # Uploads: versions must be orderable, min_version not above the version.
        bad = s.upload("nightly", b"x" * 10)
        assert bad.status_code == 422 and "bad_version" in bad.json()["detail"]
        bad = s.upload("0.5.0", b"x" * 10, min_version="0.6")
        assert bad.status_code == 422 and "min_version" in bad.json()["detail"]

        # 0.2.0, stored as before this change (a digest-only signature): re-signed as a manifest when offered.
        new = s.upload(NEW, b"door image 0.2.0 " * 500).json()
        legacy = base64.b64encode(fw_service.key.sign(LEGACY_DIGEST_PREFIX + bytes.fromhex(new["sha256"]))).decode()
        with hub.runtime.sessions() as db, db.begin():
            db.get(FirmwareArtifact, new["id"]).signature = legacy
        res = s.http.post("/api/v1/rollouts", headers=s.h, json={"firmware_id": new["id"], "group": s.group,
                                                                 "stages": [100]})
        assert res.status_code == 201, res.text
        rid = res.json()["id"]
        wait_for(lambda: s.get(f"/api/v1/rollouts/{rid}")["state"] == "completed", timeout=60)
        assert all(d.agent.firmware == NEW for d in fleet.doors)
        assert s.audit("firmware.resigned", str(new["id"]))
        resigned = next(f for f in s.get("/api/v1/firmware") if f["id"] == new["id"])
        verify_manifest(FirmwareManifest.model_validate(manifest_of(resigned)), resigned["signature"],
                        fw_service.key.public_key())

        def offer(fw: dict[str, Any]) -> dict[str, Any]:
            return raw_command(s, target.device_id, "update_firmware", {
                "rollout_id": f"raw-{fw['version']}", "url": fw_service.signed_url(fw["id"]),
                "manifest": manifest_of(fw), "signature": fw["signature"]})

        # A print box's image, offered to a door terminal.
        box = s.http.post("/api/v1/firmware", headers=s.h, files={"file": ("box.bin", b"box image " * 300)},
                          data={"kind": "print_box", "version": "0.3.0"}).json()
        done = offer(box)
        assert done["state"] == "failed" and "wrong_kind" in done["error"], done

        # An older (genuine) door image: a downgrade. A rollout of it has no device to go to.
        older = s.upload("0.1.5", b"door image 0.1.5 " * 500).json()
        done = offer(older)
        assert done["state"] == "failed" and "downgrade" in done["error"], done
        res = s.http.post("/api/v1/rollouts", headers=s.h, json={"firmware_id": older["id"], "group": s.group})
        assert res.status_code == 422 and "not older than 0.1.5" in res.json()["detail"], res.text

        # An image that installs only over 0.3.0 or later, to a device on 0.2.0.
        later = s.upload("0.4.0", b"door image 0.4.0 " * 500, min_version="0.3.0").json()
        assert later["min_version"] == "0.3.0"
        done = offer(later)
        assert done["state"] == "failed" and "below_min_version" in done["error"], done
        res = s.http.post("/api/v1/rollouts", headers=s.h, json={"firmware_id": later["id"], "group": s.group})
        assert res.status_code == 422 and "below the image's min_version 0.3.0" in res.json()["detail"], res.text

        # Nothing changed on the device; the refusals reached the registry's command history.
        assert target.agent.firmware == NEW
        assert not list((target.agent.workdir / "firmware").glob("slot-0.[134]*"))
        # A raw rollback (no authorisation) is refused too ...
        done = raw_command(s, target.device_id, "rollback_firmware", {"rollout_id": rid, "version": OLD})
        assert done["state"] == "failed" and "downgrade" in done["error"], done
        assert target.agent.firmware == NEW
        # ... the admin's rollback of the rollout carries the signed authorisation and is obeyed.
        back = s.http.post(f"/api/v1/rollouts/{rid}/rollback", headers=s.h)
        assert back.status_code == 200, back.text
        wait_for(lambda: s.get(f"/api/v1/rollouts/{rid}")["state"] == "rolled_back", timeout=60)
        assert all(d.agent.firmware == OLD for d in fleet.doors)
        sent = [c for c in s.get(f"/api/v1/devices/{target.device_id}/commands")
                if c["name"] == "rollback_firmware" and c.get("args", {}).get("rollback")]
        assert sent and sent[0]["args"]["rollback"]["authorisation"]["device_ids"] == [target.device_id]
    finally:
        fleet.stop()
        s.http.close()
