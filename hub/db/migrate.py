"""Alembic entry points: ``officehub db upgrade`` and the hub's start-up upgrade.

Each feature keeps its own migration branch off the foundation revision, so we upgrade to ``heads``.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "heads") -> None:
    command.upgrade(alembic_config(url), revision)


def revision(url: str, message: str, *, head: str = "base", branch_label: str | None = None) -> None:
    """Developer helper: autogenerate a migration (``python -m hub.db.migrate``)."""
    command.revision(alembic_config(url), message=message, autogenerate=True, head=head,
                     branch_label=branch_label)
