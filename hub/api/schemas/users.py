"""User account and sign-in schemas (never a password hash or a token version)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from hub.api.schemas.types import Id, Line, Text
from hub.auth.tokens import Role

_PASSWORD = Field(min_length=8, max_length=256)


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=2, max_length=128, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: Text = _PASSWORD
    role: Role
    full_name: Line = Field(default="", max_length=200)
    employee_id: Id | None = None


class UserUpdate(BaseModel):
    """Admin changes; a role change or ``active: false`` ends the user's sessions."""

    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    active: bool | None = None
    full_name: Line | None = Field(default=None, max_length=200)


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    role: Role
    full_name: str
    employee_id: int | None
    active: bool
    created_at: datetime


class PasswordReset(BaseModel):
    """An admin sets a user's password (their sessions end)."""

    model_config = ConfigDict(extra="forbid")

    password: Text = _PASSWORD


class PasswordChange(BaseModel):
    """A user changes their own password; their other sessions end."""

    model_config = ConfigDict(extra="forbid")

    current_password: Text = Field(min_length=1, max_length=256)
    new_password: Text = _PASSWORD


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
