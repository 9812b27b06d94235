"""route_plan: every replanning of a route, with the version it produced and the solver's answer

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 00:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('route_plan',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('route_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=40), nullable=False),
    sa.Column('cost', sa.Integer(), nullable=False),
    sa.Column('duration_seconds', sa.Integer(), nullable=False),
    sa.Column('distance_m', sa.Integer(), nullable=True),
    sa.Column('plan', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['app_user.id'], name=op.f('fk_route_plan_created_by_app_user')),
    sa.ForeignKeyConstraint(['route_id'], ['route.id'], name=op.f('fk_route_plan_route_id_route')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_route_plan_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_route_plan')),
    sa.UniqueConstraint('route_id', 'version', name='uq_route_plan_route_version')
    )
    with op.batch_alter_table('route_plan', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_route_plan_tenant_id'), ['tenant_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('route_plan', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_route_plan_tenant_id'))

    op.drop_table('route_plan')
