"""print: drop print_alerts (print alerts live in the fleet feature's shared alert store)

Revision ID: 0007_print_drop_print_alerts
Revises: 0005_print_pin_subject
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import hub.db.base

revision: str = "0007_print_drop_print_alerts"
down_revision: str | Sequence[str] | None = "0005_print_pin_subject"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index(op.f('ix_print_alerts_code'), table_name='print_alerts')
    op.drop_index(op.f('ix_print_alerts_box_id'), table_name='print_alerts')
    op.drop_index(op.f('ix_print_alerts_at'), table_name='print_alerts')
    op.drop_table('print_alerts')


def downgrade() -> None:
    op.create_table('print_alerts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('at', hub.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('box_id', sa.String(length=64), nullable=True),
    sa.Column('queue', sa.String(length=127), nullable=True),
    sa.Column('job_id', sa.String(length=32), nullable=True),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_print_alerts'))
    )
    op.create_index(op.f('ix_print_alerts_at'), 'print_alerts', ['at'], unique=False)
    op.create_index(op.f('ix_print_alerts_box_id'), 'print_alerts', ['box_id'], unique=False)
    op.create_index(op.f('ix_print_alerts_code'), 'print_alerts', ['code'], unique=False)
