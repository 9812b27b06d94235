"""Administration for admins and supervisors, within their own tenant: depots and users, by external ref."""
import strawberry

from app.api.common import MutationError, as_payload
from app.api.context import Info
from app.auth.permissions import IsAdministrator
from app.errors import DomainError, ErrorCode
from app.runtime import unit_of_work
from app.tenants import service
from app.tenants.models import Depot, Role, User
from app.tenants.types import DepotType, RoleType, UserType


@strawberry.input
class CreateDepotInput:
    external_ref: str
    name: str
    lat: float
    lon: float
    address: str = ""
    timezone: str = strawberry.field(default="UTC", description="IANA name, e.g. Europe/Amsterdam.")


@strawberry.input(description="The depot's cost model in cents; null (or left out) uses the tenant's figure.")
class SetDepotCostModelInput:
    depot_ref: str
    cost_per_km_cents: int | None = None
    cost_per_hour_cents: int | None = None
    cost_per_failed_attempt_cents: int | None = None


@strawberry.input
class CreateUserInput:
    email: str
    name: str
    role: RoleType
    external_ref: str | None = strawberry.field(default=None, description="The `sub` of their identity provider's tokens.")
    phone: str | None = None
    depot_refs: list[str] = strawberry.field(default_factory=list)


@strawberry.input(description="Deactivated users cannot sign in; their history keeps pointing at them.")
class SetUserActiveInput:
    external_ref: str
    active: bool


@strawberry.type
class DepotPayload:
    depot: DepotType | None = None
    errors: list[MutationError] = strawberry.field(default_factory=list)


@strawberry.type
class UserPayload:
    user: UserType | None = None
    errors: list[MutationError] = strawberry.field(default_factory=list)


@strawberry.type
class AdminQuery:
    @strawberry.field(permission_classes=[IsAdministrator], description="A depot of your tenant by your external ref.")
    async def depot_by_ref(self, info: Info, external_ref: str) -> DepotType | None:
        depot = await service.by_ref(session=info.context.session, model=Depot, tenant_id=info.context.viewer.tenant_id, external_ref=external_ref)
        return DepotType.from_row(depot) if depot else None

    @strawberry.field(permission_classes=[IsAdministrator], description="A user of your tenant by your external ref.")
    async def user_by_ref(self, info: Info, external_ref: str) -> UserType | None:
        user = await service.by_ref(session=info.context.session, model=User, tenant_id=info.context.viewer.tenant_id, external_ref=external_ref)
        return UserType.from_row(user) if user else None


@strawberry.type
class AdminMutation:
    @strawberry.mutation(permission_classes=[IsAdministrator], description="Add a depot to your tenant.")
    async def create_depot(self, info: Info, input: CreateDepotInput) -> DepotPayload:
        async def work() -> DepotPayload:
            async with unit_of_work(info.context.runtime) as uow:
                depot = await service.create_depot(
                    session=uow.session, tenant_id=info.context.viewer.tenant_id, name=input.name, lat=input.lat, lon=input.lon,
                    address=input.address, timezone=input.timezone, external_ref=input.external_ref,
                )
            return DepotPayload(depot=DepotType.from_row(depot))

        return await as_payload(DepotPayload, work)

    @strawberry.mutation(
        permission_classes=[IsAdministrator],
        description="Set what a depot's work costs: planRoutes minimises it, and a failed attempt is priced with it.",
    )
    async def set_depot_cost_model(self, info: Info, input: SetDepotCostModelInput) -> DepotPayload:
        async def work() -> DepotPayload:
            async with unit_of_work(info.context.runtime) as uow:
                depot = await service.by_ref(session=uow.session, model=Depot, tenant_id=info.context.viewer.tenant_id, external_ref=input.depot_ref)
                if depot is None:
                    raise DomainError(ErrorCode.NOT_FOUND, "depot not found", field="depotRef")
                await service.set_depot_costs(
                    session=uow.session, depot=depot, per_km_cents=input.cost_per_km_cents, per_hour_cents=input.cost_per_hour_cents,
                    per_failed_attempt_cents=input.cost_per_failed_attempt_cents,
                )
            return DepotPayload(depot=DepotType.from_row(depot))

        return await as_payload(DepotPayload, work)

    @strawberry.mutation(permission_classes=[IsAdministrator], description="Add a driver, dispatcher, supervisor, integrator or admin.")
    async def create_user(self, info: Info, input: CreateUserInput) -> UserPayload:
        async def work() -> UserPayload:
            viewer = info.context.viewer
            if Role(input.role) is Role.ADMIN and viewer.role is not Role.ADMIN:
                raise DomainError(ErrorCode.FORBIDDEN, "only an admin can create an admin", field="role")
            async with unit_of_work(info.context.runtime) as uow:
                depots = await service.refs_map(session=uow.session, model=Depot, tenant_id=viewer.tenant_id, refs=set(input.depot_refs))
                if len(depots) != len(set(input.depot_refs)):
                    raise DomainError(ErrorCode.NOT_FOUND, "a depot ref does not exist in your tenant", field="depotRefs")
                user = await service.create_user(session=uow.session, tenant_id=viewer.tenant_id, data=service.UserData(
                    email=input.email, name=input.name, role=Role(input.role), phone=input.phone, external_ref=input.external_ref,
                    depot_ids=tuple(d.id for d in depots.values()),
                ))
            return UserPayload(user=UserType.from_row(user))

        return await as_payload(UserPayload, work)

    @strawberry.mutation(permission_classes=[IsAdministrator], description="Deactivate (or reactivate) a user; nothing is deleted.")
    async def set_user_active(self, info: Info, input: SetUserActiveInput) -> UserPayload:
        async def work() -> UserPayload:
            async with unit_of_work(info.context.runtime) as uow:
                user = await service.by_ref(session=uow.session, model=User, tenant_id=info.context.viewer.tenant_id, external_ref=input.external_ref)
                if user is None:
                    raise DomainError(ErrorCode.NOT_FOUND, "user not found", field="externalRef")
                await service.set_active(session=uow.session, row=user, active=input.active)
            return UserPayload(user=UserType.from_row(user))

        return await as_payload(UserPayload, work)
