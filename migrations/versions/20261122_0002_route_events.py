"""route events: the resumable log of route and stop changes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 00:10:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('route_event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('depot_id', sa.Integer(), nullable=False),
    sa.Column('route_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('route_version', sa.Integer(), nullable=False),
    sa.Column('stop_ids', sa.JSON(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['depot_id'], ['depot.id'], name=op.f('fk_route_event_depot_id_depot')),
    sa.ForeignKeyConstraint(['route_id'], ['route.id'], name=op.f('fk_route_event_route_id_route')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_route_event_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_route_event'))
    )
    with op.batch_alter_table('route_event', schema=None) as batch_op:
        batch_op.create_index('ix_route_event_route', ['tenant_id', 'route_id', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('route_event', schema=None) as batch_op:
        batch_op.drop_index('ix_route_event_route')

    op.drop_table('route_event')
