"""The tenant relations resolvers follow."""
from app.api.loaders import by_id
from app.tenants.models import Depot, Tenant, User

LOADERS = {
    "tenant": by_id(Tenant, tenant_column=Tenant.id),
    "depot": by_id(Depot),
    "user": by_id(User),
}
