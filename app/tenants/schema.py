"""Who am I: the viewer query."""
import strawberry

from app.api.context import Info
from app.auth.permissions import IsAuthenticated
from app.tenants.types import DepotType, TenantType, UserType


@strawberry.type(name="Viewer", description="The caller of this request.")
class ViewerType:
    user: UserType
    tenant: TenantType
    depots: list[DepotType] = strawberry.field(description="Depots the caller works for (empty: all of the tenant's).")


@strawberry.type
class TenantQuery:
    @strawberry.field(permission_classes=[IsAuthenticated])
    async def viewer(self, info: Info) -> ViewerType:
        principal = info.context.viewer
        loaders = info.context.loaders
        user = await loaders.user.load(principal.user_id)
        tenant = await loaders.tenant.load(principal.tenant_id)
        depots = await loaders.depot.load_many(sorted(principal.depot_ids or ()))
        return ViewerType(
            user=UserType.from_row(user), tenant=TenantType.from_row(tenant),
            depots=[DepotType.from_row(d) for d in depots if d is not None],
        )
