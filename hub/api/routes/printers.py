"""``/api/v1/printers``: the printer registry built from what print boxes report."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from hub.api.deps import CurrentUser, SessionDep
from hub.api.schemas.printing import PrinterPublic
from hub.db.models.core import Device
from hub.db.models.printing import Printer
from hub.services.printing.registry import printer_public

router = APIRouter(prefix="/api/v1/printers", tags=["print"])


@router.get("", response_model=list[PrinterPublic])
def list_printers(session: SessionDep, _: CurrentUser) -> list[dict[str, object]]:
    rows = session.execute(select(Printer, Device.online).join(Device, Device.id == Printer.box_id)
                           .where(Printer.present.is_(True)).order_by(Printer.box_id, Printer.queue)).all()
    return [printer_public(p, bool(online)) for p, online in rows]
