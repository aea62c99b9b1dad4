"""face: drop door_alerts (door and punch alerts live in the fleet feature's shared alert store)

Revision ID: 0006_face_drop_door_alerts
Revises: 0002_face
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import hub.db.base

revision: str = "0006_face_drop_door_alerts"
down_revision: str | Sequence[str] | None = "0002_face"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index(op.f('ix_door_alerts_kind'), table_name='door_alerts')
    op.drop_index(op.f('ix_door_alerts_device_id'), table_name='door_alerts')
    op.drop_index(op.f('ix_door_alerts_at'), table_name='door_alerts')
    op.drop_table('door_alerts')


def downgrade() -> None:
    op.create_table('door_alerts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('at', hub.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=48), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=True),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('source_key', sa.String(length=160), nullable=True),
    sa.Column('acknowledged', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_door_alerts')),
    sa.UniqueConstraint('source_key', name=op.f('uq_door_alerts_source_key'))
    )
    op.create_index(op.f('ix_door_alerts_at'), 'door_alerts', ['at'], unique=False)
    op.create_index(op.f('ix_door_alerts_device_id'), 'door_alerts', ['device_id'], unique=False)
    op.create_index(op.f('ix_door_alerts_kind'), 'door_alerts', ['kind'], unique=False)
