"""GraphQL types of tenants, depots and users."""
import strawberry

from app.auth.permissions import IsAdministrator
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


@strawberry.type(description="What the depot's work costs, in the tenant's currency (cents); null: the tenant's figure.")
class DepotCostModel:
    per_km_cents: int | None = strawberry.field(description="Per km driven: planning's objective and a failed attempt's drive back.")
    per_hour_cents: int | None = strawberry.field(description="Per hour on the road: planning's objective.")
    per_failed_attempt_cents: int | None = strawberry.field(description="Base cost of a failed attempt (a re-delivery).")


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
    row: strawberry.Private[Depot | None] = None

    @classmethod
    def from_row(cls, row: Depot) -> "DepotType":
        return cls(
            id=strawberry.ID(str(row.id)), name=row.name, address=row.address, lat=row.lat, lon=row.lon, timezone=row.timezone,
            external_ref=row.external_ref, active=row.active, row=row,
        )

    @strawberry.field(permission_classes=[IsAdministrator], description="Admins and supervisors: the depot's cost model.")
    def cost_model(self) -> DepotCostModel:
        row = self.row
        return DepotCostModel(per_km_cents=row.cost_per_km_cents, per_hour_cents=row.cost_per_hour_cents,
                              per_failed_attempt_cents=row.cost_per_failed_attempt_cents)


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
