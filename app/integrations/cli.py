"""`detour apikey create|revoke|list`: the operator's way to the same key service the GraphQL mutations use."""
import argparse
from datetime import timedelta

from sqlmodel import select

from app.integrations import api_keys
from app.runtime import Runtime, unit_of_work
from app.tenants.models import Role, Tenant, User


def add_parser(sub: argparse._SubParsersAction, func) -> None:  # noqa: ANN001
    apikey = sub.add_parser("apikey", help="create, revoke or list integrator API keys")
    actions = apikey.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="mint a key (printed once)")
    create.add_argument("--name", required=True)
    create.add_argument("--scope", action="append", required=True, help="repeat for each scope")
    create.add_argument("--expires-days", type=int, help="the key stops working after this many days")
    create.add_argument("--by", metavar="EMAIL", help="the supervisor it is minted for (default: the tenant's first)")
    revoke = actions.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("id", type=int)
    actions.add_parser("list", help="the tenant's keys (prefixes only)")
    for parser in (create, revoke, actions.choices["list"]):
        parser.add_argument("--tenant", default="demo")
    apikey.set_defaults(func=func)


async def run(runtime: Runtime, args: argparse.Namespace) -> tuple[int, str]:
    """(exit code, text to print)."""
    async with unit_of_work(runtime) as uow:
        tenant = (await uow.session.exec(select(Tenant).where(Tenant.slug == args.tenant))).first()
        if tenant is None:
            return 1, f"no tenant {args.tenant!r}"
        if args.action == "list":
            rows = await api_keys.list_keys(session=uow.session, tenant_id=tenant.id)
            return 0, "\n".join(
                f"{k.id}\t{k.prefix}…\t{k.name}\t{' '.join(k.scopes)}\t{'revoked' if k.revoked_at else 'active'}" for k in rows
            ) or "no keys"
        if args.action == "revoke":
            key = await api_keys.revoke_key(session=uow.session, tenant_id=tenant.id, key_id=args.id)
            return 0, f"revoked {key.prefix}…"
        query = select(User).where(User.tenant_id == tenant.id, User.role == Role.SUPERVISOR, User.active)
        supervisor = (await uow.session.exec(query.where(User.email == args.by) if args.by else query.order_by(User.id))).first()
        if supervisor is None:
            return 1, "no active supervisor to mint the key for"
        expires = uow.clock.now() + timedelta(days=args.expires_days) if args.expires_days else None
        minted = await api_keys.create_key(
            session=uow.session, tenant_id=tenant.id, created_by=supervisor.id, name=args.name, scopes=args.scope, expires_at=expires
        )
        return 0, minted.secret
