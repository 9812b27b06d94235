"""foundation

Revision ID: 0001
Revises: 
Create Date: 2026-11-21 23:37:31.216113
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('tenant',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('reattempt_base_cost_cents', sa.Integer(), nullable=False),
    sa.Column('reattempt_cost_per_km_cents', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenant')),
    sa.UniqueConstraint('slug', name=op.f('uq_tenant_slug'))
    )
    op.create_table('app_user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_app_user_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_app_user')),
    sa.UniqueConstraint('tenant_id', 'email', name='uq_app_user_tenant_email')
    )
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_app_user_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('customer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('external_ref', sa.String(length=100), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('preferred_channels', sa.JSON(), nullable=False),
    sa.Column('quiet_hours_start', sa.Time(), nullable=True),
    sa.Column('quiet_hours_end', sa.Time(), nullable=True),
    sa.Column('delivery_instructions', sa.String(length=2000), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_customer_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer')),
    sa.UniqueConstraint('tenant_id', 'external_ref', name='uq_customer_tenant_external_ref')
    )
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('depot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('address', sa.String(length=500), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_depot_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_depot'))
    )
    with op.batch_alter_table('depot', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_depot_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('driver_last_position',
    sa.Column('driver_id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('accuracy_m', sa.Float(), nullable=True),
    sa.Column('speed_mps', sa.Float(), nullable=True),
    sa.Column('heading_deg', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['driver_id'], ['app_user.id'], name=op.f('fk_driver_last_position_driver_id_app_user')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_driver_last_position_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('driver_id', name=op.f('pk_driver_last_position'))
    )
    with op.batch_alter_table('driver_last_position', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_driver_last_position_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('driver_position',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('driver_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('accuracy_m', sa.Float(), nullable=True),
    sa.Column('speed_mps', sa.Float(), nullable=True),
    sa.Column('heading_deg', sa.Float(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['driver_id'], ['app_user.id'], name=op.f('fk_driver_position_driver_id_app_user')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_driver_position_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_driver_position')),
    sa.UniqueConstraint('driver_id', 'recorded_at', name='uq_driver_position_driver_time')
    )
    with op.batch_alter_table('driver_position', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_driver_position_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('user_depot',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('depot_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['depot_id'], ['depot.id'], name=op.f('fk_user_depot_depot_id_depot')),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_user_depot_user_id_app_user')),
    sa.PrimaryKeyConstraint('user_id', 'depot_id', name=op.f('pk_user_depot'))
    )
    op.create_table('vehicle',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('depot_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=64), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['depot_id'], ['depot.id'], name=op.f('fk_vehicle_depot_id_depot')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_vehicle_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vehicle'))
    )
    with op.batch_alter_table('vehicle', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vehicle_depot_id'), ['depot_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_vehicle_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('route',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('depot_id', sa.Integer(), nullable=False),
    sa.Column('driver_id', sa.Integer(), nullable=True),
    sa.Column('vehicle_id', sa.Integer(), nullable=True),
    sa.Column('service_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['depot_id'], ['depot.id'], name=op.f('fk_route_depot_id_depot')),
    sa.ForeignKeyConstraint(['driver_id'], ['app_user.id'], name=op.f('fk_route_driver_id_app_user')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_route_tenant_id_tenant')),
    sa.ForeignKeyConstraint(['vehicle_id'], ['vehicle.id'], name=op.f('fk_route_vehicle_id_vehicle')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_route'))
    )
    with op.batch_alter_table('route', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_route_depot_id'), ['depot_id'], unique=False)
        batch_op.create_index('ix_route_driver_date', ['driver_id', 'service_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_route_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('stop',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('route_id', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('address', sa.String(length=500), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('window_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('planned_eta', sa.DateTime(timezone=True), nullable=True),
    sa.Column('service_seconds', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_stop_customer_id_customer')),
    sa.ForeignKeyConstraint(['route_id'], ['route.id'], name=op.f('fk_stop_route_id_route')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_stop_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stop'))
    )
    with op.batch_alter_table('stop', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stop_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index('ix_stop_route_sequence', ['route_id', 'sequence'], unique=False)
        batch_op.create_index(batch_op.f('ix_stop_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('delivery_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('stop_id', sa.Integer(), nullable=False),
    sa.Column('driver_id', sa.Integer(), nullable=True),
    sa.Column('attempt_number', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=False),
    sa.Column('attempted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('accuracy_m', sa.Float(), nullable=True),
    sa.Column('idempotency_key', sa.String(length=100), nullable=True),
    sa.Column('request_fingerprint', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['driver_id'], ['app_user.id'], name=op.f('fk_delivery_attempt_driver_id_app_user')),
    sa.ForeignKeyConstraint(['stop_id'], ['stop.id'], name=op.f('fk_delivery_attempt_stop_id_stop')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_delivery_attempt_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_attempt')),
    sa.UniqueConstraint('driver_id', 'idempotency_key', name='uq_delivery_attempt_driver_key'),
    sa.UniqueConstraint('stop_id', 'attempt_number', name='uq_delivery_attempt_stop_number')
    )
    with op.batch_alter_table('delivery_attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivery_attempt_attempted_at'), ['attempted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_delivery_attempt_stop_id'), ['stop_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_delivery_attempt_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('delivery_exception',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('depot_id', sa.Integer(), nullable=False),
    sa.Column('route_id', sa.Integer(), nullable=False),
    sa.Column('stop_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('reason_code', sa.String(length=40), nullable=False),
    sa.Column('description', sa.String(length=2000), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('reported_by_id', sa.Integer(), nullable=False),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('failed_attempt_number', sa.Integer(), nullable=True),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolution_outcome', sa.String(length=32), nullable=True),
    sa.Column('resolution_note', sa.String(length=2000), nullable=True),
    sa.Column('failure_cost_cents', sa.Integer(), nullable=True),
    sa.Column('idempotency_key', sa.String(length=100), nullable=False),
    sa.Column('request_fingerprint', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assignee_id'], ['app_user.id'], name=op.f('fk_delivery_exception_assignee_id_app_user')),
    sa.ForeignKeyConstraint(['depot_id'], ['depot.id'], name=op.f('fk_delivery_exception_depot_id_depot')),
    sa.ForeignKeyConstraint(['reported_by_id'], ['app_user.id'], name=op.f('fk_delivery_exception_reported_by_id_app_user')),
    sa.ForeignKeyConstraint(['route_id'], ['route.id'], name=op.f('fk_delivery_exception_route_id_route')),
    sa.ForeignKeyConstraint(['stop_id'], ['stop.id'], name=op.f('fk_delivery_exception_stop_id_stop')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_delivery_exception_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_exception')),
    sa.UniqueConstraint('reported_by_id', 'idempotency_key', name='uq_delivery_exception_reporter_key')
    )
    with op.batch_alter_table('delivery_exception', schema=None) as batch_op:
        batch_op.create_index('ix_delivery_exception_depot_status', ['depot_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_delivery_exception_route_id'), ['route_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_delivery_exception_stop_id'), ['stop_id'], unique=False)
        batch_op.create_index('ix_delivery_exception_tenant_reported', ['tenant_id', 'reported_at'], unique=False)

    op.create_table('parcel',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('stop_id', sa.Integer(), nullable=False),
    sa.Column('barcode', sa.String(length=64), nullable=False),
    sa.Column('declared_value_cents', sa.Integer(), nullable=False),
    sa.Column('signature_required', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['stop_id'], ['stop.id'], name=op.f('fk_parcel_stop_id_stop')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_parcel_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parcel')),
    sa.UniqueConstraint('tenant_id', 'barcode', name='uq_parcel_tenant_barcode')
    )
    with op.batch_alter_table('parcel', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_parcel_stop_id'), ['stop_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_parcel_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('exception_event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('depot_id', sa.Integer(), nullable=False),
    sa.Column('route_id', sa.Integer(), nullable=False),
    sa.Column('exception_id', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.Column('step', sa.String(length=32), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_role', sa.String(length=32), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['app_user.id'], name=op.f('fk_exception_event_actor_id_app_user')),
    sa.ForeignKeyConstraint(['depot_id'], ['depot.id'], name=op.f('fk_exception_event_depot_id_depot')),
    sa.ForeignKeyConstraint(['exception_id'], ['delivery_exception.id'], name=op.f('fk_exception_event_exception_id_delivery_exception')),
    sa.ForeignKeyConstraint(['route_id'], ['route.id'], name=op.f('fk_exception_event_route_id_route')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_exception_event_tenant_id_tenant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exception_event'))
    )
    with op.batch_alter_table('exception_event', schema=None) as batch_op:
        batch_op.create_index('ix_exception_event_depot', ['tenant_id', 'depot_id', 'id'], unique=False)
        batch_op.create_index('ix_exception_event_exception', ['exception_id', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('exception_event', schema=None) as batch_op:
        batch_op.drop_index('ix_exception_event_exception')
        batch_op.drop_index('ix_exception_event_depot')

    op.drop_table('exception_event')
    with op.batch_alter_table('parcel', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_parcel_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_parcel_stop_id'))

    op.drop_table('parcel')
    with op.batch_alter_table('delivery_exception', schema=None) as batch_op:
        batch_op.drop_index('ix_delivery_exception_tenant_reported')
        batch_op.drop_index(batch_op.f('ix_delivery_exception_stop_id'))
        batch_op.drop_index(batch_op.f('ix_delivery_exception_route_id'))
        batch_op.drop_index('ix_delivery_exception_depot_status')

    op.drop_table('delivery_exception')
    with op.batch_alter_table('delivery_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delivery_attempt_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_delivery_attempt_stop_id'))
        batch_op.drop_index(batch_op.f('ix_delivery_attempt_attempted_at'))

    op.drop_table('delivery_attempt')
    with op.batch_alter_table('stop', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stop_tenant_id'))
        batch_op.drop_index('ix_stop_route_sequence')
        batch_op.drop_index(batch_op.f('ix_stop_customer_id'))

    op.drop_table('stop')
    with op.batch_alter_table('route', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_route_tenant_id'))
        batch_op.drop_index('ix_route_driver_date')
        batch_op.drop_index(batch_op.f('ix_route_depot_id'))

    op.drop_table('route')
    with op.batch_alter_table('vehicle', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vehicle_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_vehicle_depot_id'))

    op.drop_table('vehicle')
    op.drop_table('user_depot')
    with op.batch_alter_table('driver_position', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_driver_position_tenant_id'))

    op.drop_table('driver_position')
    with op.batch_alter_table('driver_last_position', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_driver_last_position_tenant_id'))

    op.drop_table('driver_last_position')
    with op.batch_alter_table('depot', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_depot_tenant_id'))

    op.drop_table('depot')
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_tenant_id'))

    op.drop_table('customer')
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_app_user_tenant_id'))

    op.drop_table('app_user')
    op.drop_table('tenant')
