"""Access work with side effects: every decision is audited in the same transaction, alerts go out after commit."""
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import SecretStr
from sqlmodel.ext.asyncio.session import AsyncSession

from app.access import service
from app.access.crypto import AccessSecrets, Vault, open_secrets, vault_for
from app.access.models import (
    NOT_COUNTED_REFUSALS,
    AccessAction,
    AccessAuditEntry,
    AccessGrant,
    AccessOutcome,
    AccessProfile,
    ProvidedBy,
    RefusalReason,
)
from app.access.permissions import may_act_on_stop
from app.access.providers import UnlockResult
from app.access.rules import Fix, RevealPolicy, RevealRequest, Verdict, judge
from app.auth.principal import Principal
from app.delivery_exceptions.models import ExceptionEvent, ExceptionKind
from app.events import ExceptionReported
from app.errors import invalid, not_found
from app.realtime.bus import Notice, depot_channel, route_channel
from app.routes.models import Route, Stop
from app.runtime import Runtime, UnitOfWork, unit_of_work
from app.tenants.models import Depot
from app.tracking import service as tracking
from app.tracking.models import DriverLastPosition

Position = tuple[float, float, float | None]


@dataclass(frozen=True)
class Reveal:
    """The outcome of a reveal: the secrets, or why not; the audit entry either way."""

    entry: AccessAuditEntry
    secrets: AccessSecrets | None = None
    one_time_code: SecretStr | None = None
    profile: AccessProfile | None = None

    @property
    def refusal(self) -> RefusalReason | None:
        return self.entry.refusal_reason


@dataclass(frozen=True)
class Unlock:
    entry: AccessAuditEntry

    @property
    def unlocked(self) -> bool:
        return self.entry.outcome is AccessOutcome.ALLOWED


@dataclass
class _Attempt:
    """What the rules decided for one driver at one stop, with what they looked at."""

    stop: Stop
    route: Route
    verdict: Verdict
    fix: DriverLastPosition | None
    grant: AccessGrant | None
    refusals: int


async def _load_stop(uow: UnitOfWork, principal: Principal, stop_id: int) -> tuple[Stop, Route, Depot]:
    found = await service.stop_with_route(session=uow.session, tenant_id=principal.tenant_id, stop_id=stop_id)
    if found is None or not may_act_on_stop(principal, found[1]):
        raise not_found("stop", "stopId")
    return found


async def _judge_driver(
    uow: UnitOfWork, runtime: Runtime, principal: Principal, stop_id: int, position: Position | None, now: datetime
) -> _Attempt:
    """Store the fix the app sent with the request, then apply the reveal rules."""
    session, policy = uow.session, RevealPolicy.from_settings(runtime.settings)
    stop, route, depot = await _load_stop(uow, principal, stop_id)
    if position is not None and route.driver_id == principal.user_id:
        fixes = tracking.validate_fixes([tracking.Fix(recorded_at=now, lat=position[0], lon=position[1], accuracy_m=position[2])])
        await tracking.store_fixes(session=session, tenant_id=principal.tenant_id, driver_id=principal.user_id, fixes=fixes)
    fix = await service.last_fix(session=session, tenant_id=principal.tenant_id, driver_id=principal.user_id)
    grant = await service.active_grant(session=session, stop_id=stop.id, driver_id=principal.user_id, now=now)
    refusals = await service.count_recent_refusals(
        session=session, actor_id=principal.user_id, address=stop.address, since=now - policy.refusal_window
    )
    verdict = judge(
        RevealRequest(
            now=now, driver_id=principal.user_id, route_driver_id=route.driver_id, service_date=route.service_date,
            depot_today=now.astimezone(ZoneInfo(depot.timezone)).date(), window_start=stop.window_start,
            window_end=stop.window_end, stop_lat=stop.lat, stop_lon=stop.lon,
            fix=Fix(fix.lat, fix.lon, fix.recorded_at) if fix else None, recent_refusals=refusals, has_grant=grant is not None,
        ),
        policy,
    )
    return _Attempt(stop, route, verdict, fix, grant, refusals)


def _record(
    uow: UnitOfWork, runtime: Runtime, principal: Principal, attempt: _Attempt, action: AccessAction, *,
    refusal: RefusalReason | None = None, outcome: AccessOutcome | None = None, profile: AccessProfile | None = None,
    grant: AccessGrant | None = None, detail: str = "",
) -> AccessAuditEntry:
    """Audit one decision; the refusal that reaches the limit alerts the depot's dispatchers."""
    fix = attempt.fix
    entry = service.record(
        session=uow.session, tenant_id=principal.tenant_id, stop_id=attempt.stop.id, profile_id=profile.id if profile else None,
        grant_id=grant.id if grant else None, actor_id=principal.user_id, actor_role=principal.role.value, action=action,
        outcome=outcome or (AccessOutcome.REFUSED if refusal else AccessOutcome.ALLOWED), refusal_reason=refusal,
        address_key=service.address_key(attempt.stop.address), lat=fix.lat if fix else None, lon=fix.lon if fix else None,
        distance_m=round(attempt.verdict.distance_m, 1) if attempt.verdict.distance_m is not None else None,
        fix_recorded_at=fix.recorded_at if fix else None, detail=detail,
    )
    counted = refusal is not None and refusal not in NOT_COUNTED_REFUSALS
    if counted and attempt.refusals + 1 == runtime.settings.access_refusal_limit:
        uow.notify(Notice(depot_channel(principal.tenant_id, attempt.route.depot_id), {
            "type": "ACCESS_RATE_LIMITED", "driverId": principal.user_id, "stopId": attempt.stop.id,
            "routeId": attempt.route.id, "refusals": attempt.refusals + 1,
        }))
    return entry


async def reveal_access_code(runtime: Runtime, principal: Principal, *, stop_id: int, position: Position | None) -> Reveal:
    """Driver: the stop's entry codes when every rule allows it (or a dispatcher's grant stands in for them)."""
    now, vault = runtime.clock.now(), vault_for(runtime.settings)
    async with unit_of_work(runtime) as uow:
        attempt = await _judge_driver(uow, runtime, principal, stop_id, position, now)
        if not attempt.verdict.allowed:
            return Reveal(_record(uow, runtime, principal, attempt, AccessAction.REVEAL, refusal=attempt.verdict.refusal))
        profile = await service.profile_for_stop(
            session=uow.session, stop=attempt.stop, now=now, building_radius_m=runtime.settings.access_building_match_m
        )
        grant = attempt.grant
        if profile is None and (grant is None or grant.code_sealed is None):
            return Reveal(_record(uow, runtime, principal, attempt, AccessAction.REVEAL, refusal=RefusalReason.NO_ACCESS_PROFILE))
        if grant is not None and not await service.spend_grant(session=uow.session, grant=grant, now=now):
            grant = None  # a parallel request spent it; this one gets only what the profile allows
            if profile is None:
                return Reveal(_record(uow, runtime, principal, attempt, AccessAction.REVEAL, refusal=RefusalReason.NO_ACCESS_PROFILE))
        one_time = open_secrets(vault, grant.code_sealed, tenant_id=grant.tenant_id).gate_code if grant and grant.code_sealed else None
        secrets = open_secrets(vault, profile.secrets_sealed, tenant_id=profile.tenant_id) if profile else None
        entry = _record(
            uow, runtime, principal, attempt, AccessAction.REVEAL, profile=profile, grant=grant,
            detail="revealed under a dispatcher's grant" if grant else "",
        )
        return Reveal(entry, secrets=secrets, one_time_code=one_time, profile=profile)


async def grant_access(
    runtime: Runtime, principal: Principal, *, stop_id: int, code: str | None, ttl_minutes: int | None, note: str
) -> AccessGrant:
    """Dispatcher: a one-time permission (optionally with a one-time code) for the stop's driver."""
    ttl = ttl_minutes or runtime.settings.access_grant_ttl_minutes
    if not 1 <= ttl <= 120:
        raise invalid("a grant lasts 1 to 120 minutes", "ttlMinutes")
    now = runtime.clock.now()
    async with unit_of_work(runtime) as uow:
        stop, route, _ = await _load_stop(uow, principal, stop_id)
        if route.driver_id is None:
            raise invalid("the stop's route has no driver to grant access to", "stopId")
        grant = service.create_grant(
            session=uow.session, vault=vault_for(runtime.settings), stop=stop, driver_id=route.driver_id,
            granted_by_id=principal.user_id, code=code, note=note, expires_at=now + timedelta(minutes=ttl),
        )
        await uow.session.flush()
        attempt = _Attempt(stop, route, Verdict(None), None, None, 0)
        _record(uow, runtime, principal, attempt, AccessAction.GRANT_CREATED, grant=grant,
                detail=f"{'one-time code' if code else 'override'} for driver {route.driver_id}, {ttl} min")
        uow.notify(Notice(route_channel(principal.tenant_id, route.id), {
            "type": "ACCESS_GRANTED", "stopId": stop.id, "grantId": grant.id, "expiresAt": grant.expires_at.isoformat(),
        }))
        return grant


async def unlock_with_digital_key(runtime: Runtime, principal: Principal, *, stop_id: int, position: Position | None) -> Unlock:
    """Open the stop's smart lock: a driver under the reveal rules, a dispatcher remotely; audited either way."""
    now, vault = runtime.clock.now(), vault_for(runtime.settings)
    async with unit_of_work(runtime) as uow:
        if principal.is_driver:
            attempt = await _judge_driver(uow, runtime, principal, stop_id, position, now)
        else:
            stop, route, _ = await _load_stop(uow, principal, stop_id)
            attempt = _Attempt(stop, route, Verdict(None), None, None, 0)
        if not attempt.verdict.allowed:
            return Unlock(_record(uow, runtime, principal, attempt, AccessAction.DIGITAL_KEY_UNLOCK, refusal=attempt.verdict.refusal))
        profile = await service.profile_for_stop(
            session=uow.session, stop=attempt.stop, now=now, building_radius_m=runtime.settings.access_building_match_m
        )
        if profile is None or not profile.has_digital_key:
            return Unlock(_record(uow, runtime, principal, attempt, AccessAction.DIGITAL_KEY_UNLOCK, refusal=RefusalReason.NO_DIGITAL_KEY, profile=profile))
        key_id = open_secrets(vault, profile.secrets_sealed, tenant_id=profile.tenant_id).digital_key_id
    # The provider is called outside the transaction: no row stays locked while a lock on a door answers.
    provider = runtime.lock_providers(runtime.settings, profile.digital_key_provider) if runtime.lock_providers else None
    reference = f"detour-{uuid.uuid4().hex}"
    if provider is None:
        result = UnlockResult(False, f"no lock provider {profile.digital_key_provider!r} is configured")
    else:
        result = await provider.unlock(key_id=key_id, reference=reference)
    async with unit_of_work(runtime) as uow:
        grant = attempt.grant if result.unlocked else None
        if grant is not None and not await service.spend_grant(session=uow.session, grant=grant, now=uow.clock.now()):
            grant = None
        entry = _record(
            uow, runtime, principal, attempt, AccessAction.DIGITAL_KEY_UNLOCK, profile=profile, grant=grant,
            outcome=AccessOutcome.ALLOWED if result.unlocked else AccessOutcome.FAILED, detail=f"{result.detail} [{reference}]",
        )
    return Unlock(entry)


async def create_profile(
    runtime: Runtime, principal: Principal, *, fields: service.ProfileFields, secrets: AccessSecrets
) -> AccessProfile:
    async with unit_of_work(runtime) as uow:
        profile = await service.create_profile(
            session=uow.session, vault=vault_for(runtime.settings), tenant_id=principal.tenant_id,
            actor_id=principal.user_id, fields=fields, secrets=secrets,
        )
        _audit_profile(uow, principal, profile, AccessAction.PROFILE_CREATED)
        return profile


async def update_profile(
    runtime: Runtime, principal: Principal, *, profile_id: int, expected_version: int,
    field_changes: dict, secret_changes: dict[str, str | None],
) -> AccessProfile:
    """Change a profile, e.g. the code the customer just sent; only the named fields change."""
    async with unit_of_work(runtime) as uow:
        profile = await service.get_profile(session=uow.session, tenant_id=principal.tenant_id, profile_id=profile_id)
        if profile is None:
            raise not_found("access profile")
        fields = service.ProfileFields(**{**service.fields_of(profile), **field_changes})
        await service.update_profile(
            session=uow.session, vault=vault_for(runtime.settings), profile=profile, actor_id=principal.user_id,
            expected_version=expected_version, fields=fields, secret_changes=secret_changes,
        )
        changed = sorted([*field_changes, *secret_changes])
        _audit_profile(uow, principal, profile, AccessAction.PROFILE_UPDATED, detail="changed: " + ", ".join(changed))
        return profile


def _audit_profile(uow: UnitOfWork, principal: Principal, profile: AccessProfile, action: AccessAction, detail: str = "") -> None:
    service.record(
        session=uow.session, tenant_id=principal.tenant_id, profile_id=profile.id, actor_id=principal.user_id,
        actor_role=principal.role.value, action=action, outcome=AccessOutcome.ALLOWED, address_key=profile.address_key,
        detail=detail[:500],
    )


async def annotate_access_denied_report(uow: UnitOfWork, event: ExceptionReported) -> None:
    """In-transaction handler: an ACCESS_DENIED report carries the access profile's non-secret summary to the live queue."""
    if event.kind != ExceptionKind.ACCESS_DENIED.value:
        return
    entry = await uow.session.get(ExceptionEvent, event.event_id)
    stop = await uow.session.get(Stop, event.stop_id)
    summary = await service.denied_report_summary(
        session=uow.session, stop=stop, now=uow.clock.now(), building_radius_m=uow.settings.access_building_match_m,
    )
    entry.payload = {**entry.payload, "access": summary}
    uow.session.add(entry)


async def save_customer_access(
    uow: UnitOfWork, *, vault: Vault, stop: Stop, instructions: str | None = None, gate_code: str | None = None,
    entry_code: str | None = None,
) -> AccessProfile:
    """Self-service: the customer's own profile gets what they sent (into the vault), inside the caller's unit of work."""
    session = uow.session
    sent = {k: v.strip() for k, v in (("instructions", instructions), ("gate_code", gate_code), ("entry_code", entry_code)) if v and v.strip()}
    if not sent:
        raise invalid("send instructions or a code", "instructions")
    profile = await service.personal_profile(session=session, tenant_id=stop.tenant_id, customer_id=stop.customer_id)
    if profile is None:
        fields = service.ProfileFields(
            label="Provided by the customer", address=stop.address, provided_by=ProvidedBy.CUSTOMER, customer_id=stop.customer_id,
        )
        profile = await service.create_profile(
            session=session, vault=vault, tenant_id=stop.tenant_id, actor_id=None, fields=fields, secrets=AccessSecrets().replace(**sent),
        )
        action = AccessAction.PROFILE_CREATED
    else:
        fields = service.ProfileFields(**{**service.fields_of(profile), "provided_by": ProvidedBy.CUSTOMER})
        await service.update_profile(
            session=session, vault=vault, profile=profile, actor_id=None, expected_version=profile.version, fields=fields,
            secret_changes=sent,
        )
        action = AccessAction.PROFILE_UPDATED
    service.record(
        session=session, tenant_id=stop.tenant_id, stop_id=stop.id, profile_id=profile.id, actor_id=None, actor_role="customer",
        action=action, outcome=AccessOutcome.ALLOWED, address_key=profile.address_key, detail="changed: " + ", ".join(sorted(sent)),
    )
    return profile
