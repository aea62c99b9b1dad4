"""print: PINs are no longer unique and are stored salted (``print_profiles.pin_hash``)

A PIN is now typed with an employee number, so it need not be unique (the unique constraint told
whoever chose a PIN that someone else had it). The column grows for the salted scrypt format;
existing keyed hashes stay valid and are replaced at their owner's next release.

Downgrade: the salted hashes cannot be read by earlier versions and are cleared (those employees
set their PIN again); legacy hashes are kept.

Revision ID: 0010_print_pins_per_employee
Revises: 0007_print_drop_print_alerts
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_print_pins_per_employee"
down_revision: str | Sequence[str] | None = "0007_print_drop_print_alerts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("print_profiles") as batch:
        batch.drop_constraint("uq_print_profiles_pin_hash", type_="unique")
        batch.alter_column("pin_hash", existing_type=sa.String(length=64), type_=sa.String(length=160),
                           existing_nullable=True)


def downgrade() -> None:
    profiles = sa.table("print_profiles", sa.column("pin_hash", sa.String))
    op.execute(profiles.update().where(profiles.c.pin_hash.like("pin-scrypt$%")).values(pin_hash=None))
    with op.batch_alter_table("print_profiles") as batch:
        batch.alter_column("pin_hash", existing_type=sa.String(length=160), type_=sa.String(length=64),
                           existing_nullable=True)
        batch.create_unique_constraint("uq_print_profiles_pin_hash", ["pin_hash"])
