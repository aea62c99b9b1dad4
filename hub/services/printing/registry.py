"""Printer registry: each print box's CUPS queues, from the state the box reports.

Boxes publish ``state.live.printers`` (retained); the ingest stores it on the device row. A timer
folds it into ``printers`` rows, raises an alert when a queue enters a fault and resolves it
when the queue recovers (``hub.services.printing.alerts``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.db.models.core import Device
from hub.db.models.printing import Printer
from hub.db.session import SessionFactory, transaction
from hub.domain.print_jobs import printer_fault
from hub.services.alerts import Alerts
from hub.services.printing import alerts as print_alerts
from hub.services.printing.alerts import PendingAlert, raise_pending, resolve_printer

_MESSAGES = {
    "printer_offline": "printer is offline or unreachable", "printer_paper_out": "printer is out of paper",
    "printer_jam": "paper jam", "printer_door_open": "printer door or cover is open",
    "printer_toner_empty": "toner or ink is empty", "printer_queue_paused": "the print queue is paused",
    "printer_stopped": "the printer is stopped",
}


def _reported(dev: Device) -> list[dict[str, Any]]:
    live = (dev.reported_state or {}).get("live") or {}
    printers = live.get("printers") if isinstance(live, dict) else None
    return [p for p in printers or [] if isinstance(p, dict) and isinstance(p.get("name"), str)]


def sync_printers(*, sessions: SessionFactory, alerts: Alerts) -> None:
    """Fold each box's reported queues into ``printers``; alert when a queue enters or leaves a fault."""
    now = datetime.now(UTC)
    raised: list[tuple[tuple[str, str], str | None, PendingAlert]] = []
    cleared: list[tuple[str, str]] = []
    with transaction(sessions) as session:
        devices = session.execute(select(Device).where(Device.kind == "print_box")).scalars().all()
        rows = {(p.box_id, p.queue): p for p in session.execute(select(Printer)).scalars()}
        seen: set[tuple[str, str]] = set()
        for dev in devices:
            for rep in _reported(dev):
                key = (dev.id, rep["name"])
                seen.add(key)
                row = rows.get(key)
                if row is None:
                    row = Printer(box_id=dev.id, queue=rep["name"], alert=None)
                    session.add(row)
                    rows[key] = row
                previous = row.alert
                pending = _update(row, rep, now)
                if pending is not None:
                    raised.append((key, previous, pending))
                elif previous is not None and row.alert is None:
                    cleared.append(key)
        for key, row in rows.items():
            if key not in seen and row.present:
                row.present = False
                row.updated_at = now
    # After the commit (raising opens its own transaction); a failed raise is retried next tick.
    failed = {a.dedupe_key for a in raise_pending(alerts, [a for _, _, a in raised])}
    for key, previous, a in raised:
        if a.dedupe_key in failed:
            _forget(sessions, key, previous)
    for box_id, queue in cleared:
        resolve_printer(alerts, box_id=box_id, queue=queue)


def _forget(sessions: SessionFactory, key: tuple[str, str], previous: str | None) -> None:
    with transaction(sessions) as session:
        row = session.get(Printer, key)
        if row is not None:
            row.alert = previous


def _update(row: Printer, rep: dict[str, Any], now: datetime) -> PendingAlert | None:
    """Copy a reported queue onto its row; the alert to raise when it entered (or changed) a fault."""
    state = str(rep.get("state") or "idle")
    reasons = [str(r) for r in rep.get("reasons") or [] if str(r) != "none"]
    fields = {"make_model": str(rep.get("make_model") or ""), "state": state, "reasons": reasons,
              "accepting": bool(rep.get("accepting", True)), "message": str(rep.get("message") or ""),
              "supplies": list(rep.get("supplies") or []), "present": True}
    changed = any(getattr(row, k) != v for k, v in fields.items())
    for k, v in fields.items():
        setattr(row, k, v)
    decision = printer_fault(printer_state="stopped" if state in ("stopped", "error") else state,
                             reasons=reasons)
    pending = None
    if decision.alert != row.alert:
        if decision.alert is not None:
            pending = print_alerts.printer_fault(
                box_id=row.box_id, queue=row.queue, code=decision.alert,
                message=f"{row.queue} on {row.box_id}: {_MESSAGES.get(decision.alert, decision.alert)}"
                        f"{' (' + row.message + ')' if row.message else ''}; jobs wait until it is fixed",
                details={"reasons": list(decision.reasons), "state": state})
        row.alert = decision.alert
        changed = True
    if changed:
        row.updated_at = now
    return pending


def printer_public(p: Printer, online: bool) -> dict[str, Any]:
    return {"id": f"{p.box_id}/{p.queue}", "box_id": p.box_id, "queue": p.queue, "make_model": p.make_model,
            "state": p.state, "reasons": p.reasons, "accepting": p.accepting, "message": p.message,
            "supplies": p.supplies, "alert": p.alert, "online": online, "updated_at": p.updated_at}


def available(session: Session, *, box_id: str | None = None, queue: str | None = None) -> list[Printer]:
    """Printers still reported by their box, best first (online, accepting, healthy)."""
    q = select(Printer, Device.online).join(Device, Device.id == Printer.box_id).where(Printer.present.is_(True))
    if box_id:
        q = q.where(Printer.box_id == box_id)
    if queue:
        q = q.where(Printer.queue == queue)
    rows = list(session.execute(q).all())
    rows.sort(key=lambda r: (not r[1], not r[0].accepting, r[0].alert is not None, r[0].box_id, r[0].queue))
    return [r[0] for r in rows]
