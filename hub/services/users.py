"""User account changes: role, disable/enable, password reset and change, token revocation.

Every change that should end a user's sessions bumps ``users.token_version``; the API compares it
with the version in the token on each request (``hub.api.deps.authenticate``). Each change writes an
audit entry. The caller commits.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.auth.passwords import hash_password, verify_password
from hub.auth.tokens import Role
from hub.db.models.core import User
from hub.services.audit import audit
from hub.services.errors import ServiceError


class UserChangeRefused(ServiceError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message, status=status)


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise UserChangeRefused(404, f"no user {user_id}")
    return user


def revoke_tokens(user: User) -> None:
    user.token_version = (user.token_version or 0) + 1


def update_user(session: Session, *, user: User, actor: str, role: Role | None = None,
                active: bool | None = None, full_name: str | None = None) -> User:
    """Role change, disable or re-enable (each audited). A role change or a disable revokes the
    user's tokens; the last active admin can be neither demoted nor disabled."""
    new_role = role.value if role is not None else user.role
    new_active = user.active if active is None else active
    if user.role == Role.ADMIN.value and user.active and (new_role != Role.ADMIN.value or not new_active):
        others = session.execute(select(func.count()).select_from(User).where(
            User.role == Role.ADMIN.value, User.active.is_(True), User.id != user.id)).scalar_one()
        if not others:
            raise UserChangeRefused(409, "this is the last active admin: make another admin first")
    if new_role != user.role:
        _audit(session, actor, "user.role_change", user, {"from": user.role, "to": new_role})
        user.role = new_role
        revoke_tokens(user)
    if new_active != user.active:
        _audit(session, actor, "user.enable" if new_active else "user.disable", user, {})
        user.active = new_active
        if not new_active:
            revoke_tokens(user)
    if full_name is not None and full_name != user.full_name:
        _audit(session, actor, "user.update", user, {"full_name": full_name})
        user.full_name = full_name
    return user


def reset_password(session: Session, *, user: User, actor: str, password: str) -> None:
    """An admin sets a new password; the user's sessions end."""
    user.password_hash = hash_password(password)
    revoke_tokens(user)
    _audit(session, actor, "user.password_reset", user, {})


def revoke_user_tokens(session: Session, *, user: User, actor: str) -> None:
    revoke_tokens(user)
    _audit(session, actor, "user.tokens_revoked", user, {})


def change_own_password(session: Session, *, user: User, current: str, new: str) -> bool:
    """False when ``current`` is wrong (nothing changes). Otherwise every token the user holds is
    revoked; the caller hands the user a fresh one for the session that made the change."""
    if not verify_password(current, user.password_hash):
        return False
    user.password_hash = hash_password(new)
    revoke_tokens(user)
    _audit(session, user.username, "user.password_change", user, {})
    return True


def disable_employee_logins(session: Session, *, employee_id: int, actor: str, reason: str) -> list[int]:
    """Disable the logins linked to an employee and revoke their tokens (erasure)."""
    users = list(session.execute(select(User).where(User.employee_id == employee_id)).scalars())
    for user in users:
        if user.active:
            user.active = False
            _audit(session, actor, "user.disable", user, {"reason": reason, "employee_id": employee_id})
        revoke_tokens(user)
    return [u.id for u in users]


def _audit(session: Session, actor: str, action: str, user: User, detail: dict[str, Any]) -> None:
    audit(session, actor=actor, action=action, target_type="user", target_id=str(user.id),
          detail={"username": user.username, **detail})
