"""`detour serve | worker | migrate | seed | export-schema | token`."""
import argparse
import asyncio
import sys
from pathlib import Path

from sqlmodel import select

from app.config import get_settings


def _seed(reset_ok: bool = True) -> str:
    from app.runtime import Runtime
    from app.seed import demo_exists, seed_demo

    async def run() -> str:
        runtime = Runtime.build(get_settings())
        try:
            async with runtime.sessionmaker() as session, session.begin():
                if await demo_exists(session):
                    return "demo tenant already present"
                await seed_demo(session)
                return "demo tenant created: 1 depot, 3 drivers, 3 routes of 40 stops for today"
        finally:
            await runtime.engine.dispose()

    return asyncio.run(run())


def cmd_migrate(args: argparse.Namespace) -> int:
    from app import migrate

    url = get_settings().database_url
    if args.direction == "downgrade":
        migrate.downgrade(url, args.revision or "-1")
    else:
        migrate.upgrade(url, args.revision or "heads")
    print(f"migrations: {args.direction} done")
    return 0


def cmd_seed(_: argparse.Namespace) -> int:
    print(_seed())
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from app.auth.tokens import Claims, issue_token
    from app.runtime import Runtime
    from app.seed import DEMO_SLUG
    from app.tenants.models import Role, Tenant, User

    settings = get_settings()

    async def find() -> User | None:
        runtime = Runtime.build(settings)
        try:
            async with runtime.sessionmaker() as session:
                query = select(User).join(Tenant, Tenant.id == User.tenant_id).where(Tenant.slug == args.tenant, User.active)
                query = query.where(User.email == args.email) if args.email else query.where(User.role == Role(args.role))
                return (await session.exec(query.order_by(User.id))).first()
        finally:
            await runtime.engine.dispose()

    user = asyncio.run(find())
    if user is None:
        print(f"no such user in tenant {args.tenant!r}; run `detour seed` first (tenant {DEMO_SLUG!r})", file=sys.stderr)
        return 1
    print(issue_token(settings, Claims(user_id=user.id, tenant_id=user.tenant_id, role=user.role), ttl_seconds=args.ttl))
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


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app import migrate

    settings = get_settings()
    if settings.is_embedded:
        migrate.upgrade(settings.database_url)
        if not args.no_seed:
            print(_seed())
    host_shown = "localhost" if args.host in ("127.0.0.1", "0.0.0.0") else args.host  # noqa: S104
    if settings.graphiql_enabled:
        print(f"GraphiQL: http://{host_shown}:{args.port}/graphql")
    print("Token for the demo driver:     detour token --role driver")
    print("Token for the demo dispatcher: detour token --role dispatcher")
    uvicorn.run("app.main:create_app", factory=True, host=args.host, port=args.port, workers=args.workers, log_config=None)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="detour", description="Detour: the delivery-exceptions backend.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the API (embedded mode: migrates and seeds the demo tenant first)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="API processes (scaled mode)")
    serve.add_argument("--no-seed", action="store_true", help="do not create the demo tenant")
    serve.set_defaults(func=cmd_serve)

    migrate = sub.add_parser("migrate", help="alembic upgrade/downgrade on DETOUR_DATABASE_URL")
    migrate.add_argument("direction", nargs="?", choices=["upgrade", "downgrade"], default="upgrade")
    migrate.add_argument("revision", nargs="?")
    migrate.set_defaults(func=cmd_migrate)

    seed = sub.add_parser("seed", help="create the demo tenant if it is missing")
    seed.set_defaults(func=cmd_seed)

    export = sub.add_parser("export-schema", help="write the GraphQL SDL")
    export.add_argument("--output", default="schema.graphql", help="a path, or - for stdout")
    export.set_defaults(func=cmd_export_schema)

    token = sub.add_parser("token", help="mint a development JWT for a seeded user")
    who = token.add_mutually_exclusive_group()
    who.add_argument("--email")
    who.add_argument("--role", choices=["driver", "dispatcher", "supervisor", "integrator"], default="driver")
    token.add_argument("--tenant", default="demo")
    token.add_argument("--ttl", type=int, default=None, help="seconds")
    token.set_defaults(func=cmd_token)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
