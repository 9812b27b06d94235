"""Customers from the CRM: integrators and staff keep them up to date."""
from datetime import time

import strawberry

from app.api.common import MutationError, as_payload, parse_id
from app.api.context import Info
from app.auth import scopes
from app.auth.permissions import RequiresScope, IsAuthenticated, IsStaffOrIntegrator
from app.customers import service
from app.customers.service import CustomerData
from app.customers.types import CustomerType
from app.errors import DomainError
from app.runtime import unit_of_work


@strawberry.input(description="A customer as the CRM knows them; externalRef is the CRM's id.")
class UpsertCustomerInput:
    external_ref: str
    name: str
    phone: str | None = strawberry.field(default=None, description="International format; stored in E.164.")
    email: str | None = None
    language: str = "en"
    timezone: str = strawberry.field(default="UTC", description="IANA name, e.g. Europe/Amsterdam.")
    preferred_channels: list[str] = strawberry.field(default_factory=lambda: ["SMS"], description="SMS, PUSH, EMAIL in order of preference.")
    quiet_hours_start: time | None = None
    quiet_hours_end: time | None = None
    delivery_instructions: str = ""


@strawberry.type
class UpsertCustomerPayload:
    customer: CustomerType | None = None
    created: bool = False
    errors: list[MutationError] = strawberry.field(default_factory=list)


@strawberry.type
class CustomerQuery:
    @strawberry.field(permission_classes=[IsAuthenticated, IsStaffOrIntegrator, RequiresScope(scopes.CUSTOMERS_READ)])
    async def customer(self, info: Info, id: strawberry.ID) -> CustomerType | None:
        try:
            customer = await info.context.loaders.customer.load(parse_id(id, "customer"))
        except DomainError:
            return None
        return CustomerType.from_row(customer) if customer else None


@strawberry.type
class CustomerMutation:
    @strawberry.mutation(permission_classes=[IsStaffOrIntegrator, RequiresScope(scopes.CUSTOMERS_WRITE)], description="Create or update a customer by the CRM's reference.")
    async def upsert_customer(self, info: Info, input: UpsertCustomerInput) -> UpsertCustomerPayload:
        async def work() -> UpsertCustomerPayload:
            data = CustomerData(**{k: getattr(input, k) for k in CustomerData.__dataclass_fields__})
            data = CustomerData(**{**data.__dict__, "preferred_channels": tuple(input.preferred_channels)})
            async with unit_of_work(info.context.runtime) as uow:
                customer, created = await service.upsert(session=uow.session, tenant_id=info.context.viewer.tenant_id, data=data)
            return UpsertCustomerPayload(customer=CustomerType.from_row(customer), created=created)

        return await as_payload(UpsertCustomerPayload, work)
