"""OAuth2 password flow: username + password → bearer token with the user's role."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel
from sqlalchemy import select

from hub.api.deps import CurrentUser, RuntimeDep, SessionDep
from hub.auth.passwords import verify_password
from hub.auth.tokens import Principal, Role, issue_access_token
from hub.db.models.core import User
from hub.services.auth_audit import LOGIN_FAILED, note_denied

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    role: Role
    expires_in: int


class Me(BaseModel):
    id: int
    username: str
    role: Role
    employee_id: int | None


@router.post("/token", response_model=Token)
def login(rt: RuntimeDep, db: SessionDep, request: Request,
          form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    user = db.execute(select(User).where(User.username == form.username)).scalar_one_or_none()
    refusal = ("unknown user" if user is None else "inactive user" if not user.active
               else None if verify_password(form.password, user.password_hash) else "wrong password")
    if user is None or refusal is not None:
        # The answer stays the same for every case (no user enumeration); the audit entry says which.
        note_denied(rt, action=LOGIN_FAILED, source=request.client.host if request.client else None,
                    reason=refusal or "unknown user", username=form.username)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password",
                            headers={"WWW-Authenticate": "Bearer"})
    principal = Principal(user.id, user.username, Role(user.role), user.employee_id)
    ttl = rt.settings.token_ttl_s
    return Token(access_token=issue_access_token(principal, secret=rt.settings.secret(), ttl_s=ttl),
                 role=principal.role, expires_in=ttl)


@router.get("/me", response_model=Me)
def me(user: CurrentUser) -> Me:
    return Me(id=user.user_id, username=user.username, role=user.role, employee_id=user.employee_id)
