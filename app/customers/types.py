"""GraphQL type of a customer."""
import strawberry

from app.customers.models import Customer


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

    @classmethod
    def from_row(cls, row: Customer) -> "CustomerType":
        return cls(
            id=strawberry.ID(str(row.id)), name=row.name, phone=row.phone, email=row.email, language=row.language,
            timezone=row.timezone, preferred_channels=list(row.preferred_channels), delivery_instructions=row.delivery_instructions,
        )
