"""``/api/v1/print``: submit (streamed multipart), list, show with history, cancel; PIN, quotas,
release stations, release by face, alerts. Employees see only their own jobs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, UploadFile
from pydantic import ValidationError
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from hub.api.deps import AdminUser, CurrentUser, OperatorUser, PrintDep, RuntimeDep, SessionDep
from hub.api.schemas.printing import (
    DepartmentUpdate,
    FaceReleaseResult,
    HistoryPublic,
    PinUpdate,
    PrintAlertPublic,
    PrintJobCreate,
    PrintJobPage,
    PrintJobPublic,
    PrintUsage,
    QuotaUpdate,
    StationUpdate,
)
from hub.api.schemas.types import Line
from hub.auth.tokens import Principal, Role
from hub.db.models.printing import PrintJob, PrintProfile, PrintQuota
from hub.db.session import transaction
from hub.domain.print_quota import period_of
from hub.services.printing import quota
from hub.services.printing.alerts import list_print_alerts
from hub.services.printing.face_release import release_by_face
from hub.services.printing.jobs import JobRequest, owner_key
from hub.services.printing.setup import PrintFeature
from hub.services.printing.upload import receive_upload
from protocol.bodies_print import PrintOptionsBody

router = APIRouter(prefix="/api/v1/print", tags=["print"])


def _may_release(viewer: Principal, job: PrintJob) -> bool:
    """The QR release code prints the job for whoever shows it: its owner and admins only (not operators)."""
    return job.owner_key == owner_key(viewer) or viewer.at_least(Role.ADMIN)


def _public(feature: PrintFeature, job: PrintJob, *, viewer: Principal, history: bool = False) -> PrintJobPublic:
    printer = f"{job.box_id}/{job.queue}" if job.box_id and job.queue else job.requested_printer
    out = PrintJobPublic(id=job.id, state=job.state, reason=job.reason, owner=job.owner_key, filename=job.filename,
                         pages=job.doc_pages, pages_planned=job.pages_planned, pages_charged=job.pages_charged,
                         pages_printed=job.pages_printed, options=job.options, printer=printer, hold=job.hold,
                         cups_job_id=job.cups_job_id, error_code=job.error_code, created_at=job.created_at,
                         updated_at=job.updated_at, finished_at=job.finished_at,
                         release_code=feature.release.qr_code(job.id)
                         if job.state == "held" and _may_release(viewer, job) else None)
    if history:
        out.history = [HistoryPublic(at=h.at, from_state=h.from_state, to_state=h.to_state, event=h.event,
                                     reason=h.reason, details=h.details) for h in feature.jobs.history(job.id)]
    return out


def _own_job(feature: PrintFeature, user: Principal, job_id: str) -> PrintJob:
    job = feature.jobs.get(job_id)
    # Someone else's job answers exactly like a missing one: ids are not confirmed to outsiders.
    if job is None or (not user.at_least(Role.OPERATOR) and job.owner_key != owner_key(user)):
        raise HTTPException(404, f"no print job {job_id}")
    return job


@router.post("/jobs", status_code=201, response_model=PrintJobPublic,
             openapi_extra={"requestBody": {"content": {"multipart/form-data": {"schema": {
                 "type": "object", "required": ["file"], "properties": {
                     "file": {"type": "string", "format": "binary"}, "printer": {"type": "string"},
                     "copies": {"type": "integer"}, "duplex": {"type": "boolean"}, "color": {"type": "boolean"},
                     "page_ranges": {"type": "string"}, "media": {"type": "string"},
                     "hold": {"type": "boolean"}}}}}}})
async def submit_job(request: Request, rt: RuntimeDep, user: CurrentUser, feature: PrintDep) -> PrintJobPublic:
    length = request.headers.get("content-length")
    upload = await receive_upload(content_type=request.headers.get("content-type", ""), body=request.stream(),
                                  tmp_dir=feature.jobs.tmp,
                                  max_bytes=int(rt.settings.print_max_upload_mb * 1024 * 1024),
                                  content_length=int(length) if length and length.isdigit() else None)
    try:
        try:
            form = PrintJobCreate.model_validate(upload.fields)
        except ValidationError as exc:
            msg = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise HTTPException(422, msg) from exc
        req = JobRequest(printer=form.printer, hold=form.hold, options=PrintOptionsBody(
            copies=form.copies, duplex=form.duplex, color=form.color, page_ranges=form.page_ranges, media=form.media))
        job = await run_in_threadpool(feature.jobs.submit, principal=user, upload=upload, req=req)
    finally:
        await run_in_threadpool(upload.discard)
    return _public(feature, job, viewer=user)


@router.get("/jobs", response_model=PrintJobPage)
def list_jobs(session: SessionDep, user: CurrentUser, feature: PrintDep, state: Line | None = None,
              limit: Annotated[int, Query(ge=1, le=500)] = 100) -> PrintJobPage:
    q = select(PrintJob).order_by(PrintJob.created_at.desc()).limit(max(1, min(limit, 500)))
    if not user.at_least(Role.OPERATOR):
        q = q.where(PrintJob.owner_key == owner_key(user))
    if state:
        q = q.where(PrintJob.state == state)
    return PrintJobPage(items=[_public(feature, j, viewer=user) for j in session.execute(q).scalars()])


@router.get("/jobs/{job_id}", response_model=PrintJobPublic)
def get_job(job_id: Line, user: CurrentUser, feature: PrintDep) -> PrintJobPublic:
    return _public(feature, _own_job(feature, user, job_id), viewer=user, history=True)


@router.delete("/jobs/{job_id}", response_model=PrintJobPublic)
def cancel_job(job_id: Line, user: CurrentUser, feature: PrintDep) -> PrintJobPublic:
    _own_job(feature, user, job_id)
    job = feature.jobs.cancel(job_id, by=user.username)
    return _public(feature, job, viewer=user)


@router.put("/pin", status_code=204)
def set_pin(body: PinUpdate, user: CurrentUser, feature: PrintDep) -> None:
    if body.owner is not None and not user.at_least(Role.ADMIN):
        raise HTTPException(403, "only admins set another person's PIN")
    feature.release.pins.set_pin(owner_key=body.owner or owner_key(user), pin=body.pin, actor=user.username)


@router.get("/usage", response_model=PrintUsage)
def my_usage(session: SessionDep, user: CurrentUser) -> dict[str, object]:
    from datetime import datetime

    key = owner_key(user)
    return quota.usage(session, owner_key=key, department=quota.department_of(session, key, user.employee_id),
                       period=period_of(datetime.now().astimezone()))


@router.put("/quotas", status_code=204)
def set_quota(body: QuotaUpdate, rt: RuntimeDep, _: AdminUser) -> None:
    with transaction(rt.sessions) as session:
        row = session.get(PrintQuota, (body.scope, body.key)) or PrintQuota(scope=body.scope, key=body.key)
        row.monthly_pages = body.monthly_pages
        session.add(row)


@router.put("/departments", status_code=204)
def set_department(body: DepartmentUpdate, rt: RuntimeDep, _: AdminUser) -> None:
    with transaction(rt.sessions) as session:
        row = session.get(PrintProfile, body.owner) or PrintProfile(owner_key=body.owner)
        row.department = body.department
        session.add(row)


@router.put("/release-stations/{terminal_id}", status_code=204)
def set_station(terminal_id: Line, body: StationUpdate, _: AdminUser, feature: PrintDep) -> None:
    feature.release.set_station(terminal_id=terminal_id, box_id=body.box_id, queue=body.queue)


@router.post("/release-stations/{terminal_id}/face", response_model=FaceReleaseResult)
async def release_face(terminal_id: Line, photo: UploadFile, rt: RuntimeDep, _: OperatorUser,
                       feature: PrintDep) -> dict[str, Any]:
    """A release station's camera frame: whoever it recognises gets their held jobs printed here."""
    data = await photo.read(8 * 1024 * 1024 + 1)
    if len(data) > 8 * 1024 * 1024:
        raise HTTPException(413, "the photo is larger than 8 MB")
    return await run_in_threadpool(release_by_face, rt.services, feature.release, terminal_id=terminal_id,
                                   image=data)


@router.get("/alerts", response_model=list[PrintAlertPublic])
def list_alerts(session: SessionDep, _: OperatorUser,
                limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:
    """Printer faults and failed/stuck jobs (the print slice of ``/api/v1/alerts``)."""
    return list_print_alerts(session, limit=limit)
