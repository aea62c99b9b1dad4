"""User accounts (admin): create logins for operators and employees."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from hub.api.deps import AdminUser, SessionDep
from hub.auth.passwords import hash_password
from hub.auth.tokens import Role
from hub.db.models.core import User
from hub.services.audit import audit

router = APIRouter(prefix="/api/v1/users", tags=["users"])


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=2, max_length=128, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=8, max_length=256)
    role: Role
    full_name: str = Field(default="", max_length=200)
    employee_id: int | None = None


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    role: Role
    full_name: str
    employee_id: int | None
    active: bool
    created_at: datetime


@router.get("", response_model=list[UserPublic])
def list_users(_: AdminUser, db: SessionDep) -> list[User]:
    return list(db.execute(select(User).order_by(User.id)).scalars())


@router.post("", response_model=UserPublic, status_code=status.HTTP_201_CREATED)
def create_user(admin: AdminUser, db: SessionDep, body: UserCreate) -> User:
    if db.execute(select(User.id).where(User.username == body.username)).first():
        raise HTTPException(status.HTTP_409_CONFLICT, f"user {body.username!r} already exists")
    user = User(username=body.username, password_hash=hash_password(body.password), role=body.role.value,
                full_name=body.full_name, employee_id=body.employee_id, active=True)
    db.add(user)
    db.flush()
    audit(db, actor=admin.username, action="user.create", target_type="user", target_id=str(user.id),
          detail={"username": user.username, "role": user.role})
    db.commit()
    return user
