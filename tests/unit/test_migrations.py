"""Migrations and models agree: upgrading an empty database to every head gives exactly the schema
the ORM models declare, and every migration downgrades back to an empty database."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from hub.db import models  # noqa: F401  (registers every table)
from hub.db.base import Base
from hub.db.migrate import alembic_config, upgrade
from hub.db.session import make_engine


def test_upgrade_to_heads_matches_the_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    upgrade(url)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, Base.metadata)
    finally:
        engine.dispose()
    assert diff == [], f"models and migrations differ (write a migration): {diff}"


def test_every_migration_downgrades_to_an_empty_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    upgrade(url)
    command.downgrade(alembic_config(url), "base")
    engine = make_engine(url)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
    upgrade(url)  # and up again
