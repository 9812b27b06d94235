"""live ETAs: planned vs live ETA on stops, per-route throttle, per-stop lateness and proximity, late-route replan proposals

Revision ID: 0008_eta
Revises: 0007
Create Date: 2026-12-01 22:21:45.827075
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008_eta'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('late_route_proposal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('route_id', sa.Integer(), nullable=False),
    sa.Column('based_on_version', sa.Integer(), nullable=False),
    sa.Column('late_stop_ids', sa.JSON(), nullable=False),
    sa.Column('still_late_stop_ids', sa.JSON(), nullable=False),
    sa.Column('minutes_saved', sa.Integer(), nullable=False),
    sa.Column('windows_kept_now', sa.Integer(), nullable=False),
    sa.Column('windows_kept_replanned', sa.Integer(), nullable=False),
    sa.Column('plan', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['route_id'], ['route.id'], name=op.f('fk_late_route_proposal_route_id_route')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_late_route_proposal_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_late_route_proposal'))
    )
    with op.batch_alter_table('late_route_proposal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_late_route_proposal_route_id'), ['route_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_late_route_proposal_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('route_live_state',
    sa.Column('route_id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('stops_done', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['route_id'], ['route.id'], name=op.f('fk_route_live_state_route_id_route')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_route_live_state_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('route_id', name=op.f('pk_route_live_state'))
    )
    with op.batch_alter_table('route_live_state', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_route_live_state_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('stop_live_state',
    sa.Column('stop_id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('route_id', sa.Integer(), nullable=False),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.Column('late_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('late_handled', sa.Boolean(), nullable=False),
    sa.Column('approached_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('eta_30', sa.DateTime(timezone=True), nullable=True),
    sa.Column('eta_30_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['route_id'], ['route.id'], name=op.f('fk_stop_live_state_route_id_route')),
    sa.ForeignKeyConstraint(['stop_id'], ['stop.id'], name=op.f('fk_stop_live_state_stop_id_stop')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_stop_live_state_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('stop_id', name=op.f('pk_stop_live_state'))
    )
    with op.batch_alter_table('stop_live_state', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stop_live_state_route_id'), ['route_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_stop_live_state_tenant_id'), ['tenant_id'], unique=False)

    with op.batch_alter_table('stop', schema=None) as batch_op:
        batch_op.add_column(sa.Column('live_eta', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('live_eta_at', sa.DateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('stop', schema=None) as batch_op:
        batch_op.drop_column('live_eta_at')
        batch_op.drop_column('live_eta')

    with op.batch_alter_table('stop_live_state', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stop_live_state_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_stop_live_state_route_id'))

    op.drop_table('stop_live_state')
    with op.batch_alter_table('route_live_state', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_route_live_state_tenant_id'))

    op.drop_table('route_live_state')
    with op.batch_alter_table('late_route_proposal', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_late_route_proposal_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_late_route_proposal_route_id'))

    op.drop_table('late_route_proposal')
