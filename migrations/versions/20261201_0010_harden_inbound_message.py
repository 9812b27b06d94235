"""inbound_message: inbound SMS already acted on, by Twilio MessageSid, so a replayed webhook counts once

Revision ID: 0008_harden_inbound
Revises: 0008_onboard
Create Date: 2026-12-01 00:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008_harden_inbound'
down_revision: str | None = '0008_onboard'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Messages answered before this revision have no MessageSid on record: a replay of one of those is not caught.
    op.create_table('inbound_message',
    sa.Column('message_sid', sa.String(length=64), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('message_sid', name=op.f('pk_inbound_message'))
    )


def downgrade() -> None:
    op.drop_table('inbound_message')
