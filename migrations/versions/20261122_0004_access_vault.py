"""access vault: access profiles (sealed secrets), one-time grants and the access audit trail

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 23:42:54.322676
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('access_profile',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('address', sa.String(length=500), nullable=False),
    sa.Column('address_key', sa.String(length=500), nullable=False),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('provided_by', sa.String(length=32), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=True),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('has_gate_code', sa.Boolean(), nullable=False),
    sa.Column('has_entry_code', sa.Boolean(), nullable=False),
    sa.Column('has_instructions', sa.Boolean(), nullable=False),
    sa.Column('digital_key_provider', sa.String(length=64), nullable=True),
    sa.Column('secrets_sealed', sa.LargeBinary(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_access_profile_customer_id_customer')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_access_profile_tenant_id_tenant')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['app_user.id'], name=op.f('fk_access_profile_updated_by_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_profile'))
    )
    with op.batch_alter_table('access_profile', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_profile_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index('ix_access_profile_tenant_address', ['tenant_id', 'address_key'], unique=False)
        batch_op.create_index('ix_access_profile_tenant_lat_lon', ['tenant_id', 'lat', 'lon'], unique=False)

    op.create_table('access_grant',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('stop_id', sa.Integer(), nullable=False),
    sa.Column('driver_id', sa.Integer(), nullable=False),
    sa.Column('granted_by_id', sa.Integer(), nullable=False),
    sa.Column('code_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['driver_id'], ['app_user.id'], name=op.f('fk_access_grant_driver_id_app_user')),
    sa.ForeignKeyConstraint(['granted_by_id'], ['app_user.id'], name=op.f('fk_access_grant_granted_by_id_app_user')),
    sa.ForeignKeyConstraint(['stop_id'], ['stop.id'], name=op.f('fk_access_grant_stop_id_stop')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_access_grant_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_grant'))
    )
    with op.batch_alter_table('access_grant', schema=None) as batch_op:
        batch_op.create_index('ix_access_grant_stop_driver', ['stop_id', 'driver_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_access_grant_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('access_audit',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('stop_id', sa.Integer(), nullable=True),
    sa.Column('profile_id', sa.Integer(), nullable=True),
    sa.Column('grant_id', sa.Integer(), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_role', sa.String(length=32), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=False),
    sa.Column('refusal_reason', sa.String(length=32), nullable=True),
    sa.Column('address_key', sa.String(length=500), nullable=False),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('distance_m', sa.Float(), nullable=True),
    sa.Column('fix_recorded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('detail', sa.String(length=500), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['app_user.id'], name=op.f('fk_access_audit_actor_id_app_user')),
    sa.ForeignKeyConstraint(['grant_id'], ['access_grant.id'], name=op.f('fk_access_audit_grant_id_access_grant')),
    sa.ForeignKeyConstraint(['profile_id'], ['access_profile.id'], name=op.f('fk_access_audit_profile_id_access_profile')),
    sa.ForeignKeyConstraint(['stop_id'], ['stop.id'], name=op.f('fk_access_audit_stop_id_stop')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_access_audit_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_audit'))
    )
    with op.batch_alter_table('access_audit', schema=None) as batch_op:
        batch_op.create_index('ix_access_audit_refusals', ['actor_id', 'address_key', 'occurred_at'], unique=False)
        batch_op.create_index('ix_access_audit_stop', ['tenant_id', 'stop_id', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('access_audit', schema=None) as batch_op:
        batch_op.drop_index('ix_access_audit_stop')
        batch_op.drop_index('ix_access_audit_refusals')

    op.drop_table('access_audit')
    with op.batch_alter_table('access_grant', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_grant_tenant_id'))
        batch_op.drop_index('ix_access_grant_stop_driver')

    op.drop_table('access_grant')
    with op.batch_alter_table('access_profile', schema=None) as batch_op:
        batch_op.drop_index('ix_access_profile_tenant_lat_lon')
        batch_op.drop_index('ix_access_profile_tenant_address')
        batch_op.drop_index(batch_op.f('ix_access_profile_customer_id'))

    op.drop_table('access_profile')
