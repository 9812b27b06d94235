"""actors: the worker's OPEN → CONTACTING_CUSTOMER events become actorRole "system" (source outreach.outbox) and the
customer's answers actorRole "customer", so analytics no longer count the system's own SMS as self-service

Revision ID: 0009_harden_actors
Revises: 0008_harden_inbound
Create Date: 2026-12-01 00:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009_harden_actors'
down_revision: str | None = '0008_harden_inbound'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

events = sa.table(
    'exception_event',
    sa.column('id', sa.Integer), sa.column('step', sa.String), sa.column('actor_role', sa.String),
    sa.column('actor_id', sa.Integer), sa.column('payload', sa.JSON),
)


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(events.c.id, events.c.payload)
        .where(events.c.actor_role.is_(None), events.c.actor_id.is_(None), events.c.step == 'CUSTOMER_CONTACTED')
    ).all()
    for event_id, payload in rows:
        payload = dict(payload or {})
        if 'notificationId' in payload:  # written by the outbox worker when the first message went out
            role, payload = 'system', {**payload, 'source': 'outreach.outbox'}
        elif 'customerResponseId' in payload:  # the customer's answer by SMS or on the link page
            role = 'customer'
        else:
            continue
        connection.execute(events.update().where(events.c.id == event_id).values(actor_role=role, payload=payload))


def downgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(events.c.id, events.c.payload)
        .where(events.c.actor_role.in_(('system', 'customer')), events.c.actor_id.is_(None), events.c.step == 'CUSTOMER_CONTACTED')
    ).all()
    for event_id, payload in rows:
        payload = dict(payload or {})
        if 'notificationId' in payload:
            payload.pop('source', None)
        if 'notificationId' in payload or 'customerResponseId' in payload:
            connection.execute(events.update().where(events.c.id == event_id).values(actor_role=None, payload=payload))
