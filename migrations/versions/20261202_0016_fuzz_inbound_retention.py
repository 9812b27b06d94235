"""inbound_message.received_at indexed: the outreach worker deletes MessageSids past DETOUR_INBOUND_MESSAGE_RETENTION_DAYS

Revision ID: fuzz_0013
Revises: eta_0013
Create Date: 2026-12-02 00:00:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = 'fuzz_0013'
down_revision: str | None = 'eta_0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f('ix_inbound_message_received_at'), 'inbound_message', ['received_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_inbound_message_received_at'), table_name='inbound_message')
