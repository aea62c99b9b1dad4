"""User accounts (admin): create logins, change role, disable or re-enable, reset a password,
revoke a user's tokens. Every change is audited; see ``hub.services.users``."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response, status
from sqlalchemy import select

from hub.api.deps import AdminUser, SessionDep
from hub.api.schemas.types import Id
from hub.api.schemas.users import PasswordReset, UserCreate, UserPublic, UserUpdate
from hub.auth.passwords import hash_password
from hub.db.models.core import User
from hub.services.audit import audit
from hub.services.users import (
    get_user,
    reset_password,
    revoke_user_tokens,
    update_user,
)

router = APIRouter(prefix="/api/v1/users", tags=["users"])


def _user(db: SessionDep, user_id: int) -> User:
    return get_user(db, user_id)


@router.get("", response_model=list[UserPublic])
def list_users(_: AdminUser, db: SessionDep) -> list[User]:
    return list(db.execute(select(User).order_by(User.id)).scalars())


@router.post("", response_model=UserPublic, status_code=status.HTTP_201_CREATED)
def create_user(admin: AdminUser, db: SessionDep, body: UserCreate) -> User:
    if db.execute(select(User.id).where(User.username == body.username)).first():
        raise HTTPException(status.HTTP_409_CONFLICT, f"user {body.username!r} already exists")
    user = User(username=body.username, password_hash=hash_password(body.password), role=body.role.value,
                full_name=body.full_name, employee_id=body.employee_id, active=True, token_version=0)
    db.add(user)
    db.flush()
    audit(db, actor=admin.username, action="user.create", target_type="user", target_id=str(user.id),
          detail={"username": user.username, "role": user.role})
    db.commit()
    return user


@router.patch("/{user_id}", response_model=UserPublic)
def patch_user(admin: AdminUser, db: SessionDep, user_id: Id, body: UserUpdate) -> User:
    """Change role, disable (``active: false``) or re-enable, rename."""
    user = _user(db, user_id)
    update_user(db, user=user, actor=admin.username, role=body.role, active=body.active, full_name=body.full_name)
    db.commit()
    return user


@router.put("/{user_id}/password", status_code=status.HTTP_204_NO_CONTENT)
def set_password(admin: AdminUser, db: SessionDep, user_id: Id, body: PasswordReset) -> Response:
    reset_password(db, user=_user(db, user_id), actor=admin.username, password=body.password)
    db.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{user_id}/revoke-tokens", response_model=UserPublic)
def revoke(admin: AdminUser, db: SessionDep, user_id: Id) -> User:
    """End every session of the user (their tokens stop working on the next request)."""
    user = _user(db, user_id)
    revoke_user_tokens(db, user=user, actor=admin.username)
    db.commit()
    return user
