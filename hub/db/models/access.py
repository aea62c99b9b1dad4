"""Door access: groups of employees allowed at some doors during a weekly schedule."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base, JSONType


class AccessGroup(Base):
    __tablename__ = "access_groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    doors: Mapped[list[str]] = mapped_column(JSONType, default=list)  # door terminal device ids
    # [{"days": [0..6], "start": "HH:MM", "end": "HH:MM"}]; empty = any time.
    schedule: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    tz: Mapped[str] = mapped_column(String(64), default="UTC")


class AccessGroupMember(Base):
    __tablename__ = "access_group_members"

    group_id: Mapped[int] = mapped_column(ForeignKey("access_groups.id", ondelete="CASCADE"), primary_key=True)
    employee_id: Mapped[int] = mapped_column(Integer, primary_key=True, index=True)
