"""The scopes an API key or a token can carry; integrators hold only what they were granted."""

EXCEPTIONS_READ = "exceptions:read"
EXCEPTIONS_WRITE = "exceptions:write"
ROUTES_READ = "routes:read"
ROUTES_WRITE = "routes:write"
CUSTOMERS_READ = "customers:read"
CUSTOMERS_WRITE = "customers:write"
POSITIONS_READ = "positions:read"
WEBHOOKS_MANAGE = "webhooks:manage"
ANALYTICS_READ = "analytics:read"

ALL_SCOPES = frozenset({
    EXCEPTIONS_READ, EXCEPTIONS_WRITE, ROUTES_READ, ROUTES_WRITE, CUSTOMERS_READ, CUSTOMERS_WRITE,
    POSITIONS_READ, WEBHOOKS_MANAGE, ANALYTICS_READ,
})
