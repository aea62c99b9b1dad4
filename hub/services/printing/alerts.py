"""Print alerts go through the hub's one alert store (``hub.services.alerts.Alerts``).

A printer fault is keyed ``printer_error:{box}:{queue}``, the same key the fleet's printer watcher
uses for the state the box reports, so the print registry and the fleet watcher bump one open alert
instead of raising two; the box itself reports faults only as state (no ``alarm`` events), so there
is no third source. Alerts are raised after the caller's transaction committed (``Alerts.raise_``
opens its own), so callers collect ``PendingAlert``s and hand them to ``raise_pending``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.db.models.fleet import Alert
from hub.services.alerts import Alerts

log = logging.getLogger(__name__)

PRINTER_FAULT = "printer_error"
JOB_FAILED = "print_job_failed"
JOB_STUCK = "print_job_stuck"
PRINT_KINDS = (PRINTER_FAULT, JOB_FAILED, JOB_STUCK)


def printer_key(box_id: str, queue: str) -> str:
    """Dedupe key of a printer's fault alert (shared with ``hub.services.fleet.watchers``)."""
    return f"{PRINTER_FAULT}:{box_id}:{queue}"


@dataclass(frozen=True, slots=True)
class PendingAlert:
    kind: str
    message: str
    dedupe_key: str
    box_id: str | None = None
    severity: str = "warning"
    details: dict[str, Any] = field(default_factory=dict)


def printer_fault(*, box_id: str, queue: str, code: str, message: str, details: dict[str, Any]) -> PendingAlert:
    return PendingAlert(kind=PRINTER_FAULT, message=message, dedupe_key=printer_key(box_id, queue), box_id=box_id,
                        details={"code": code, "queue": queue, **details})


def job_alert(*, kind: str, job_id: str, box_id: str | None, queue: str | None, message: str,
              code: str | None = None) -> PendingAlert:
    # One alert per job: a job failure is an event an admin follows up, not a condition that clears.
    return PendingAlert(kind=kind, message=message, dedupe_key=f"{kind}:{job_id}", box_id=box_id,
                        details={"code": code or kind, "queue": queue, "job_id": job_id})


def raise_pending(store: Alerts, alerts: list[PendingAlert]) -> list[PendingAlert]:
    """Raise each alert; returns those that could not be stored (the caller retries them)."""
    failed: list[PendingAlert] = []
    for a in alerts:
        try:
            store.raise_(kind=a.kind, severity=a.severity, device_id=a.box_id, message=a.message,
                        details=a.details, dedupe_key=a.dedupe_key)
        except Exception:
            log.exception("print alert %s could not be stored", a.dedupe_key)
            failed.append(a)
    return failed


def resolve_printer(store: Alerts, *, box_id: str, queue: str) -> None:
    store.resolve_key(printer_key(box_id, queue), by="print:printer-ok")


def alert_public(a: Alert) -> dict[str, Any]:
    """The shape ``GET /api/v1/print/alerts`` has always answered, plus the alert's state and count."""
    details = a.details or {}
    reported = details.get("printer")
    printer: dict[str, Any] = reported if isinstance(reported, dict) else {}
    return {"id": a.id, "at": a.created_at, "last_at": a.last_at, "kind": a.kind,
            "code": str(details.get("code") or a.kind), "severity": a.severity, "box_id": a.device_id,
            # The fleet watcher (same key) stores the reported printer, print stores its queue.
            "queue": details.get("queue") or printer.get("name"), "job_id": details.get("job_id"), "message": a.message,
            "details": details, "state": a.state, "count": a.count}


def list_print_alerts(session: Session, *, limit: int = 100) -> list[dict[str, Any]]:
    rows = session.execute(select(Alert).where(Alert.kind.in_(PRINT_KINDS)).order_by(Alert.id.desc())
                           .limit(max(1, min(limit, 500)))).scalars()
    return [alert_public(a) for a in rows]
