"""planning: stops without a route (planRoutes), and a per-depot cost model

Revision ID: planning_0013
Revises: fuzz_0013
Create Date: 2026-12-02 00:00:00

Existing stops keep their route; the new columns are empty for them (their route says the depot and the day).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'planning_0013'
down_revision: str | None = 'fuzz_0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEPOT_COSTS = ('cost_per_km_cents', 'cost_per_hour_cents', 'cost_per_failed_attempt_cents')


def upgrade() -> None:
    with op.batch_alter_table('stop', schema=None) as batch_op:
        batch_op.alter_column('route_id', existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column('depot_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('service_date', sa.Date(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_stop_depot_id_depot'), 'depot', ['depot_id'], ['id'])
        batch_op.create_index('ix_stop_unassigned', ['tenant_id', 'depot_id', 'service_date'], unique=False)
    with op.batch_alter_table('depot', schema=None) as batch_op:
        for column in DEPOT_COSTS:
            batch_op.add_column(sa.Column(column, sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('depot', schema=None) as batch_op:
        for column in reversed(DEPOT_COSTS):
            batch_op.drop_column(column)
    # A stop still without a route cannot go back to a schema where every stop has one.
    op.execute('DELETE FROM stop_fact WHERE stop_id IN (SELECT id FROM stop WHERE route_id IS NULL)')
    op.execute('DELETE FROM parcel WHERE stop_id IN (SELECT id FROM stop WHERE route_id IS NULL)')
    op.execute('DELETE FROM stop WHERE route_id IS NULL')
    with op.batch_alter_table('stop', schema=None) as batch_op:
        batch_op.drop_index('ix_stop_unassigned')
        batch_op.drop_constraint(batch_op.f('fk_stop_depot_id_depot'), type_='foreignkey')
        batch_op.drop_column('service_date')
        batch_op.drop_column('depot_id')
        batch_op.alter_column('route_id', existing_type=sa.Integer(), nullable=False)
