"""route_live_state: the fix the live ETAs were last computed from (a driver standing still is not recomputed)

Revision ID: eta_0013
Revises: crm_0013
Create Date: 2026-12-02 00:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'eta_0013'
down_revision: str | None = 'crm_0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('route_live_state') as batch:
        batch.add_column(sa.Column('fix_lat', sa.Float(), nullable=True))
        batch.add_column(sa.Column('fix_lon', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('route_live_state') as batch:
        batch.drop_column('fix_lon')
        batch.drop_column('fix_lat')
