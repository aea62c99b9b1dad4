"""Alembic environment: runs migrations on the URL set by hub.db.migrate."""

from __future__ import annotations

from alembic import context

from hub.db import models  # noqa: F401  (registers every table)
from hub.db.base import Base
from hub.db.session import make_engine

config = context.config
target_metadata = Base.metadata


def run() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run()
