"""crm: consent records (replacing opt_out, whose rows become REVOKED records), call notes, customer.crm_refreshed_at

Revision ID: crm_0013
Revises: http_0013
Create Date: 2026-12-02 00:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'crm_0013'
down_revision: str | None = 'http_0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('consent_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('keyword', sa.String(length=20), nullable=True),
    sa.Column('captured_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_consent_record_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_record'))
    )
    with op.batch_alter_table('consent_record', schema=None) as batch_op:
        batch_op.create_index('ix_consent_record_phone', ['tenant_id', 'phone', 'channel', 'captured_at'], unique=False)

    op.create_table('customer_call',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('exception_id', sa.Integer(), nullable=True),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.String(length=32), nullable=False),
    sa.Column('note', sa.String(length=2000), nullable=False),
    sa.Column('called_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['app_user.id'], name=op.f('fk_customer_call_author_id_app_user')),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_customer_call_customer_id_customer')),
    sa.ForeignKeyConstraint(['exception_id'], ['delivery_exception.id'], name=op.f('fk_customer_call_exception_id_delivery_exception')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_customer_call_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_call'))
    )
    with op.batch_alter_table('customer_call', schema=None) as batch_op:
        batch_op.create_index('ix_customer_call_customer', ['tenant_id', 'customer_id', 'called_at'], unique=False)

    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('crm_refreshed_at', sa.DateTime(timezone=True), nullable=True))

    # Every opt-out becomes the REVOKED record in force for its number (CARRIER when the carrier said it, else a keyword).
    op.execute(
        "INSERT INTO consent_record (tenant_id, phone, channel, status, source, keyword, captured_at, recorded_at) "
        "SELECT tenant_id, phone, 'SMS', 'REVOKED', "
        "CASE WHEN keyword = 'CARRIER' THEN 'CARRIER' ELSE 'SMS_KEYWORD' END, keyword, opted_out_at, opted_out_at "
        "FROM opt_out ORDER BY id"
    )
    op.drop_table('opt_out')


def downgrade() -> None:
    op.create_table('opt_out',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('keyword', sa.String(length=20), nullable=False),
    sa.Column('opted_out_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_opt_out_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opt_out')),
    sa.UniqueConstraint('tenant_id', 'phone', name='uq_opt_out_tenant_phone')
    )
    # The numbers whose SMS consent in force is REVOKED opt out again; the rest of the history is lost.
    op.execute(
        "INSERT INTO opt_out (tenant_id, phone, keyword, opted_out_at) "
        "SELECT c.tenant_id, c.phone, COALESCE(c.keyword, c.source), c.captured_at FROM consent_record c "
        "WHERE c.channel = 'SMS' AND c.status = 'REVOKED' AND NOT EXISTS ("
        "  SELECT 1 FROM consent_record n WHERE n.tenant_id = c.tenant_id AND n.phone = c.phone AND n.channel = c.channel"
        "  AND (n.captured_at > c.captured_at OR (n.captured_at = c.captured_at AND n.id > c.id)))"
    )
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_column('crm_refreshed_at')
    with op.batch_alter_table('customer_call', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_call_customer')
    op.drop_table('customer_call')
    with op.batch_alter_table('consent_record', schema=None) as batch_op:
        batch_op.drop_index('ix_consent_record_phone')
    op.drop_table('consent_record')
