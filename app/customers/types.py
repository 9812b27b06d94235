"""GraphQL type of a customer."""
from datetime import datetime, time
from typing import Annotated

import strawberry

from app.api.common import check_page_size
from app.api.context import Info
from app.auth import scopes
from app.auth.permissions import IsStaffOrIntegrator, RequiresScope
from app.customers.models import Customer

CommunicationConnectionRef = Annotated["CommunicationConnection", strawberry.lazy("app.outreach.communication_types")]  # noqa: F821


@strawberry.type(name="Customer", description="The person a stop delivers to.")
class CustomerType:
    id: strawberry.ID
    name: str
    phone: str | None = strawberry.field(description="E.164, for example +31612345678.")
    email: str | None
    language: str
    timezone: str
    preferred_channels: list[str]
    delivery_instructions: str
    quiet_hours_start: time | None = strawberry.field(description="No messages from this local time (the customer's time zone)…")
    quiet_hours_end: time | None = strawberry.field(description="…until this one; the span may cross midnight.")
    crm_refreshed_at: datetime | None = strawberry.field(description="When the CRM's preferences were last read (null: never).")

    @strawberry.field(
        permission_classes=[IsStaffOrIntegrator, RequiresScope(scopes.CUSTOMERS_READ)],
        description="Every SMS and push sent to the customer, their answers and dispatchers' call notes, newest first.",
    )
    async def communications(self, info: Info, first: int = 20, after: str | None = None) -> CommunicationConnectionRef:
        return await info.context.loaders.customer_communications.load((int(self.id), check_page_size(first), after))

    @classmethod
    def from_row(cls, row: Customer) -> "CustomerType":
        return cls(
            id=strawberry.ID(str(row.id)), name=row.name, phone=row.phone, email=row.email, language=row.language,
            timezone=row.timezone, preferred_channels=list(row.preferred_channels), delivery_instructions=row.delivery_instructions,
            quiet_hours_start=row.quiet_hours_start, quiet_hours_end=row.quiet_hours_end, crm_refreshed_at=row.crm_refreshed_at,
        )
