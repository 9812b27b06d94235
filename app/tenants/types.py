"""GraphQL types of tenants, depots and users."""
import strawberry

from app.tenants.models import Depot, Role, Tenant, User

RoleType = strawberry.enum(Role, name="Role")


@strawberry.type(name="Tenant", description="A fleet operator.")
class TenantType:
    id: strawberry.ID
    name: str
    currency: str

    @classmethod
    def from_row(cls, row: Tenant) -> "TenantType":
        return cls(id=strawberry.ID(str(row.id)), name=row.name, currency=row.currency)


@strawberry.type(name="Depot", description="A hub routes start from.")
class DepotType:
    id: strawberry.ID
    name: str
    address: str
    lat: float
    lon: float
    timezone: str = strawberry.field(description="IANA time zone: the local day of the depot's routes.")
    external_ref: str | None = strawberry.field(default=None, description="Your system's id for it, unique in the tenant.")
    active: bool = True

    @classmethod
    def from_row(cls, row: Depot) -> "DepotType":
        return cls(
            id=strawberry.ID(str(row.id)), name=row.name, address=row.address, lat=row.lat, lon=row.lon, timezone=row.timezone,
            external_ref=row.external_ref, active=row.active,
        )


@strawberry.type(name="User", description="A person or system using Detour.")
class UserType:
    id: strawberry.ID
    name: str
    email: str
    role: RoleType
    external_ref: str | None = strawberry.field(default=None, description="Your system's id for them, unique in the tenant.")
    active: bool = True

    @classmethod
    def from_row(cls, row: User) -> "UserType":
        return cls(id=strawberry.ID(str(row.id)), name=row.name, email=row.email, role=row.role, external_ref=row.external_ref, active=row.active)
