"""print: jobs, history, printers, profiles, quotas, PIN failures, alerts

Revision ID: 0003_print
Revises: 0001_foundation
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import hub.db.base

revision: str = "0003_print"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = ("print",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
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
    op.create_table('print_jobs',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('owner_key', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('employee_id', sa.Integer(), nullable=True),
    sa.Column('owner_name', sa.String(length=128), nullable=False),
    sa.Column('department', sa.String(length=128), nullable=True),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('mime', sa.String(length=128), nullable=False),
    sa.Column('file_name', sa.String(length=64), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('doc_pages', sa.Integer(), nullable=False),
    sa.Column('pages_planned', sa.Integer(), nullable=False),
    sa.Column('pages_charged', sa.Integer(), nullable=False),
    sa.Column('pages_printed', sa.Integer(), nullable=True),
    sa.Column('options', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('requested_printer', sa.String(length=200), nullable=True),
    sa.Column('box_id', sa.String(length=64), nullable=True),
    sa.Column('queue', sa.String(length=127), nullable=True),
    sa.Column('hold', sa.Boolean(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('error_code', sa.String(length=64), nullable=True),
    sa.Column('cups_job_id', sa.Integer(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('command_id', sa.String(length=64), nullable=True),
    sa.Column('command_ok', sa.Boolean(), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('created_at', hub.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', hub.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('offered_at', hub.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('held_at', hub.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', hub.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('file_deleted_at', hub.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_print_jobs'))
    )
    op.create_index('ix_print_jobs_box_state', 'print_jobs', ['box_id', 'state'], unique=False)
    op.create_index(op.f('ix_print_jobs_department'), 'print_jobs', ['department'], unique=False)
    op.create_index(op.f('ix_print_jobs_employee_id'), 'print_jobs', ['employee_id'], unique=False)
    op.create_index(op.f('ix_print_jobs_finished_at'), 'print_jobs', ['finished_at'], unique=False)
    op.create_index(op.f('ix_print_jobs_owner_key'), 'print_jobs', ['owner_key'], unique=False)
    op.create_index('ix_print_jobs_owner_period', 'print_jobs', ['owner_key', 'period'], unique=False)
    op.create_index(op.f('ix_print_jobs_state'), 'print_jobs', ['state'], unique=False)
    op.create_table('print_pin_failures',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('box_id', sa.String(length=64), nullable=False),
    sa.Column('at', hub.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_print_pin_failures'))
    )
    op.create_index(op.f('ix_print_pin_failures_at'), 'print_pin_failures', ['at'], unique=False)
    op.create_index(op.f('ix_print_pin_failures_box_id'), 'print_pin_failures', ['box_id'], unique=False)
    op.create_table('print_profiles',
    sa.Column('owner_key', sa.String(length=64), nullable=False),
    sa.Column('department', sa.String(length=128), nullable=True),
    sa.Column('pin_hash', sa.String(length=64), nullable=True),
    sa.Column('updated_at', hub.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('owner_key', name=op.f('pk_print_profiles')),
    sa.UniqueConstraint('pin_hash', name=op.f('uq_print_profiles_pin_hash'))
    )
    op.create_table('print_quotas',
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('monthly_pages', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('scope', 'key', name=op.f('pk_print_quotas'))
    )
    op.create_table('printers',
    sa.Column('box_id', sa.String(length=64), nullable=False),
    sa.Column('queue', sa.String(length=127), nullable=False),
    sa.Column('make_model', sa.String(length=255), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('reasons', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('accepting', sa.Boolean(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('supplies', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('alert', sa.String(length=64), nullable=True),
    sa.Column('present', sa.Boolean(), nullable=False),
    sa.Column('updated_at', hub.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('box_id', 'queue', name=op.f('pk_printers'))
    )
    op.create_table('print_job_history',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('job_id', sa.String(length=32), nullable=False),
    sa.Column('at', hub.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('from_state', sa.String(length=16), nullable=False),
    sa.Column('to_state', sa.String(length=16), nullable=False),
    sa.Column('event', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['print_jobs.id'], name=op.f('fk_print_job_history_job_id_print_jobs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_print_job_history'))
    )
    op.create_index(op.f('ix_print_job_history_job_id'), 'print_job_history', ['job_id'], unique=False)


    op.create_table('print_release_stations',
    sa.Column('terminal_id', sa.String(length=64), nullable=False),
    sa.Column('box_id', sa.String(length=64), nullable=False),
    sa.Column('queue', sa.String(length=127), nullable=True),
    sa.PrimaryKeyConstraint('terminal_id', name=op.f('pk_print_release_stations'))
    )


def downgrade() -> None:
    op.drop_table('print_release_stations')
    op.drop_index(op.f('ix_print_job_history_job_id'), table_name='print_job_history')
    op.drop_table('print_job_history')
    op.drop_table('printers')
    op.drop_table('print_quotas')
    op.drop_table('print_profiles')
    op.drop_index(op.f('ix_print_pin_failures_box_id'), table_name='print_pin_failures')
    op.drop_index(op.f('ix_print_pin_failures_at'), table_name='print_pin_failures')
    op.drop_table('print_pin_failures')
    op.drop_index(op.f('ix_print_jobs_state'), table_name='print_jobs')
    op.drop_index('ix_print_jobs_owner_period', table_name='print_jobs')
    op.drop_index(op.f('ix_print_jobs_owner_key'), table_name='print_jobs')
    op.drop_index(op.f('ix_print_jobs_finished_at'), table_name='print_jobs')
    op.drop_index(op.f('ix_print_jobs_employee_id'), table_name='print_jobs')
    op.drop_index(op.f('ix_print_jobs_department'), table_name='print_jobs')
    op.drop_index('ix_print_jobs_box_state', table_name='print_jobs')
    op.drop_table('print_jobs')
    op.drop_index(op.f('ix_print_alerts_code'), table_name='print_alerts')
    op.drop_index(op.f('ix_print_alerts_box_id'), table_name='print_alerts')
    op.drop_index(op.f('ix_print_alerts_at'), table_name='print_alerts')
    op.drop_table('print_alerts')
