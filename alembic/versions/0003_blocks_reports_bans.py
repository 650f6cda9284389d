"""blocks, reports, bans

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('banned_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('ban_reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True))

    op.create_table('block',
    sa.Column('blocker_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('blocked_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['blocked_id'], ['account.id'], ),
    sa.ForeignKeyConstraint(['blocker_id'], ['account.id'], ),
    sa.PrimaryKeyConstraint('blocker_id', 'blocked_id')
    )
    with op.batch_alter_table('block', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_block_blocked_id'), ['blocked_id'], unique=False)

    op.create_table('report',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('reporter_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('reported_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('reported_name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('enclave_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('closed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('report', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_report_reported_id'), ['reported_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_report_reporter_id'), ['reporter_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('report', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_reporter_id'))
        batch_op.drop_index(batch_op.f('ix_report_reported_id'))
        batch_op.drop_index(batch_op.f('ix_report_created_at'))

    op.drop_table('report')
    with op.batch_alter_table('block', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_block_blocked_id'))

    op.drop_table('block')
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_column('ban_reason')
        batch_op.drop_column('banned_at')
