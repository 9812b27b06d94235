"""`detour serve | worker | migrate | seed | simulate | export-schema | token | tenant | depot | user | vehicle | import`."""
import argparse
import asyncio
import sys
from pathlib import Path

from sqlmodel import select

from app.config import Settings, get_settings


def _database_ready(settings: Settings) -> bool:
    """True when the command can use the database; otherwise says where it looked and what to run (exit 1)."""
    from app.dbcheck import database_problem

    problem = database_problem(settings.database_url)
    if problem is not None:
        print(f"detour: {problem}", file=sys.stderr)
    return problem is None


def _unreachable(settings: Settings, error: Exception) -> int:
    """A database that refused the command: one line on stderr, no traceback (the password stays hidden)."""
    from app.dbcheck import WHAT_TO_RUN, shown_url

    print(f"detour: the database at {shown_url(settings.database_url)} could not be used ({error.__class__.__name__}); "
          f"check that it is running and migrated: {WHAT_TO_RUN}", file=sys.stderr)
    return 1


def _seed() -> str:
    """Create the demo tenant, or seed it again when its service date has passed (other tenants untouched)."""
    from app.bootstrap import bootstrap
    from app.demo.day import ensure_demo_day

    async def run() -> str:
        runtime = bootstrap(get_settings())
        try:
            return await ensure_demo_day(runtime)
        finally:
            await runtime.engine.dispose()

    return asyncio.run(run())


def cmd_migrate(args: argparse.Namespace) -> int:
    from app import migrate

    settings = get_settings()
    url, keys = settings.database_url, settings.access_encryption_keys
    if args.direction == "downgrade":
        migrate.downgrade(url, args.revision or "-1", encryption_keys=keys)
    else:
        migrate.upgrade(url, args.revision or "head", encryption_keys=keys)
    print(f"migrations: {args.direction} done")
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    if not _database_ready(get_settings()):
        return 1
    if args.scale is None:
        try:
            print(_seed())
        except (OSError, SQLAlchemyError) as error:
            return _unreachable(get_settings(), error)
        return 0
    from app.analytics.progress import seed_history

    if args.scale < 1 or args.days < 1:
        print("--scale and --days must be positive", file=sys.stderr)
        return 2
    print(asyncio.run(seed_history(get_settings(), exceptions=args.scale, days=args.days, slug=args.slug)))
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from app.auth.scopes import ALL_SCOPES
    from app.auth.tokens import Claims, issue_token
    from app.bootstrap import bootstrap
    from app.seed import DEMO_SLUG
    from app.tenants.models import Role, Tenant, User

    from sqlalchemy.exc import SQLAlchemyError

    settings = get_settings()
    if not _database_ready(settings):
        return 1

    async def find() -> User | None:
        runtime = bootstrap(settings)
        try:
            async with runtime.sessionmaker() as session:
                query = select(User).join(Tenant, Tenant.id == User.tenant_id).where(Tenant.slug == args.tenant, User.active)
                query = query.where(User.email == args.email) if args.email else query.where(User.role == Role(args.role))
                return (await session.exec(query.order_by(User.id))).first()
        finally:
            await runtime.engine.dispose()

    try:
        user = asyncio.run(find())
    except (OSError, SQLAlchemyError) as error:
        return _unreachable(settings, error)
    if user is None:
        print(f"no such user in tenant {args.tenant!r}; run `detour seed` first (tenant {DEMO_SLUG!r})", file=sys.stderr)
        return 1
    scopes = frozenset(args.scope or (ALL_SCOPES if user.role is Role.INTEGRATOR else ()))
    print(issue_token(settings, Claims(user_id=user.id, tenant_id=user.tenant_id, role=user.role, scopes=scopes), ttl_seconds=args.ttl))
    return 0


def cmd_export_schema(args: argparse.Namespace) -> int:
    from app.api.schema import schema

    text = schema.as_str() + "\n"
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text)
        print(f"schema written to {args.output}")
    return 0


def cmd_access_rekey(args: argparse.Namespace) -> int:
    from app.access.rotation import rekey
    from app.bootstrap import bootstrap
    from app.integrations.webhook_secrets import rekey as rekey_webhooks

    async def run() -> str:
        runtime = bootstrap(get_settings())
        try:
            report = await rekey(runtime, batch_size=args.batch_size)
            hooks = await rekey_webhooks(runtime, batch_size=args.batch_size)
        finally:
            await runtime.engine.dispose()
        return (f"access secrets: {report.checked} checked, {report.resealed} re-encrypted with the first key; "
                f"webhook endpoints: {hooks.checked} checked, {hooks.resealed} re-encrypted")

    print(asyncio.run(run()))
    return 0


def cmd_apikey(args: argparse.Namespace) -> int:
    from app.bootstrap import bootstrap
    from app.errors import DomainError
    from app.integrations.cli import run

    async def go() -> tuple[int, str]:
        runtime = bootstrap(get_settings())
        try:
            return await run(runtime, args)
        except DomainError as error:
            return 1, error.message
        finally:
            await runtime.engine.dispose()

    code, text = asyncio.run(go())
    print(text, file=sys.stdout if code == 0 else sys.stderr)
    return code


def cmd_worker(args: argparse.Namespace) -> int:
    import signal

    from app.logs import configure_logging
    from app.outreach.worker import OutboxWorker
    from app.bootstrap import running
    from app.integrations.dispatcher import run_forever as run_webhooks

    settings = get_settings()
    if not _database_ready(settings):
        return 1
    configure_logging(json_logs=settings.json_logs, level=settings.log_level)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with running(settings) as runtime:
            await asyncio.gather(
                *(OutboxWorker(runtime).run_forever(stop) for _ in range(args.concurrency)),
                *(run_webhooks(runtime, stop) for _ in range(args.concurrency)),
            )

    from sqlalchemy.exc import SQLAlchemyError

    print(f"outbox worker: {args.concurrency} loop(s) on {settings.database_url.split('://')[0]}; Ctrl-C to stop")
    try:
        asyncio.run(run())
    except (OSError, SQLAlchemyError) as error:
        return _unreachable(settings, error)
    return 0


def _serving_settings(args: argparse.Namespace) -> Settings | None:
    """Settings for `serve`: --host/--port over HOST/PORT; the public base URL follows them unless it is set."""
    import os

    from pydantic import ValidationError

    # The app factory (and every uvicorn worker process) reads the environment again: put the choice there.
    if args.host is not None:
        os.environ["DETOUR_HOST"] = args.host
    if args.port is not None:
        os.environ["DETOUR_PORT"] = str(args.port)
    if args.speed is not None:
        os.environ["DETOUR_DEMO_SPEED"] = str(args.speed)
    if args.no_simulate:
        os.environ["DETOUR_DEMO_SIMULATE"] = "false"
    get_settings.cache_clear()
    try:
        return get_settings()
    except ValidationError as error:
        aliases = {"DETOUR_PORT": "PORT (or DETOUR_PORT)", "DETOUR_HOST": "HOST (or DETOUR_HOST)"}
        fields = ", ".join(aliases.get(str(e["loc"][0]), str(e["loc"][0])) for e in error.errors() if e.get("loc")) or "settings"
        messages = "; ".join(e["msg"] for e in error.errors())
        print(f"detour: invalid {fields}: {messages}", file=sys.stderr)
        return None


def cmd_simulate(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from app.demo.commands import run_simulation

    settings = get_settings()
    if not settings.is_embedded:
        print("detour: the simulator drives the demo tenant of the embedded mode only (DETOUR_MODE=embedded)", file=sys.stderr)
        return 2
    if not _database_ready(settings):
        return 1
    try:
        print(run_simulation(settings, minutes=args.minutes, speed=args.speed or settings.demo_speed, seed=args.seed))
    except LookupError as error:
        print(f"detour: {error}", file=sys.stderr)
        return 1
    except (OSError, SQLAlchemyError) as error:
        return _unreachable(settings, error)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app import migrate

    settings = _serving_settings(args)
    if settings is None:
        return 2
    if settings.is_embedded:
        migrate.upgrade(settings.database_url, encryption_keys=settings.access_encryption_keys)
        if not args.no_seed:
            print(_seed())
    if settings.graphiql_enabled:
        print(f"GraphiQL: {settings.public_base_url}/graphql")
    if settings.is_embedded:
        moving = f"the simulator drives it at {settings.demo_speed:g}x" if settings.demo_simulate else "simulator off"
        print(f"Demo customer phone: {settings.public_base_url}/demo/phone ({moving})")
    detour = sys.argv[0] if sys.argv and sys.argv[0].endswith("detour") else "detour"
    print(f"Token for the demo driver:     {detour} token --role driver")
    print(f"Token for the demo dispatcher: {detour} token --role dispatcher")
    uvicorn.run("app.main:create_app", factory=True, host=settings.host, port=settings.port, workers=args.workers, log_config=None,
                ws_per_message_deflate=settings.ws_per_message_deflate)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="detour", description="Detour: the delivery-exceptions backend.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the API (embedded mode: migrates and seeds the demo tenant first)")
    serve.add_argument("--host", help="default: $HOST, else 127.0.0.1")
    serve.add_argument("--port", type=int, help="default: $PORT, else 8000")
    serve.add_argument("--workers", type=int, default=1, help="API processes (scaled mode)")
    serve.add_argument("--no-seed", action="store_true", help="do not create the demo tenant")
    serve.add_argument("--no-simulate", action="store_true", help="do not run the demo simulator (on by default in the embedded mode)")
    serve.add_argument("--speed", type=float, help="demo speed-up, simulated seconds per real second (default: $DETOUR_DEMO_SPEED, 3)")
    serve.set_defaults(func=cmd_serve)

    simulate = sub.add_parser("simulate", help="drive the demo's drivers and customers through the API, in this process")
    simulate.add_argument("--minutes", type=float, default=60, help="simulated minutes to run (default 60)")
    simulate.add_argument("--speed", type=float, help="simulated seconds per real second (default: $DETOUR_DEMO_SPEED, 3)")
    simulate.add_argument("--seed", type=int, default=7, help="random seed: the same seed gives the same day")
    simulate.set_defaults(func=cmd_simulate)

    worker = sub.add_parser("worker", help="run the outbox worker (customer SMS/push) as its own process")
    worker.add_argument("--concurrency", type=int, default=1, help="dispatcher loops in this process")
    worker.set_defaults(func=cmd_worker)

    migrate = sub.add_parser("migrate", help="alembic upgrade/downgrade on DETOUR_DATABASE_URL")
    migrate.add_argument("direction", nargs="?", choices=["upgrade", "downgrade"], default="upgrade")
    migrate.add_argument("revision", nargs="?")
    migrate.set_defaults(func=cmd_migrate)

    seed = sub.add_parser("seed", help="create the demo tenant if it is missing, or again for today once its date has passed")
    seed.add_argument("--scale", type=int, metavar="N", help="instead: a new tenant with months of history and N exceptions (analytics benchmark)")
    seed.add_argument("--days", type=int, default=365, help="with --scale: days of history")
    seed.add_argument("--slug", help="with --scale: the new tenant's slug (default scale-N)")
    seed.set_defaults(func=cmd_seed)

    export = sub.add_parser("export-schema", help="write the GraphQL SDL")
    export.add_argument("--output", default="schema.graphql", help="a path, or - for stdout")
    export.set_defaults(func=cmd_export_schema)

    token = sub.add_parser(
        "token", help="DEVELOPMENT ONLY: mint a JWT signed with Detour's own key; real fleets sign in through their OIDC issuer",
    )
    who = token.add_mutually_exclusive_group()
    who.add_argument("--email")
    who.add_argument("--role", choices=["driver", "dispatcher", "supervisor", "integrator"], default="driver")
    token.add_argument("--tenant", default="demo")
    token.add_argument("--ttl", type=int, default=None, help="seconds")
    token.add_argument("--scope", action="append", help="a scope the token carries (repeat); integrators get all by default")
    token.set_defaults(func=cmd_token)

    rekey = sub.add_parser("access-rekey", help="re-encrypt access secrets with the first of DETOUR_ACCESS_ENCRYPTION_KEYS")
    rekey.add_argument("--batch-size", type=int, default=200)
    rekey.set_defaults(func=cmd_access_rekey)

    from app.cli_admin import register

    register(sub, get_settings)

    from app.integrations.cli import add_parser as add_apikey_parser

    add_apikey_parser(sub, cmd_apikey)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
