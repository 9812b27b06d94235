"""Operator commands: `detour tenant|depot|user|vehicle create` and `detour import routes FILE`."""
import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

from app.config import Settings
from app.errors import DomainError, ErrorCode

ROLES = ("driver", "dispatcher", "supervisor", "integrator", "admin")


async def _with_runtime(settings: Settings, work: Callable[[Any], Awaitable[str]]) -> str:
    from app.bootstrap import bootstrap

    runtime = bootstrap(settings)
    try:
        return await work(runtime)
    finally:
        await runtime.engine.dispose()


async def _tenant(session: Any, slug: str) -> Any:
    from app.tenants.service import get_tenant_by_slug

    tenant = await get_tenant_by_slug(session=session, slug=slug)
    if tenant is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"no tenant {slug!r}; create it with `detour tenant create`", field="tenant")
    return tenant


async def _depot(session: Any, tenant_id: int, ref: str) -> Any:
    from app.tenants.models import Depot
    from app.tenants.service import by_ref

    depot = await by_ref(session=session, model=Depot, tenant_id=tenant_id, external_ref=ref)
    if depot is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"no depot with ref {ref!r}; create it with `detour depot create`", field="depot")
    return depot


def cmd_tenant_create(args: argparse.Namespace, settings: Settings) -> str:
    from app.runtime import unit_of_work
    from app.tenants import service
    from app.tenants.models import SubjectClaim

    async def work(runtime: Any) -> str:
        async with unit_of_work(runtime) as uow:
            tenant = await service.create_tenant(session=uow.session, slug=args.slug, name=args.name, timezone=args.timezone, currency=args.currency)
            if args.oidc_issuer:
                oidc = service.OidcSettings(args.oidc_issuer, args.oidc_audience or "", args.oidc_jwks_url, SubjectClaim(args.oidc_subject_claim))
                await service.set_oidc(session=uow.session, tenant=tenant, oidc=oidc)
            return f"tenant {tenant.slug!r} created (id {tenant.id})"

    return asyncio.run(_with_runtime(settings, work))


def cmd_depot_create(args: argparse.Namespace, settings: Settings) -> str:
    from app.runtime import unit_of_work
    from app.tenants import service

    async def work(runtime: Any) -> str:
        async with unit_of_work(runtime) as uow:
            tenant = await _tenant(uow.session, args.tenant)
            depot = await service.create_depot(
                session=uow.session, tenant_id=tenant.id, name=args.name, lat=args.lat, lon=args.lon, address=args.address,
                timezone=args.timezone or tenant.timezone, external_ref=args.ref,
            )
            return f"depot {depot.external_ref!r} created (id {depot.id})"

    return asyncio.run(_with_runtime(settings, work))


def cmd_user_create(args: argparse.Namespace, settings: Settings) -> str:
    from app.runtime import unit_of_work
    from app.tenants import service
    from app.tenants.models import Role

    async def work(runtime: Any) -> str:
        async with unit_of_work(runtime) as uow:
            tenant = await _tenant(uow.session, args.tenant)
            depots = [(await _depot(uow.session, tenant.id, ref)).id for ref in args.depot or []]
            user = await service.create_user(session=uow.session, tenant_id=tenant.id, data=service.UserData(
                email=args.email, name=args.name, role=Role(args.role), phone=args.phone, external_ref=args.ref, depot_ids=tuple(depots),
            ))
            return f"{user.role.value} {user.email} created (id {user.id})"

    return asyncio.run(_with_runtime(settings, work))


def cmd_vehicle_create(args: argparse.Namespace, settings: Settings) -> str:
    from app.planning.fleet import create_vehicle
    from app.runtime import unit_of_work

    async def work(runtime: Any) -> str:
        async with unit_of_work(runtime) as uow:
            tenant = await _tenant(uow.session, args.tenant)
            depot = await _depot(uow.session, tenant.id, args.depot)
            vehicle = await create_vehicle(
                session=uow.session, tenant_id=tenant.id, depot_id=depot.id, label=args.label, capacity=args.capacity,
                skills=tuple(args.skill or ()), external_ref=args.ref,
            )
            return f"vehicle {vehicle.label!r} created (id {vehicle.id})"

    return asyncio.run(_with_runtime(settings, work))


def _progress(done: int, total: int) -> None:
    width = 30
    filled = width * done // max(total, 1)
    sys.stderr.write(f"\rwriting routes [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def summary_table(summary: Any, *, dry_run: bool) -> str:
    rows = [
        ("routes", summary.routes_created, summary.routes_updated, summary.routes_unchanged),
        ("stops", summary.stops_created, summary.stops_updated, summary.stops_unchanged),
        ("customers", summary.customers_created, summary.customers_updated, "-"),
        ("parcels", summary.parcels_created, summary.parcels_updated, "-"),
    ]
    lines = [f"{'':<10} {'created':>8} {'updated':>8} {'unchanged':>10}"]
    lines += [f"{name:<10} {c:>8} {u:>8} {k:>10}" for name, c, u, k in rows]
    if summary.stops_unassigned:
        lines.append(f"stops without a route, for planRoutes: {summary.stops_unassigned}")
    if summary.stops_started_kept or summary.stops_removed:
        lines.append(f"stops already attempted, kept as they are: {summary.stops_started_kept}; removed from the plan: {summary.stops_removed}")
    lines.append("dry run: nothing was written" if dry_run else ("nothing changed" if not summary.changed else "import committed"))
    return "\n".join(lines)


def cmd_import_routes(args: argparse.Namespace, settings: Settings) -> str:
    from app.planning.files import read_plan_file
    from app.planning.imports import import_route_plan

    async def work(runtime: Any) -> str:
        async with runtime.sessionmaker() as session:
            tenant = await _tenant(session, args.tenant)
            depot = await _depot(session, tenant.id, args.depot)
        plan = read_plan_file(Path(args.file), service_date=args.date, depot_ref=args.depot, timezone=depot.timezone)
        summary = await import_route_plan(
            runtime, tenant_id=tenant.id, plan=plan, dry_run=args.dry_run, max_stops=None, progress=_progress,
        )
        return summary_table(summary, dry_run=args.dry_run)

    return asyncio.run(_with_runtime(settings, work))


def _run(command: Callable[[argparse.Namespace, Settings], str], settings_factory: Callable[[], Settings]) -> Callable[[argparse.Namespace], int]:
    from app.planning.plan import PlanRejected

    def run(args: argparse.Namespace) -> int:
        try:
            print(command(args, settings_factory()))
        except PlanRejected as rejected:
            print(f"refused, nothing was written: {len(rejected.errors)} bad value(s)", file=sys.stderr)
            for error in rejected.errors:
                print(f"  {error.path}: {error.field}: {error.code.value}: {error.message}", file=sys.stderr)
            return 1
        except DomainError as error:
            print(f"error: {error.message}" + (f" ({error.field})" if error.field else ""), file=sys.stderr)
            return 1
        return 0

    return run


def register(sub: Any, settings_factory: Callable[[], Settings]) -> None:
    """Add the administration and import commands to the `detour` parser."""
    tenant = sub.add_parser("tenant", help="administer tenants").add_subparsers(dest="action", required=True)
    p = tenant.add_parser("create", help="create a tenant (a fleet)")
    p.add_argument("--slug", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--timezone", default="UTC")
    p.add_argument("--currency", default="EUR")
    p.add_argument("--oidc-issuer", help="the fleet's OpenID Connect issuer (its tokens are accepted)")
    p.add_argument("--oidc-audience")
    p.add_argument("--oidc-jwks-url", help="default: the jwks_uri of the issuer's discovery document")
    p.add_argument("--oidc-subject-claim", choices=["sub", "email"], default="sub", help="sub matches a user's --ref, email their email")
    p.set_defaults(func=_run(cmd_tenant_create, settings_factory))

    p = sub.add_parser("depot", help="administer depots").add_subparsers(dest="action", required=True).add_parser("create")
    p.add_argument("--tenant", required=True)
    p.add_argument("--ref", required=True, help="your system's id for the depot (externalRef)")
    p.add_argument("--name", required=True)
    p.add_argument("--lat", type=float, required=True)
    p.add_argument("--lon", type=float, required=True)
    p.add_argument("--address", default="")
    p.add_argument("--timezone", help="default: the tenant's")
    p.set_defaults(func=_run(cmd_depot_create, settings_factory))

    p = sub.add_parser("user", help="administer users").add_subparsers(dest="action", required=True).add_parser("create")
    p.add_argument("--tenant", required=True)
    p.add_argument("--role", choices=ROLES, required=True)
    p.add_argument("--email", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--phone")
    p.add_argument("--ref", help="externalRef; the `sub` of their identity provider's tokens")
    p.add_argument("--depot", action="append", help="a depot ref they work for (repeatable)")
    p.set_defaults(func=_run(cmd_user_create, settings_factory))

    p = sub.add_parser("vehicle", help="administer vehicles").add_subparsers(dest="action", required=True).add_parser("create")
    p.add_argument("--tenant", required=True)
    p.add_argument("--depot", required=True, help="depot ref")
    p.add_argument("--ref", required=True)
    p.add_argument("--label", required=True)
    p.add_argument("--capacity", type=int, default=150, help="parcels")
    p.add_argument("--skill", action="append")
    p.set_defaults(func=_run(cmd_vehicle_create, settings_factory))

    imports = sub.add_parser("import", help="import data files").add_subparsers(dest="what", required=True)
    p = imports.add_parser("routes", help="import a day's route plan from a CSV (layout in the README) or JSON file")
    p.add_argument("file")
    p.add_argument("--tenant", required=True)
    p.add_argument("--date", type=date.fromisoformat, required=True, help="service date, YYYY-MM-DD")
    p.add_argument("--depot", required=True, help="depot ref")
    p.add_argument("--dry-run", action="store_true", help="validate and count, write nothing")
    p.set_defaults(func=_run(cmd_import_routes, settings_factory))
