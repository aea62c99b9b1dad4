"""Typed dependency aliases for routes: the runtime, a DB session, the caller and role checks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from hub.auth.tokens import Principal, Role, TokenError, read_access_token
from hub.runtime import HubRuntime
from hub.services.auth_audit import TOKEN_REJECTED, note_denied

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_runtime(request: Request) -> HubRuntime:
    rt: HubRuntime = request.app.state.runtime
    return rt


RuntimeDep = Annotated[HubRuntime, Depends(get_runtime)]


def get_db(rt: RuntimeDep) -> Iterator[Session]:
    with rt.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_db)]


def get_principal(rt: RuntimeDep, request: Request, token: Annotated[str | None, Depends(oauth2)]) -> Principal:
    # EventSource (SSE) cannot set headers: accept ?access_token= on GET requests as well.
    token = token or (request.query_params.get("access_token") if request.method == "GET" else None)
    if not token:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "not authenticated: send a bearer token",
                            headers={"WWW-Authenticate": "Bearer"})
    try:
        return read_access_token(token, secret=rt.settings.secret())
    except TokenError as exc:
        note_denied(rt, action=TOKEN_REJECTED, source=request.client.host if request.client else None,
                    reason=str(exc))
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(exc),
                            headers={"WWW-Authenticate": "Bearer"}) from exc


CurrentUser = Annotated[Principal, Depends(get_principal)]


def require(role: Role) -> object:
    def check(user: CurrentUser) -> Principal:
        if not user.at_least(role):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this needs the {role.value} role")
        return user

    return Depends(check)


AdminUser = Annotated[Principal, require(Role.ADMIN)]
OperatorUser = Annotated[Principal, require(Role.OPERATOR)]
