"""Alert creation for the face/door features in one function, delegating to the fleet feature's
shared alert store (stored, deduplicated, pushed on the live feed as ``alert``, sent to webhooks)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hub.runtime import HubRuntime

log = logging.getLogger(__name__)


def raise_alert(rt: HubRuntime, *, kind: str, severity: str, device_id: str | None, message: str,
                data: dict[str, Any] | None = None, source_key: str | None = None) -> None:
    """``source_key`` identifies the cause (e.g. one refused punch), so a redelivered event bumps
    the same alert instead of raising a second one."""
    from hub.services.fleet.alerts import raise_alert as store_alert

    try:
        store_alert(rt, kind=kind, severity=severity, device_id=device_id, message=message, details=data or {},
                    dedupe_key=source_key)
    except Exception:  # an alert must never make the punch handling fail
        log.exception("could not raise %s alert for %s", kind, device_id)
