"""Every domain's DataLoader specs, gathered for the request context (see app.api.loaders)."""
from app.alternatives.loaders import LOADERS as ALTERNATIVES
from app.api.loaders import LoaderSpec
from app.customers.loaders import LOADERS as CUSTOMERS
from app.delivery_exceptions.loaders import LOADERS as EXCEPTIONS
from app.outreach.loaders import LOADERS as OUTREACH
from app.routes.loaders import LOADERS as ROUTES
from app.tenants.loaders import LOADERS as TENANTS

RELATIONS: dict[str, LoaderSpec] = {**TENANTS, **CUSTOMERS, **ROUTES, **EXCEPTIONS, **ALTERNATIVES, **OUTREACH}
