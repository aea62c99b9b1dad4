"""face check-in, attendance and door access

Revision ID: 0002_face
Revises: 0001_foundation
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import hub.db.base

revision: str = "0002_face"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = ("face",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('access_groups',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('doors', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('schedule', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('tz', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_groups')),
    sa.UniqueConstraint('name', name=op.f('uq_access_groups_name'))
    )
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
    op.create_table('employees',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('employee_no', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('department', sa.String(length=128), nullable=True),
    sa.Column('location', sa.String(length=128), nullable=True),
    sa.Column('shift_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', hub.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('erased_at', hub.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_employees')),
    sa.UniqueConstraint('employee_no', name=op.f('uq_employees_employee_no'))
    )
    op.create_index(op.f('ix_employees_department'), 'employees', ['department'], unique=False)
    op.create_index(op.f('ix_employees_name'), 'employees', ['name'], unique=False)
    op.create_index(op.f('ix_employees_shift_id'), 'employees', ['shift_id'], unique=False)
    op.create_table('erasure_acks',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('command_id', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('requested_at', hub.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('acked_at', hub.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('detail', sa.String(length=500), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erasure_acks'))
    )
    op.create_index(op.f('ix_erasure_acks_command_id'), 'erasure_acks', ['command_id'], unique=False)
    op.create_index(op.f('ix_erasure_acks_employee_id'), 'erasure_acks', ['employee_id'], unique=False)
    op.create_index('uq_erasure_acks_emp_dev', 'erasure_acks', ['employee_id', 'device_id'], unique=True)
    op.create_table('gallery_changes',
    sa.Column('version', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('op', sa.String(length=8), nullable=False),
    sa.Column('template_id', sa.String(length=32), nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=False),
    sa.Column('at', hub.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('version', name=op.f('pk_gallery_changes'))
    )
    op.create_index(op.f('ix_gallery_changes_employee_id'), 'gallery_changes', ['employee_id'], unique=False)
    op.create_table('holidays',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_holidays')),
    sa.UniqueConstraint('date', name=op.f('uq_holidays_date'))
    )
    op.create_table('missed_punch_requests',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=False),
    sa.Column('ts', hub.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('direction', sa.String(length=4), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('audit', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_missed_punch_requests'))
    )
    op.create_index(op.f('ix_missed_punch_requests_employee_id'), 'missed_punch_requests', ['employee_id'], unique=False)
    op.create_index(op.f('ix_missed_punch_requests_state'), 'missed_punch_requests', ['state'], unique=False)
    op.create_table('office_locations',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('radius_m', sa.Float(), nullable=False),
    sa.Column('created_at', hub.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_office_locations')),
    sa.UniqueConstraint('name', name=op.f('uq_office_locations_name'))
    )
    op.create_table('punch_rejections',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=160), nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('claimed_employee_id', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('at', hub.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_punch_rejections')),
    sa.UniqueConstraint('key', name=op.f('uq_punch_rejections_key'))
    )
    op.create_index(op.f('ix_punch_rejections_device_id'), 'punch_rejections', ['device_id'], unique=False)
    op.create_table('punches',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=160), nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=False),
    sa.Column('ts', hub.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('direction', sa.String(length=4), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=True),
    sa.Column('door', sa.String(length=64), nullable=True),
    sa.Column('mode', sa.String(length=8), nullable=True),
    sa.Column('distance', sa.Float(), nullable=True),
    sa.Column('threshold', sa.Float(), nullable=True),
    sa.Column('model_id', sa.String(length=64), nullable=True),
    sa.Column('recorded_at', hub.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_punches')),
    sa.UniqueConstraint('key', name=op.f('uq_punches_key'))
    )
    op.create_index('ix_punches_emp_ts', 'punches', ['employee_id', 'ts'], unique=False)
    op.create_table('shifts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('start', sa.String(length=5), nullable=False),
    sa.Column('end', sa.String(length=5), nullable=False),
    sa.Column('tz', sa.String(length=64), nullable=False),
    sa.Column('rules', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shifts')),
    sa.UniqueConstraint('name', name=op.f('uq_shifts_name'))
    )
    op.create_table('snapshots',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=True),
    sa.Column('device_id', sa.String(length=64), nullable=True),
    sa.Column('path', sa.String(length=512), nullable=False),
    sa.Column('taken_at', hub.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decision', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_snapshots'))
    )
    op.create_index(op.f('ix_snapshots_employee_id'), 'snapshots', ['employee_id'], unique=False)
    op.create_index(op.f('ix_snapshots_taken_at'), 'snapshots', ['taken_at'], unique=False)
    op.create_table('access_group_members',
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['access_groups.id'], name=op.f('fk_access_group_members_group_id_access_groups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('group_id', 'employee_id', name=op.f('pk_access_group_members'))
    )
    op.create_index(op.f('ix_access_group_members_employee_id'), 'access_group_members', ['employee_id'], unique=False)
    op.create_table('face_templates',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=False),
    sa.Column('blob', sa.LargeBinary(), nullable=False),
    sa.Column('model_id', sa.String(length=64), nullable=False),
    sa.Column('face_px', sa.Integer(), nullable=False),
    sa.Column('blur', sa.Double(), nullable=False),
    sa.Column('photo_path', sa.String(length=512), nullable=True),
    sa.Column('created_at', hub.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_face_templates_employee_id_employees'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_face_templates'))
    )
    op.create_index(op.f('ix_face_templates_employee_id'), 'face_templates', ['employee_id'], unique=False)


def downgrade() -> None:
    op.drop_table('face_templates')
    op.drop_table('access_group_members')
    op.drop_table('snapshots')
    op.drop_table('shifts')
    op.drop_table('punches')
    op.drop_table('punch_rejections')
    op.drop_table('office_locations')
    op.drop_table('missed_punch_requests')
    op.drop_table('holidays')
    op.drop_table('gallery_changes')
    op.drop_table('erasure_acks')
    op.drop_table('employees')
    op.drop_table('door_alerts')
    op.drop_table('access_groups')
