"""The face feature on PostgreSQL: migrations, encrypted templates, thin and edge punches
(idempotent upserts), a redelivered punch event, timesheets and erasure."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from firmware_sim.fleet import SimFleet
from hub.api.app import create_app
from hub.db.models.attendance import PunchRow
from hub.db.models.core import Event
from hub.ingest.handlers import StoredEvent, stored_body
from hub.runtime import HubRuntime
from tests.fixtures.brokers import MosquittoBroker, unique_id
from tests.fixtures.face import enrol_people, images
from tests.fixtures.hub import ADMIN_PASSWORD, login
from tests.support.waiting import wait_for


def test_face_check_in_on_postgresql(pg_url: str, hub_factory: Callable[..., HubRuntime],
                                     mosquitto: MosquittoBroker, tmp_path: Path) -> None:
    # pg_url first: the database outlives the hub (fixtures tear down in reverse order).
    rt = hub_factory(broker_url=mosquitto.url, database_url=pg_url)
    with TestClient(create_app(runtime=rt)) as api:
        h = login(api, "admin", ADMIN_PASSWORD)
        ids = enrol_people(api, h, ["rose_leslie"])
        fleet = SimFleet(broker_url=mosquitto.url, doors=1, printboxes=0, seed=4, workdir=tmp_path / "sim",
                         id_prefix=unique_id("pg") + "-", face_mode="edge")
        thin = SimFleet(broker_url=mosquitto.url, doors=1, printboxes=0, seed=5, workdir=tmp_path / "thin",
                        id_prefix=unique_id("pgt") + "-", face_mode="thin")
        fleet.start()
        thin.start()
        try:
            assert fleet.wait_connected(15) and thin.wait_connected(15) and fleet.wait_gallery_synced(30)
            probe = images("probe/rose_leslie")[0]
            assert fleet.see(fleet.doors[0], probe).opened
            wait_for(lambda: api.get(f"/api/v1/devices/{thin.doors[0].device_id}", headers=h).status_code == 200)
            assert thin.see(thin.doors[0], probe).punch_recorded

            def rows() -> list[PunchRow]:
                with rt.sessions() as s:
                    return list(s.execute(select(PunchRow).where(PunchRow.employee_id == ids["rose_leslie"]))
                                .scalars())

            got = wait_for(lambda: len(r := rows()) == 2 and r, timeout=30)
            assert {r.mode for r in got} == {"edge", "thin"}
            # A punch event handled again (hub restart between store and processed mark) stays one punch.
            edge_row = next(r for r in got if r.mode == "edge")
            assert edge_row.device_id is not None
            with rt.sessions() as s:
                ev = s.execute(select(Event).where(Event.device_id == edge_row.device_id,
                                                   Event.type == "punch")).scalar_one()
                stored = StoredEvent(ev.id, ev.device_id, ev.event_id, ev.seq, ev.type, ev.device_ts,
                                     ev.received_at, dict(ev.data))
            for sub in rt.registry.events["punch"]:  # as the processor runs it (the encoding is redacted by now)
                sub.run(stored, stored_body(stored))
            assert len(rows()) == 2
            day = edge_row.ts.date().isoformat()
            sheet = api.get("/api/v1/attendance/timesheets", headers=h, params={"from": day, "to": day})
            assert sheet.status_code == 200
            res = api.delete(f"/api/v1/employees/{ids['rose_leslie']}", headers=h)
            assert res.status_code == 202
            gallery = fleet.doors[0].face.gallery  # type: ignore[union-attr]
            assert gallery is not None
            wait_for(lambda: str(ids["rose_leslie"]) not in gallery.employee_ids(), timeout=30)
        finally:
            fleet.stop()
            thin.stop()
