"""webhook secrets sealed at rest (the access vault's keys); webhook_message.route_id and its lookup indexes

Existing endpoints keep working: each plaintext secret (and a previous one still in its overlap) is sealed with
the first of DETOUR_ACCESS_ENCRYPTION_KEYS, bound to its tenant; downgrade opens them back into plaintext.

Revision ID: http_0013
Revises: integrations_0008
Create Date: 2026-12-02 00:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = 'http_0013'
down_revision: str | None = 'integrations_0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _vault():  # noqa: ANN202
    from app.config import get_settings
    from app.vault import Vault

    return Vault(context.config.attributes.get("encryption_keys") or get_settings().access_encryption_keys)


def _context(tenant_id: int) -> str:
    return f"detour.webhooks.v1.tenant.{tenant_id}"  # app/integrations/webhook_secrets.py, frozen here


def upgrade() -> None:
    with op.batch_alter_table('webhook_endpoint', schema=None) as batch_op:
        batch_op.add_column(sa.Column('secret_sealed', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('previous_secret_sealed', sa.LargeBinary(), nullable=True))
    endpoint = sa.table('webhook_endpoint', sa.column('id', sa.Integer()), sa.column('tenant_id', sa.Integer()),
                        sa.column('secret', sa.String()), sa.column('previous_secret', sa.String()),
                        sa.column('secret_sealed', sa.LargeBinary()), sa.column('previous_secret_sealed', sa.LargeBinary()))
    connection = op.get_bind()
    rows = connection.execute(sa.select(endpoint.c.id, endpoint.c.tenant_id, endpoint.c.secret, endpoint.c.previous_secret)).all()
    if rows:
        vault = _vault()
        for row in rows:
            sealed = [vault.seal(v.encode(), context=_context(row.tenant_id)) if v else None for v in (row.secret, row.previous_secret)]
            connection.execute(endpoint.update().where(endpoint.c.id == row.id).values(
                secret_sealed=sealed[0], previous_secret_sealed=sealed[1]))
    with op.batch_alter_table('webhook_endpoint', schema=None) as batch_op:
        batch_op.alter_column('secret_sealed', existing_type=sa.LargeBinary(), nullable=False)
        batch_op.drop_column('secret')
        batch_op.drop_column('previous_secret')

    with op.batch_alter_table('webhook_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('route_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_webhook_message_tenant_route', ['tenant_id', 'route_id'], unique=False)
        batch_op.create_index('ix_webhook_message_tenant_stop', ['tenant_id', 'stop_id', 'event_type'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('webhook_message', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_message_tenant_stop')
        batch_op.drop_index('ix_webhook_message_tenant_route')
        batch_op.drop_column('route_id')

    with op.batch_alter_table('webhook_endpoint', schema=None) as batch_op:
        batch_op.add_column(sa.Column('secret', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('previous_secret', sa.String(length=80), nullable=True))
    endpoint = sa.table('webhook_endpoint', sa.column('id', sa.Integer()), sa.column('tenant_id', sa.Integer()),
                        sa.column('secret', sa.String()), sa.column('previous_secret', sa.String()),
                        sa.column('secret_sealed', sa.LargeBinary()), sa.column('previous_secret_sealed', sa.LargeBinary()))
    connection = op.get_bind()
    rows = connection.execute(sa.select(endpoint.c.id, endpoint.c.tenant_id, endpoint.c.secret_sealed, endpoint.c.previous_secret_sealed)).all()
    if rows:
        vault = _vault()
        for row in rows:
            opened = [vault.open(v, context=_context(row.tenant_id)).decode() if v else None
                      for v in (row.secret_sealed, row.previous_secret_sealed)]
            connection.execute(endpoint.update().where(endpoint.c.id == row.id).values(secret=opened[0], previous_secret=opened[1]))
    with op.batch_alter_table('webhook_endpoint', schema=None) as batch_op:
        batch_op.alter_column('secret', existing_type=sa.String(length=80), nullable=False)
        batch_op.drop_column('secret_sealed')
        batch_op.drop_column('previous_secret_sealed')
