"""onboarding: external refs unique per tenant, deactivation, vehicle skills, per-tenant OIDC settings

Revision ID: 0008_onboard
Revises: 0007
Create Date: 2026-12-01 00:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008_onboard'
down_revision: str | None = '0008_eta'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REF_TABLES = ('depot', 'app_user', 'vehicle', 'stop')


def upgrade() -> None:
    with op.batch_alter_table('tenant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('timezone', sa.String(length=64), nullable=False, server_default='UTC'))
        batch_op.add_column(sa.Column('active', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column('oidc_issuer', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('oidc_audience', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('oidc_jwks_url', sa.String(length=1000), nullable=True))
        batch_op.add_column(sa.Column('oidc_subject_claim', sa.String(length=32), nullable=False, server_default='sub'))
        batch_op.create_unique_constraint(batch_op.f('uq_tenant_oidc_issuer'), ['oidc_issuer'])
    with op.batch_alter_table('depot', schema=None) as batch_op:
        batch_op.add_column(sa.Column('active', sa.Boolean(), nullable=False, server_default=sa.true()))
    with op.batch_alter_table('vehicle', schema=None) as batch_op:
        batch_op.add_column(sa.Column('skills', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('active', sa.Boolean(), nullable=False, server_default=sa.true()))
    for table in REF_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('external_ref', sa.String(length=100), nullable=True))
            batch_op.create_unique_constraint(f'uq_{table}_tenant_external_ref', ['tenant_id', 'external_ref'])
    with op.batch_alter_table('route', schema=None) as batch_op:
        batch_op.add_column(sa.Column('external_ref', sa.String(length=100), nullable=True))
        batch_op.create_unique_constraint('uq_route_tenant_date_external_ref', ['tenant_id', 'service_date', 'external_ref'])


def downgrade() -> None:
    with op.batch_alter_table('route', schema=None) as batch_op:
        batch_op.drop_constraint('uq_route_tenant_date_external_ref', type_='unique')
        batch_op.drop_column('external_ref')
    for table in reversed(REF_TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f'uq_{table}_tenant_external_ref', type_='unique')
            batch_op.drop_column('external_ref')
    with op.batch_alter_table('vehicle', schema=None) as batch_op:
        batch_op.drop_column('active')
        batch_op.drop_column('skills')
    with op.batch_alter_table('depot', schema=None) as batch_op:
        batch_op.drop_column('active')
    with op.batch_alter_table('tenant', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_tenant_oidc_issuer'), type_='unique')
        for column in ('oidc_subject_claim', 'oidc_jwks_url', 'oidc_audience', 'oidc_issuer', 'active', 'timezone'):
            batch_op.drop_column(column)
