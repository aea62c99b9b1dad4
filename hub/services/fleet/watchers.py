"""Alert sources: devices offline too long, printer faults in print-box state, door and alarm events,
devices refused for acting beyond their kind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select

from hub.db.models.core import Device
from hub.db.models.fleet import FleetDevice
from hub.db.session import transaction
from hub.ingest.handlers import DeviceChange, DeviceRefusal, StoredEvent
from hub.services.context import FeatureContext
from hub.services.fleet.provisioning import ensure_fleet_row
from protocol.bodies_door import DoorEvent
from protocol.events import AlarmEvent

PRINTER_FAULT_STATES = frozenset({"stopped", "error", "offline"})
DOOR_ALERTS = {"forced_open": ("door_forced_open", "critical"), "held_open": ("door_held_open", "warning")}


class Watchers:
    def __init__(self, ctx: FeatureContext) -> None:
        self.ctx = ctx
        self._printer_faults: set[str] = set()
        # Devices with an open offline alert; kept in memory so the (frequent) online changes of a
        # large fleet cost no database round trip. Loaded once from the table (hub restarts).
        self._alerted: set[str] | None = None

    def _alerted_ids(self) -> set[str]:
        if self._alerted is None:
            with self.ctx.sessions() as s:
                self._alerted = set(s.execute(select(FleetDevice.device_id).where(
                    FleetDevice.offline_alerted.is_(True))).scalars())
        return self._alerted

    def offline_check(self, now: datetime | None = None) -> list[str]:
        now = now or datetime.now(UTC)
        cutoff = now - timedelta(seconds=self.ctx.settings.alert_offline_after_s)
        with transaction(self.ctx.sessions) as s:
            rows = s.execute(select(Device.id, Device.last_seen).outerjoin(
                FleetDevice, FleetDevice.device_id == Device.id).where(
                Device.online.is_(False), Device.revoked.is_(False), Device.last_seen < cutoff,
                or_(FleetDevice.offline_alerted.is_(None), FleetDevice.offline_alerted.is_(False)))).all()
            for device_id, _ in rows:
                ensure_fleet_row(s, device_id).offline_alerted = True
        self._alerted_ids().update(r[0] for r in rows)
        for device_id, last_seen in rows:
            assert last_seen is not None  # filtered by the query
            minutes = (now - last_seen).total_seconds() / 60
            self.ctx.alerts.raise_(kind="device_offline", severity="warning", device_id=device_id,
                        message=f"{device_id} has been offline for {minutes:.1f} min",
                        details={"last_seen": last_seen.isoformat()})
        return [r[0] for r in rows]

    def on_device_change(self, change: DeviceChange) -> None:
        if not change.online or change.device_id not in self._alerted_ids():
            return
        self._alerted_ids().discard(change.device_id)
        with transaction(self.ctx.sessions) as s:
            fleet = s.get(FleetDevice, change.device_id)
            if fleet is None or not fleet.offline_alerted:
                return
            fleet.offline_alerted = False
        self.ctx.alerts.resolve_key(f"device_offline:{change.device_id}", by="hub:online")

    def printer_check(self) -> None:
        with self.ctx.sessions() as s:
            rows = s.execute(select(Device.id, Device.reported_state).where(
                Device.kind == "print_box", Device.revoked.is_(False))).all()
        faults: dict[str, tuple[str, dict[str, object]]] = {}
        for device_id, state in rows:
            for p in ((state or {}).get("live") or {}).get("printers") or []:
                if isinstance(p, dict) and p.get("state") in PRINTER_FAULT_STATES:
                    faults[f"printer_error:{device_id}:{p.get('name')}"] = (device_id, p)
        for key, (device_id, p) in faults.items():
            if key not in self._printer_faults:
                self.ctx.alerts.raise_(kind="printer_error", severity="warning", device_id=device_id,
                            message=f"printer {p.get('name')} on {device_id} is {p.get('state')}: "
                                    f"{p.get('message') or 'no message'}",
                            details={"printer": p}, dedupe_key=key)
        for key in self._printer_faults - faults.keys():
            self.ctx.alerts.resolve_key(key, by="hub:printer-ok")
        self._printer_faults = set(faults)

    def on_door_event(self, ev: StoredEvent, body: DoorEvent) -> None:
        hit = DOOR_ALERTS.get(body.action.value)
        if hit is not None:
            kind, severity = hit
            self.ctx.alerts.raise_(kind=kind, severity=severity, device_id=ev.device_id,
                                   message=f"door {body.door} at {ev.device_id}: {body.action.value}",
                                   details={"event_id": ev.event_id, "device_ts": ev.device_ts.isoformat()})

    def on_alarm_event(self, ev: StoredEvent, body: AlarmEvent) -> None:
        self.ctx.alerts.raise_(kind=f"alarm_{body.code}"[:48], severity=body.severity, device_id=ev.device_id,
                               message=body.message or body.code, details={"event_id": ev.event_id, **body.details})

    def on_device_refusal(self, refused: DeviceRefusal) -> None:
        """A device claimed another kind or sent what its kind may not (a print box asking for the
        face gallery): a compromised or misconfigured device, for an admin to look at. One open
        alert per device and cause; repeats bump its count."""
        severity = "critical" if refused.code == "kind_change" else "warning"
        self.ctx.alerts.raise_(kind=f"device_{refused.code}"[:48], severity=severity, device_id=refused.device_id,
                    message=f"{refused.device_id} ({refused.kind}) refused: {refused.message}",
                    details={"what": refused.what, "kind": refused.kind},
                    dedupe_key=f"device_{refused.code}:{refused.device_id}:{refused.what}")
