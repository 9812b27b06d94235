"""analytics: fact rows per stop and per exception (H3 cells, first attempts; backfilled), indexes of the dashboard queries

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 00:00:00
"""
from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import h3
import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('stop_fact',
    sa.Column('stop_id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('depot_id', sa.Integer(), nullable=False),
    sa.Column('driver_id', sa.Integer(), nullable=True),
    sa.Column('h3_cell', sa.BigInteger(), nullable=False),
    sa.Column('first_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_local_date', sa.Date(), nullable=True),
    sa.Column('first_delivered', sa.Boolean(), nullable=True),
    sa.Column('failed_attempts', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['stop_id'], ['stop.id'], name=op.f('fk_stop_fact_stop_id_stop'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('stop_id', name=op.f('pk_stop_fact'))
    )
    _backfill_stop_facts()
    with op.batch_alter_table('stop_fact', schema=None) as batch_op:
        batch_op.create_index('ix_stop_fact_cell', ['tenant_id', 'h3_cell', 'first_attempt_at', 'first_delivered', 'failed_attempts', 'stop_id'], unique=False)
        batch_op.create_index('ix_stop_fact_first_attempt', ['tenant_id', 'first_attempt_at', 'first_delivered', 'failed_attempts', 'depot_id', 'first_local_date'], unique=False)
        batch_op.create_index('ix_stop_fact_depot_first_attempt', ['tenant_id', 'depot_id', 'first_attempt_at', 'first_delivered', 'failed_attempts', 'first_local_date'], unique=False)
        batch_op.create_index('ix_stop_fact_driver_first_attempt', ['tenant_id', 'driver_id', 'first_attempt_at'], unique=False)

    op.create_table('exception_area',
    sa.Column('exception_id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('depot_id', sa.Integer(), nullable=False),
    sa.Column('stop_id', sa.Integer(), nullable=False),
    sa.Column('reported_by_id', sa.Integer(), nullable=False),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('reason_code', sa.String(length=40), nullable=False),
    sa.Column('h3_cell', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['exception_id'], ['delivery_exception.id'], name=op.f('fk_exception_area_exception_id_delivery_exception'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('exception_id', name=op.f('pk_exception_area'))
    )
    op.execute(
        "INSERT INTO exception_area (exception_id, tenant_id, depot_id, stop_id, reported_by_id, reported_at, kind, reason_code, h3_cell) "
        "SELECT e.id, e.tenant_id, e.depot_id, e.stop_id, e.reported_by_id, e.reported_at, e.kind, e.reason_code, f.h3_cell "
        "FROM delivery_exception e JOIN stop_fact f ON f.stop_id = e.stop_id"
    )
    with op.batch_alter_table('exception_area', schema=None) as batch_op:
        batch_op.create_index('ix_exception_area_period', ['tenant_id', 'reported_at', 'h3_cell', 'kind', 'reason_code', 'stop_id', 'depot_id', 'reported_by_id'], unique=False)
        batch_op.create_index('ix_exception_area_cell', ['tenant_id', 'h3_cell', 'reported_at', 'exception_id'], unique=False)

    with op.batch_alter_table('delivery_exception', schema=None) as batch_op:
        batch_op.create_index('ix_delivery_exception_analytics', ['tenant_id', 'reported_at', 'depot_id', 'kind', 'reason_code', 'resolution_outcome', 'resolved_at', 'failure_cost_cents', 'failed_attempt_number', 'stop_id', 'reported_by_id'], unique=False)

    with op.batch_alter_table('exception_event', schema=None) as batch_op:
        batch_op.create_index('ix_exception_event_actor', ['exception_id', 'actor_role', 'step'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('exception_event', schema=None) as batch_op:
        batch_op.drop_index('ix_exception_event_actor')

    with op.batch_alter_table('delivery_exception', schema=None) as batch_op:
        batch_op.drop_index('ix_delivery_exception_analytics')

    with op.batch_alter_table('exception_area', schema=None) as batch_op:
        batch_op.drop_index('ix_exception_area_cell')
        batch_op.drop_index('ix_exception_area_period')

    op.drop_table('exception_area')
    with op.batch_alter_table('stop_fact', schema=None) as batch_op:
        batch_op.drop_index('ix_stop_fact_driver_first_attempt')
        batch_op.drop_index('ix_stop_fact_depot_first_attempt')
        batch_op.drop_index('ix_stop_fact_first_attempt')
        batch_op.drop_index('ix_stop_fact_cell')

    op.drop_table('stop_fact')


FACTS = sa.table(
    "stop_fact", sa.column("stop_id"), sa.column("tenant_id"), sa.column("depot_id"), sa.column("driver_id"), sa.column("h3_cell"),
    sa.column("first_attempt_at"), sa.column("first_local_date"), sa.column("first_delivered"), sa.column("failed_attempts"),
)
STOPS = """
SELECT s.id, s.tenant_id, r.depot_id, coalesce(a.driver_id, r.driver_id) AS driver_id, s.lat, s.lon, a.attempted_at, a.outcome, d.timezone,
       coalesce(failed.n, 0) AS failed_attempts
FROM stop s JOIN route r ON r.id = s.route_id JOIN depot d ON d.id = r.depot_id
LEFT JOIN delivery_attempt a ON a.stop_id = s.id AND a.attempt_number = 1 AND a.stop_id >= :low AND a.stop_id < :high
LEFT JOIN (SELECT stop_id, count(*) AS n FROM delivery_attempt WHERE outcome = 'FAILED' AND stop_id >= :low AND stop_id < :high GROUP BY stop_id) failed
       ON failed.stop_id = s.id
WHERE s.id >= :low AND s.id < :high
"""


def _backfill_stop_facts(batch: int = 20000) -> None:
    """Fact rows of the stops that exist already (new ones get theirs at write time), by ranges of stop ids."""
    connection = op.get_bind()
    postgres = connection.dialect.name == "postgresql"
    low, high = connection.execute(sa.text("SELECT min(id), max(id) FROM stop")).one()
    for start in range(low or 0, (high or -1) + 1, batch):
        rows = connection.execute(sa.text(STOPS), {"low": start, "high": start + batch}).all()
        if rows:
            connection.execute(FACTS.insert(), [_fact(row, postgres) for row in rows])


def _fact(row: sa.Row, postgres: bool) -> dict:
    attempted = row.attempted_at
    if isinstance(attempted, str):  # SQLite hands back its text
        attempted = datetime.fromisoformat(attempted)
    if attempted is not None and attempted.tzinfo is None:
        attempted = attempted.replace(tzinfo=UTC)
    stored = attempted if postgres or attempted is None else attempted.strftime("%Y-%m-%d %H:%M:%S.%f")
    return {
        "stop_id": row.id, "tenant_id": row.tenant_id, "depot_id": row.depot_id, "driver_id": row.driver_id,
        "h3_cell": h3.str_to_int(h3.latlng_to_cell(row.lat, row.lon, 15)), "first_attempt_at": stored,
        "first_local_date": None if attempted is None else attempted.astimezone(ZoneInfo(row.timezone)).date(),
        "first_delivered": None if attempted is None else row.outcome == "DELIVERED", "failed_attempts": row.failed_attempts,
    }
