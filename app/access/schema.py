"""Queries and mutations of the access vault: thin resolvers over flows and services."""
from datetime import datetime

import strawberry

from app.access import flows, service
from app.access.crypto import AccessSecrets
from app.access.models import ProvidedBy, RefusalReason
from app.access.permissions import may_read_audit
from app.access.types import (
    AccessAuditEntryType,
    AccessCodesType,
    AccessGrantType,
    AccessProfileType,
    ProvidedByType,
    RefusalReasonType,
    SecretText,
)
from app.api.common import (
    as_changed,
    paginate,
    payload_type,
    Connection,
    MutationError,
    as_payload,
    check_page_size,
    decode_cursor,
    parse_id,
)
from app.api.context import Info
from app.auth.permissions import IsDriver, IsDriverOrStaff, IsStaff
from app.errors import DomainError, ErrorCode, invalid
from app.routes.schema import PositionInput

REFUSAL_MESSAGES: dict[RefusalReason, str] = {
    RefusalReason.RATE_LIMITED: "too many refused requests at this address; ask your dispatcher",
    RefusalReason.NOT_ASSIGNED: "this stop is not on your route",
    RefusalReason.NOT_TODAY: "this stop's route is not today's",
    RefusalReason.OUTSIDE_TIME_WINDOW: "codes are available only around the stop's time window",
    RefusalReason.NO_GPS_FIX: "no GPS position from your phone; send your position",
    RefusalReason.STALE_GPS_FIX: "your last GPS position is too old; send your position",
    RefusalReason.TOO_FAR: "you are not close enough to the address",
    RefusalReason.NO_ACCESS_PROFILE: "no access information is on file for this address",
    RefusalReason.NO_DIGITAL_KEY: "no digital key is on file for this address",
}


def _refused(reason: RefusalReason) -> list[MutationError]:
    return [MutationError(code=ErrorCode.ACCESS_REFUSED, message=REFUSAL_MESSAGES[reason], field="stopId")]


@strawberry.input(description="Codes are write-only: they are never returned by a profile query.")
class CreateAccessProfileInput:
    label: str
    address: str
    provided_by: ProvidedByType = ProvidedBy.DISPATCHER
    customer_id: strawberry.ID | None = strawberry.field(default=None, description="Makes the profile personal to one customer.")
    lat: float | None = None
    lon: float | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    gate_code: SecretText | None = None
    entry_code: SecretText | None = None
    instructions: SecretText | None = strawberry.field(default=None, description="Concierge or intercom instructions; kept in the vault.")
    digital_key_provider: str | None = None
    digital_key_id: SecretText | None = None


@strawberry.input(description="Only the fields you send change; send null to clear a code.")
class UpdateAccessProfileInput:
    id: strawberry.ID
    expected_version: int
    label: str | None = strawberry.UNSET
    address: str | None = strawberry.UNSET
    provided_by: ProvidedByType | None = strawberry.UNSET
    customer_id: strawberry.ID | None = strawberry.UNSET
    lat: float | None = strawberry.UNSET
    lon: float | None = strawberry.UNSET
    valid_from: datetime | None = strawberry.UNSET
    valid_until: datetime | None = strawberry.UNSET
    gate_code: SecretText | None = strawberry.UNSET
    entry_code: SecretText | None = strawberry.UNSET
    instructions: SecretText | None = strawberry.UNSET
    digital_key_provider: str | None = strawberry.UNSET
    digital_key_id: SecretText | None = strawberry.UNSET


@strawberry.input
class RevealAccessCodeInput:
    stop_id: strawberry.ID
    position: PositionInput | None = strawberry.field(default=None, description="Where the phone is now; stored as a GPS fix.")


@strawberry.input
class GrantAccessInput:
    stop_id: strawberry.ID
    code: SecretText | None = strawberry.field(default=None, description="A one-time code to hand over; without one the driver may reveal the profile's codes once, whatever the window or GPS.")
    ttl_minutes: int | None = strawberry.field(default=None, description="Minutes until the grant expires if unused.")
    note: str = ""


@strawberry.input
class UnlockWithDigitalKeyInput:
    stop_id: strawberry.ID
    position: PositionInput | None = None


AccessProfilePayload = payload_type("AccessProfilePayload", "profile", AccessProfileType)


@strawberry.type
class RevealAccessCodePayload:
    codes: AccessCodesType | None = None
    refusal_reason: RefusalReasonType | None = None
    errors: list[MutationError] = strawberry.field(default_factory=list)


GrantAccessPayload = payload_type("GrantAccessPayload", "grant", AccessGrantType)


@strawberry.type
class UnlockWithDigitalKeyPayload:
    unlocked: bool = False
    refusal_reason: RefusalReasonType | None = None
    audit: AccessAuditEntryType | None = None
    errors: list[MutationError] = strawberry.field(default_factory=list)


async def _staff_stop(info: Info, stop_id: strawberry.ID):  # noqa: ANN202
    try:
        number = parse_id(stop_id, "stop", "stopId")
    except DomainError:
        return None
    found = await service.stop_with_route(session=info.context.session, tenant_id=info.context.viewer.tenant_id, stop_id=number)
    return found if found and may_read_audit(info.context.viewer, found[1]) else None


@strawberry.type
class AccessQuery:
    @strawberry.field(permission_classes=[IsStaff], description="Dispatcher: one access profile (never its codes).")
    async def access_profile(self, info: Info, id: strawberry.ID) -> AccessProfileType | None:
        try:
            profile_id = parse_id(id, "access profile")
        except DomainError:
            return None
        row = await service.get_profile(session=info.context.session, tenant_id=info.context.viewer.tenant_id, profile_id=profile_id)
        return AccessProfileType.from_row(row) if row else None

    @strawberry.field(permission_classes=[IsStaff], description="Dispatcher: access profiles, newest first.")
    async def access_profiles(
        self, info: Info, customer_id: strawberry.ID | None = None, first: int = 20, after: str | None = None
    ) -> Connection[AccessProfileType]:
        rows = await service.list_profiles(
            session=info.context.session, tenant_id=info.context.viewer.tenant_id,
            customer_id=parse_id(customer_id, "customer", "customerId") if customer_id else None,
            first=check_page_size(first), before_id=decode_cursor("access_profile", after),
        )
        return paginate("access_profile", rows, first=first, after=after, to_node=AccessProfileType.from_row)

    @strawberry.field(permission_classes=[IsStaff], description="Dispatcher: the profile a stop uses right now, if any.")
    async def access_profile_for_stop(self, info: Info, stop_id: strawberry.ID) -> AccessProfileType | None:
        found = await _staff_stop(info, stop_id)
        if found is None:
            return None
        row = await service.profile_for_stop(
            session=info.context.session, stop=found[0], now=info.context.runtime.clock.now(),
            building_radius_m=info.context.runtime.settings.access_building_match_m,
        )
        return AccessProfileType.from_row(row) if row else None

    @strawberry.field(permission_classes=[IsStaff], description="Dispatcher: every reveal, refusal and unlock at a stop, newest first.")
    async def access_audit(
        self, info: Info, stop_id: strawberry.ID, first: int = 50, after: str | None = None
    ) -> Connection[AccessAuditEntryType]:
        check_page_size(first)
        found = await _staff_stop(info, stop_id)
        if found is None:
            return paginate("access_audit", [], first=first, after=after, to_node=AccessAuditEntryType.from_row)
        rows = await service.audit_page(
            session=info.context.session, tenant_id=info.context.viewer.tenant_id, stop_id=found[0].id,
            first=first, before_id=decode_cursor("access_audit", after),
        )
        return paginate("access_audit", rows, first=first, after=after, to_node=AccessAuditEntryType.from_row)


SECRET_INPUTS = ("gate_code", "entry_code", "instructions", "digital_key_id")
REQUIRED_INPUTS = ("label", "address", "provided_by")


@strawberry.type
class AccessMutation:
    @strawberry.mutation(permission_classes=[IsStaff], description="Dispatcher: store how to get into an address.")
    async def create_access_profile(self, info: Info, input: CreateAccessProfileInput) -> AccessProfilePayload:
        async def work() -> AccessProfilePayload:
            fields = service.ProfileFields(
                label=input.label, address=input.address, provided_by=input.provided_by,
                customer_id=parse_id(input.customer_id, "customer", "customerId") if input.customer_id else None,
                lat=input.lat, lon=input.lon, valid_from=input.valid_from, valid_until=input.valid_until,
                digital_key_provider=input.digital_key_provider,
            )
            secrets = AccessSecrets().replace(**{name: getattr(input, name) for name in SECRET_INPUTS})
            profile = await flows.create_profile(info.context.runtime, info.context.viewer, fields=fields, secrets=secrets)
            return AccessProfilePayload(profile=AccessProfileType.from_row(profile))

        return await as_payload(AccessProfilePayload, work)

    @strawberry.mutation(permission_classes=[IsStaff], description="Dispatcher: change a profile, e.g. the code the customer just sent.")
    async def update_access_profile(self, info: Info, input: UpdateAccessProfileInput) -> AccessProfilePayload:
        async def work() -> AccessProfilePayload:
            sent = {name: value for name, value in vars(input).items() if value is not strawberry.UNSET}
            for name in REQUIRED_INPUTS:
                if name in sent and sent[name] is None:
                    raise invalid(f"{name} cannot be null", name)
            if sent.get("customer_id") is not None:
                sent["customer_id"] = parse_id(sent["customer_id"], "customer", "customerId")
            secret_changes = {name: sent.pop(name) for name in SECRET_INPUTS if name in sent}
            profile = await flows.update_profile(
                info.context.runtime, info.context.viewer, profile_id=parse_id(sent.pop("id"), "access profile"),
                expected_version=sent.pop("expected_version"), field_changes=sent, secret_changes=secret_changes,
            )
            return AccessProfilePayload(profile=AccessProfileType.from_row(profile))

        return await as_payload(AccessProfilePayload, work)

    @strawberry.mutation(permission_classes=[IsDriver], description="Driver: the stop's entry codes, at the door, in the time window.")
    async def reveal_access_code(self, info: Info, input: RevealAccessCodeInput) -> RevealAccessCodePayload:
        async def work() -> RevealAccessCodePayload:
            reveal = await flows.reveal_access_code(
                info.context.runtime, info.context.viewer, stop_id=parse_id(input.stop_id, "stop", "stopId"),
                position=input.position.as_tuple() if input.position else None,
            )
            if reveal.refusal is not None:
                return RevealAccessCodePayload(refusal_reason=reveal.refusal, errors=_refused(reveal.refusal))
            one_time = reveal.one_time_code.get_secret_value() if reveal.one_time_code else None
            return RevealAccessCodePayload(codes=AccessCodesType.from_reveal(reveal.secrets, one_time, reveal.profile))

        return await as_payload(RevealAccessCodePayload, work)

    @strawberry.mutation(permission_classes=[IsStaff], description="Dispatcher: let the stop's driver in once, after verifying remotely.")
    async def grant_access(self, info: Info, input: GrantAccessInput) -> GrantAccessPayload:
        return await as_changed(GrantAccessPayload, lambda: flows.grant_access(
            info.context.runtime, info.context.viewer, stop_id=parse_id(input.stop_id, "stop", "stopId"),
            code=input.code, ttl_minutes=input.ttl_minutes, note=input.note,
        ))

    @strawberry.mutation(permission_classes=[IsDriverOrStaff], description="Open the stop's smart lock: the driver at the door, or a dispatcher remotely.")
    async def unlock_with_digital_key(self, info: Info, input: UnlockWithDigitalKeyInput) -> UnlockWithDigitalKeyPayload:
        async def work() -> UnlockWithDigitalKeyPayload:
            unlock = await flows.unlock_with_digital_key(
                info.context.runtime, info.context.viewer, stop_id=parse_id(input.stop_id, "stop", "stopId"),
                position=input.position.as_tuple() if input.position else None,
            )
            entry, audit = unlock.entry, AccessAuditEntryType.from_row(unlock.entry)
            if entry.refusal_reason is not None:
                return UnlockWithDigitalKeyPayload(refusal_reason=entry.refusal_reason, audit=audit, errors=_refused(entry.refusal_reason))
            if not unlock.unlocked:
                error = MutationError(code=ErrorCode.DIGITAL_KEY_FAILED, message=entry.detail, field="stopId")
                return UnlockWithDigitalKeyPayload(audit=audit, errors=[error])
            return UnlockWithDigitalKeyPayload(unlocked=True, audit=audit)

        return await as_payload(UnlockWithDigitalKeyPayload, work)
