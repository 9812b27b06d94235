"""analytics upkeep: the stop facts summed per depot and local day (stop_fact_day), kept in the write transaction

Existing histories are summed from their fact rows in one statement, so the dashboards read the same figures the
day the migration runs; downgrade drops the sums (the facts they come from stay).

Revision ID: rollups_0018
Revises: planning_0013
Create Date: 2026-12-02 00:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'rollups_0018'
down_revision: str | None = 'planning_0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('stop_fact_day',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('depot_id', sa.Integer(), nullable=False),
    sa.Column('local_date', sa.Date(), nullable=False),
    sa.Column('first_attempts', sa.Integer(), nullable=False),
    sa.Column('first_delivered', sa.Integer(), nullable=False),
    sa.Column('failed_attempts', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'depot_id', 'local_date', name=op.f('pk_stop_fact_day'))
    )
    # app/analytics/rollups.py rebuild_days, frozen here
    op.execute(
        "INSERT INTO stop_fact_day (tenant_id, depot_id, local_date, first_attempts, first_delivered, failed_attempts) "
        "SELECT tenant_id, depot_id, first_local_date, count(*), sum(CASE WHEN first_delivered THEN 1 ELSE 0 END), sum(failed_attempts) "
        "FROM stop_fact WHERE first_local_date IS NOT NULL GROUP BY tenant_id, depot_id, first_local_date"
    )


def downgrade() -> None:
    op.drop_table('stop_fact_day')
