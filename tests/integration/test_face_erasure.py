"""Right to erasure: after DELETE no template, photo or snapshot of the person is left in the
database, on disk or in any simulated terminal's gallery, and every terminal's ack is tracked."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from firmware_sim.fleet import SimFleet
from hub.api.app import create_app
from hub.db.models.attendance import PunchRow
from hub.db.models.core import AuditLog, Event
from hub.db.models.people import FaceTemplate, GalleryChange, Snapshot
from hub.domain.biometrics import holds_biometrics
from hub.runtime import HubRuntime
from tests.fixtures.brokers import MosquittoBroker, unique_id
from tests.fixtures.face import enrol_people, images
from tests.fixtures.hub import ADMIN_PASSWORD, login
from tests.support.waiting import wait_for


def test_erasure_leaves_nothing_behind(hub_factory: Callable[..., HubRuntime], mosquitto: MosquittoBroker,
                                       tmp_path: Path) -> None:
    rt = hub_factory(broker_url=mosquitto.url, keep_enrolment_photos=True, snapshot_retention_days=7)
    data_dir = rt.settings.data_dir
    with TestClient(create_app(runtime=rt)) as api:
        headers = login(api, "admin", ADMIN_PASSWORD)
        prefix = unique_id("er") + "-"
        edge = SimFleet(broker_url=mosquitto.url, doors=2, printboxes=0, seed=5, workdir=tmp_path / "edge",
                        id_prefix=prefix + "e", face_mode="edge", heartbeat_s=5)
        thin = SimFleet(broker_url=mosquitto.url, doors=1, printboxes=0, seed=6, workdir=tmp_path / "thin",
                        id_prefix=prefix + "t", face_mode="thin", heartbeat_s=5)
        edge.start()
        thin.start()
        try:
            assert edge.wait_connected(15) and thin.wait_connected(15)
            wait_for(lambda: len(api.get("/api/v1/devices", headers=headers, params={"q": prefix})
                                 .json()["items"]) == 3)
            ids = enrol_people(api, headers, ["biden", "rose_leslie"])
            biden = ids["biden"]
            # Thin check-in keeps a snapshot; edge terminals pull biden's templates.
            assert thin.see(thin.doors[0], images("probe/biden")[0]).opened
            for door in edge.doors:
                assert door.face is not None and door.face.gallery is not None
                gallery = door.face.gallery
                wait_for(lambda g=gallery: str(biden) in g.employee_ids(), timeout=30)  # type: ignore[misc]
            with rt.sessions() as s:
                photos = [Path(t.photo_path) for t in s.execute(select(FaceTemplate).where(
                    FaceTemplate.employee_id == biden)).scalars() if t.photo_path]
                snaps = [Path(x.path) for x in s.execute(select(Snapshot).where(Snapshot.employee_id == biden))
                         .scalars()]
            assert photos and all(p.exists() for p in photos)
            assert snaps and all(p.exists() for p in snaps)
            assert api.get(f"/api/v1/employees/{biden}/faces", headers=headers).json()
            # An edge punch: its event carried biden's encoding to the hub.
            assert edge.see(edge.doors[0], images("probe/biden")[0]).opened

            def edge_punch() -> bool:
                with rt.sessions() as s:
                    return s.execute(select(PunchRow).where(PunchRow.employee_id == biden,
                                                            PunchRow.mode == "edge")).first() is not None

            wait_for(edge_punch, timeout=30)

            res = api.delete(f"/api/v1/employees/{biden}", headers=headers)
            assert res.status_code == 202, res.text
            # The session broker also carries other tests' (retained) terminals: look at ours.
            ours = {d.device_id for d in edge.doors + thin.doors}
            assert ours <= {t["device_id"] for t in res.json()["terminals"]}

            def acked() -> list[dict[str, object]]:
                st = api.get(f"/api/v1/employees/{biden}/erasure", headers=headers).json()
                mine = [t for t in st["terminals"] if t["device_id"] in ours]
                return mine if all(t["state"] == "acked" for t in mine) else []

            assert len(wait_for(acked, timeout=30)) == 3
            with rt.sessions() as s:
                assert not s.execute(select(FaceTemplate).where(FaceTemplate.employee_id == biden)).first()
                assert not s.execute(select(Snapshot).where(Snapshot.employee_id == biden)).first()
                assert s.execute(select(GalleryChange).where(GalleryChange.employee_id == biden,
                                                             GalleryChange.op == "delete")).first()
                actions = {a.action for a in s.execute(select(AuditLog).where(
                    AuditLog.target_id == str(biden))).scalars()}
            assert {"face.enrol", "face.view", "employee.erase"} <= actions
            with rt.sessions() as s:
                punches = [e.data for e in s.execute(select(Event).where(Event.type == "punch")).scalars()
                           if str(e.data.get("employee_id")) == str(biden)]
            assert punches and not any(holds_biometrics(d) for d in punches)
            assert not any(p.exists() for p in photos + snaps)
            assert not (data_dir / "snapshots" / str(biden)).exists()
            assert not (data_dir / "enrolment-photos" / str(biden)).exists()
            for door in edge.doors:
                assert door.face is not None and door.face.gallery is not None
                assert str(biden) not in door.face.gallery.employee_ids()
                assert str(ids["rose_leslie"]) in door.face.gallery.employee_ids()
                on_disk = json.loads((door.agent.workdir / "gallery.json").read_text())
                assert all(r["employee_id"] != str(biden) for r in on_disk["rows"].values())
            # The hub no longer recognises the erased person; others still match.
            assert not thin.see(thin.doors[0], images("probe/biden")[0]).opened
            assert thin.see(thin.doors[0], images("probe/rose_leslie")[0]).opened
            # Re-syncing from scratch does not bring biden back.
            door0 = edge.doors[0]
            assert door0.face is not None and door0.face.gallery is not None
            door0.face.sync(reset=True)
            assert str(biden) not in door0.face.gallery.employee_ids()
        finally:
            edge.stop()
            thin.stop()
