"""Typed dependency aliases for routes: the runtime, a DB session, the caller, role checks, and each
feature's service (``FaceDep``, ``PrintDep``, ``FleetDep``, ``WebhooksDep``; 503 when it is not set up)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, TypeVar

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from hub.auth.tokens import Principal, Role, TokenError, read_access_token
from hub.db.models.core import User
from hub.runtime import HubRuntime
from hub.services.auth_audit import TOKEN_REJECTED, note_denied
from hub.services.face.service import FACE, FaceService
from hub.services.fleet.setup import FLEET, Fleet
from hub.services.fleet.webhooks import WEBHOOKS, WebhookDispatcher
from hub.services.keys import FeatureMissing, ServiceKey
from hub.services.printing.setup import PRINT, PrintFeature

T = TypeVar("T")

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_runtime(request: Request) -> HubRuntime:
    rt: HubRuntime = request.app.state.runtime
    return rt


RuntimeDep = Annotated[HubRuntime, Depends(get_runtime)]


def get_db(rt: RuntimeDep) -> Iterator[Session]:
    with rt.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_db)]


def feature_service(rt: HubRuntime, key: ServiceKey[T]) -> T:
    """The service under ``key``; a 503 (not a 500) when its feature is not set up on this hub."""
    try:
        return rt.services.get(key)
    except FeatureMissing as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from exc


def get_face(rt: RuntimeDep) -> FaceService:
    return feature_service(rt, FACE)


def get_print(rt: RuntimeDep) -> PrintFeature:
    return feature_service(rt, PRINT)


def get_fleet(rt: RuntimeDep) -> Fleet:
    return feature_service(rt, FLEET)


def get_webhooks(rt: RuntimeDep) -> WebhookDispatcher:
    return feature_service(rt, WEBHOOKS)


FaceDep = Annotated[FaceService, Depends(get_face)]
PrintDep = Annotated[PrintFeature, Depends(get_print)]
FleetDep = Annotated[Fleet, Depends(get_fleet)]
WebhooksDep = Annotated[WebhookDispatcher, Depends(get_webhooks)]


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"})


def authenticate(rt: HubRuntime, request: Request, token: str | None) -> Principal:
    """The caller behind ``token``: signed, unexpired, and its user still active at the same token
    version (checked on every request, so revocation and disabling take effect at once). The role
    and employee link come from the database, not from the token."""
    if not token:
        raise _unauthorized("not authenticated: send a bearer token")
    source = request.client.host if request.client else None
    try:
        claims = read_access_token(token, secret=rt.settings.secret())
    except TokenError as exc:
        note_denied(rt.services, action=TOKEN_REJECTED, source=source, reason=str(exc))
        raise _unauthorized(str(exc)) from exc
    with rt.sessions() as session:
        user = session.get(User, claims.principal.user_id)
        reason = ("unknown user" if user is None else "user disabled" if not user.active
                  else "token revoked" if user.token_version != claims.version else None)
        if user is None or reason is not None:
            note_denied(rt.services, action=TOKEN_REJECTED, source=source, reason=reason or "unknown user",
                        username=claims.principal.username)
            raise _unauthorized("this token is no longer valid (revoked, or the account is disabled): "
                                "sign in again")
        return Principal(user.id, user.username, Role(user.role), user.employee_id)


def get_principal(rt: RuntimeDep, request: Request, token: Annotated[str | None, Depends(oauth2)]) -> Principal:
    return authenticate(rt, request, token)


def stream_token(request: Request) -> str | None:
    """The bearer token of a live-stream request. EventSource (SSE) cannot set headers, so the stream
    alone also takes ``?access_token=``. Nowhere else: a token in a URL ends up in logs and history."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value:
        return value
    return request.query_params.get("access_token")


def get_stream_principal(rt: RuntimeDep, request: Request) -> Principal:
    return authenticate(rt, request, stream_token(request))


CurrentUser = Annotated[Principal, Depends(get_principal)]
StreamUser = Annotated[Principal, Depends(get_stream_principal)]


def require(role: Role) -> object:
    def check(user: CurrentUser) -> Principal:
        if not user.at_least(role):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this needs the {role.value} role")
        return user

    return Depends(check)


def require_employee_link(user: CurrentUser) -> Principal:
    # A dependency (not a check in the handler) so an unlinked login gets its 403 before any
    # validation of the request body.
    if user.employee_id is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this is for logins linked to an employee")
    return user


LinkedUser = Annotated[Principal, Depends(require_employee_link)]
AdminUser = Annotated[Principal, require(Role.ADMIN)]
OperatorUser = Annotated[Principal, require(Role.OPERATOR)]
