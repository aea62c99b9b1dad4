"""OAuth2 password flow: username + password → bearer token with the user's role; a user changes
their own password. Sign-ins are throttled per username and per address (``hub.auth.throttle``)."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy import select

from hub.api.deps import CurrentUser, RuntimeDep, SessionDep
from hub.api.schemas.users import Me, PasswordChange, Token
from hub.auth.passwords import verify_password_or_dummy
from hub.auth.tokens import Principal, Role, issue_access_token
from hub.db.models.core import User
from hub.runtime import HubRuntime
from hub.services.auth_audit import LOGIN_FAILED, LOGIN_THROTTLED, note_denied
from hub.services.login_throttle import login_throttle
from hub.services.users import change_own_password

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


def _source(request: Request) -> str | None:
    return request.client.host if request.client else None


def _token(rt: HubRuntime, user: User) -> Token:
    principal = Principal(user.id, user.username, Role(user.role), user.employee_id)
    ttl = rt.settings.token_ttl_s
    return Token(access_token=issue_access_token(principal, secret=rt.settings.secret(), ttl_s=ttl,
                                                 version=user.token_version),
                 role=principal.role, expires_in=ttl)


def _check_throttle(rt: HubRuntime, *, username: str, source: str | None) -> None:
    refused = login_throttle(rt.services).refusal(username=username, address=source)
    if refused is not None:
        why, wait = refused
        note_denied(rt.services, action=LOGIN_THROTTLED, source=source, reason=why, username=username)
        retry = max(1, math.ceil(wait))
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, f"{why}: try again in {retry} s",
                            headers={"Retry-After": str(retry)})


@router.post("/token", response_model=Token, responses={429: {"description": "too many failed sign-ins"}})
def login(rt: RuntimeDep, db: SessionDep, request: Request,
          form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    source = _source(request)
    # A locked-out name or address gets no password check at all (no guessing while locked).
    _check_throttle(rt, username=form.username, source=source)
    user = db.execute(select(User).where(User.username == form.username)).scalar_one_or_none()
    # Exactly one scrypt verification in every case (a dummy hash for unknown names, and disabled
    # users are checked too), so the time to answer does not tell which names exist.
    password_ok = verify_password_or_dummy(form.password, user.password_hash if user else None)
    refusal = ("unknown user" if user is None else "inactive user" if not user.active
               else None if password_ok else "wrong password")
    if user is None or refusal is not None:
        login_throttle(rt.services).failed(username=form.username, address=source)
        # The answer stays the same for every case (no user enumeration); the audit entry says which.
        note_denied(rt.services, action=LOGIN_FAILED, source=source, reason=refusal or "unknown user",
                    username=form.username)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password",
                            headers={"WWW-Authenticate": "Bearer"})
    login_throttle(rt.services).succeeded(username=form.username)
    return _token(rt, user)


@router.get("/me", response_model=Me)
def me(user: CurrentUser) -> Me:
    return Me(id=user.user_id, username=user.username, role=user.role, employee_id=user.employee_id)


@router.post("/password", response_model=Token, responses={429: {"description": "too many wrong passwords"}})
def change_password(caller: CurrentUser, rt: RuntimeDep, db: SessionDep, request: Request,
                    body: PasswordChange) -> Token:
    """Change your own password (the current one is required). Your other sessions end; the answer
    carries a new token for this one."""
    source = _source(request)
    # Wrong current passwords count like failed sign-ins: a stolen token must not become a way to
    # guess the password behind it.
    _check_throttle(rt, username=caller.username, source=source)
    user = db.get(User, caller.user_id)
    if user is None:  # authenticate() saw it a moment ago; deleted in between
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "this account no longer exists")
    if not change_own_password(db, user=user, current=body.current_password, new=body.new_password):
        login_throttle(rt.services).failed(username=caller.username, address=source)
        note_denied(rt.services, action=LOGIN_FAILED, source=source, reason="wrong current password",
                    username=caller.username)
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "the current password is wrong")
    db.commit()
    login_throttle(rt.services).succeeded(username=caller.username)
    return _token(rt, user)
