"""Employees: CRUD and search, face enrolment, right to erasure."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, HTTPException, Query, UploadFile, status
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from hub.api.deps import AdminUser, CurrentUser, FaceDep, OperatorUser, RuntimeDep, SessionDep
from hub.api.schemas.common import Page
from hub.api.schemas.people import (
    EmployeeCreate,
    EmployeePublic,
    EmployeeUpdate,
    EnrolResponse,
    ErasureStatus,
    FaceTemplatePublic,
)
from hub.api.schemas.types import Id, Line, NonNegInt
from hub.auth.tokens import Role
from hub.db.models.attendance import ShiftRow
from hub.db.models.people import Employee, FaceTemplate
from hub.services.audit import audit
from hub.services.face.enrolment import MAX_PHOTOS, enrol
from hub.services.face.erasure import erase_employee, erasure_status
from hub.services.face.sync import notify_edge_terminals

router = APIRouter(prefix="/api/v1/employees", tags=["employees"])

MAX_PHOTO_BYTES = 15 * 1024 * 1024


def _public(db: SessionDep, emp: Employee) -> EmployeePublic:
    n = db.execute(select(func.count()).select_from(FaceTemplate).where(FaceTemplate.employee_id == emp.id)
                   ).scalar_one()
    out = EmployeePublic.model_validate(emp)
    out.templates = int(n)
    return out


def _get(db: SessionDep, employee_id: int) -> Employee:
    emp = db.get(Employee, employee_id)
    if emp is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no employee {employee_id}")
    return emp


@router.get("", response_model=Page[EmployeePublic])
def list_employees(
    _: OperatorUser, db: SessionDep,
    q: Annotated[Line | None, Query(max_length=100, description="substring of name, number or email")] = None,
    department: Line | None = None, active: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100, offset: NonNegInt = 0,
) -> Page[EmployeePublic]:
    stmt = select(Employee)
    if q:
        like = f"%{q}%"
        stmt = stmt.where(or_(Employee.name.ilike(like), Employee.employee_no.ilike(like),
                              Employee.email.ilike(like)))
    if department:
        stmt = stmt.where(Employee.department == department)
    if active is not None:
        stmt = stmt.where(Employee.active.is_(active))
    total = db.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = db.execute(stmt.order_by(Employee.id).limit(limit).offset(offset)).scalars().all()
    return Page[EmployeePublic](items=[_public(db, r) for r in rows], total=total, limit=limit, offset=offset)


def _check_shift(db: SessionDep, shift_id: int | None) -> None:
    if shift_id is not None and db.get(ShiftRow, shift_id) is None:
        raise HTTPException(422, f"shift_id: no shift {shift_id}")


@router.post("", response_model=EmployeePublic, status_code=status.HTTP_201_CREATED)
def create_employee(admin: AdminUser, db: SessionDep, body: EmployeeCreate) -> EmployeePublic:
    _check_shift(db, body.shift_id)
    emp = Employee(**body.model_dump())
    db.add(emp)
    try:
        db.flush()
    except IntegrityError as exc:
        db.rollback()
        raise HTTPException(status.HTTP_409_CONFLICT, f"employee number {body.employee_no!r} exists") from exc
    audit(db, actor=admin.username, action="employee.create", target_type="employee", target_id=str(emp.id),
          detail={"employee_no": emp.employee_no})
    db.commit()
    return _public(db, emp)


@router.get("/{employee_id}", response_model=EmployeePublic)
def get_employee(user: CurrentUser, db: SessionDep, employee_id: Id) -> EmployeePublic:
    if user.role is Role.EMPLOYEE and user.employee_id != employee_id:
        # Someone else's record answers exactly like a missing one (ids are not confirmed to employees).
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no employee {employee_id}")
    return _public(db, _get(db, employee_id))


@router.patch("/{employee_id}", response_model=EmployeePublic)
def update_employee(admin: AdminUser, db: SessionDep, employee_id: Id, body: EmployeeUpdate) -> EmployeePublic:
    emp = _get(db, employee_id)
    changes = body.model_dump(exclude_unset=True)
    _check_shift(db, changes.get("shift_id"))
    for k, v in changes.items():
        setattr(emp, k, v)
    audit(db, actor=admin.username, action="employee.update", target_type="employee", target_id=str(emp.id),
          detail={"fields": sorted(changes)})
    db.commit()
    return _public(db, emp)


@router.post("/{employee_id}/faces", response_model=EnrolResponse, status_code=status.HTTP_201_CREATED)
def enrol_faces(admin: AdminUser, face: FaceDep, rt: RuntimeDep, db: SessionDep, employee_id: Id,
                file: Annotated[list[UploadFile], File(description=f"1-{MAX_PHOTOS} photos, one face each")],
                ) -> EnrolResponse:
    if len(file) > MAX_PHOTOS:
        raise HTTPException(422, f"photo_count: send 1 to {MAX_PHOTOS} photos, got {len(file)}")
    photos = []
    for i, upload in enumerate(file):
        data = upload.file.read(MAX_PHOTO_BYTES + 1)
        if len(data) > MAX_PHOTO_BYTES:
            raise HTTPException(413, f"photo {i + 1}: too_large: more than {MAX_PHOTO_BYTES} bytes")
        photos.append(data)
    result = enrol(sessions=rt.sessions, engine=face.engine, gallery=face.gallery, employee_id=employee_id,
                   photos=photos, actor=admin.username, photo_dir=face.photo_dir)
    notify_edge_terminals(face, rt.commands, version=face.gallery.version)
    return EnrolResponse(employee_id=employee_id, template_ids=result.template_ids, face_px=result.face_px,
                         gallery_version=face.gallery.version)


@router.get("/{employee_id}/faces", response_model=list[FaceTemplatePublic])
def list_faces(admin: AdminUser, db: SessionDep, employee_id: Id) -> list[FaceTemplatePublic]:
    _get(db, employee_id)
    rows = db.execute(select(FaceTemplate).where(FaceTemplate.employee_id == employee_id)
                      .order_by(FaceTemplate.created_at)).scalars().all()
    audit(db, actor=admin.username, action="face.view", target_type="employee", target_id=str(employee_id),
          detail={"templates": len(rows)})
    db.commit()
    return [FaceTemplatePublic(id=r.id, model_id=r.model_id, face_px=r.face_px, blur=r.blur,
                               created_at=r.created_at, created_by=r.created_by, photo_kept=bool(r.photo_path))
            for r in rows]


@router.delete("/{employee_id}", response_model=ErasureStatus, status_code=status.HTTP_202_ACCEPTED)
def erase(admin: AdminUser, face: FaceDep, rt: RuntimeDep, employee_id: Id) -> dict[str, Any]:
    """Right to erasure: templates, photos and snapshots are deleted on the hub now; every door
    terminal is told to delete them too (see ``GET /{id}/erasure`` for their acks)."""
    return erase_employee(face, rt.commands, employee_id=employee_id, actor=admin.username)


@router.get("/{employee_id}/erasure", response_model=ErasureStatus)
def get_erasure(_: AdminUser, face: FaceDep, employee_id: Id) -> dict[str, Any]:
    return erasure_status(face, employee_id=employee_id)
