"""print: wrong PINs counted per box and employee number (``print_pin_failures.subject``)

Revision ID: 0005_print_pin_subject
Revises: 0003_print
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_print_pin_subject"
down_revision: str | Sequence[str] | None = "0003_print"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("print_pin_failures") as batch:
        batch.add_column(sa.Column("subject", sa.String(length=80), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("print_pin_failures") as batch:
        batch.drop_column("subject")
