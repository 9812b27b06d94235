"""Prometheus metrics: GraphQL traffic per operation, open subscriptions, and gauges read from the database at scrape time.

Counters and histograms live in this process (one /metrics per API process: scrape each
one, or run one process per container). The database gauges are the same from every process.
"""
import logging
import re
import time
from collections.abc import Iterator

import sqlalchemy as sa
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from strawberry.extensions import SchemaExtension

from app.runtime import Runtime

log = logging.getLogger("detour.metrics")

GRAPHQL_REQUESTS = Counter("detour_graphql_requests", "GraphQL operations executed", ["operation", "type", "outcome"])
GRAPHQL_LATENCY = Histogram(
    "detour_graphql_request_seconds", "Time to execute a GraphQL query or mutation", ["operation", "type"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
SUBSCRIPTIONS_OPEN = Gauge("detour_subscriptions_open", "GraphQL subscriptions open in this process")

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
MAX_OPERATION_NAMES = 200
_seen_names: set[str] = set()


def operation_label(name: str | None) -> str:
    """Clients choose operation names: keep well-formed ones, and only so many, so labels cannot grow without bound."""
    if not name:
        return "anonymous"
    if not _NAME.match(name):
        return "invalid"
    if name not in _seen_names and len(_seen_names) >= MAX_OPERATION_NAMES:
        return "other"
    _seen_names.add(name)
    return name


def _operation_type(context) -> str:  # noqa: ANN001
    try:
        return context.operation_type.value
    except RuntimeError:  # the document did not parse
        return "unknown"


class OperationMetrics(SchemaExtension):
    """Counts and times each operation by name; a subscription counts as open while its stream runs."""

    def on_operation(self) -> Iterator[None]:
        started, self.subscription_open = time.perf_counter(), False
        try:
            yield
        finally:
            context = self.execution_context
            kind, name = _operation_type(context), operation_label(context.operation_name)
            errors = getattr(context.result, "errors", None) if context.result is not None else None
            GRAPHQL_REQUESTS.labels(name, kind, "error" if errors else "ok").inc()
            if self.subscription_open:
                SUBSCRIPTIONS_OPEN.dec()
            else:  # a subscription's duration is how long the client listened, not a latency
                GRAPHQL_LATENCY.labels(name, kind).observe(time.perf_counter() - started)

    def on_execute(self) -> Iterator[None]:
        # for a subscription, on_operation wraps the whole stream while on_execute only wraps its start
        if _operation_type(self.execution_context) == "subscription" and not self.subscription_open:
            SUBSCRIPTIONS_OPEN.inc()
            self.subscription_open = True
        yield


# What each gauge counts; a table another domain has not migrated yet is skipped, not an error.
OUTBOX_QUERIES = {
    "notification": "SELECT count(*) FROM notification WHERE status IN ('PENDING', 'SENDING')",
    "integration_event": "SELECT count(*) FROM integration_event WHERE delivered_at IS NULL",
}
OPEN_EXCEPTIONS_QUERY = "SELECT status, count(*) FROM delivery_exception WHERE status NOT IN ('RESOLVED', 'FAILED') GROUP BY status"
OPEN_STATUSES = ("OPEN", "CONTACTING_CUSTOMER", "AWAITING_DECISION", "ACTION_APPROVED")


class DatabaseGauges(Collector):
    """Gauges read at scrape time: `refresh()` queries (async), `collect()` reports what it read."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.outbox: dict[str, int] = {}
        self.open_exceptions: dict[str, int] = {}

    async def refresh(self) -> None:
        self.outbox, self.open_exceptions = {}, {}
        for name, query in OUTBOX_QUERIES.items():
            rows = await self._read(query)
            if rows is not None:
                self.outbox[name] = rows[0][0]
        rows = await self._read(OPEN_EXCEPTIONS_QUERY)
        if rows is not None:
            self.open_exceptions = {status: 0 for status in OPEN_STATUSES} | {status: count for status, count in rows}

    async def _read(self, query: str) -> list[tuple] | None:
        try:
            async with self.runtime.engine.connect() as connection:
                return [tuple(row) for row in (await connection.execute(sa.text(query))).all()]
        except sa.exc.DBAPIError as error:  # e.g. the table's migration has not run on this database
            log.warning("metrics query skipped: %s", error.__class__.__name__)
            return None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        outbox = GaugeMetricFamily("detour_outbox_depth", "Outbox rows waiting to be sent, per outbox table", labels=["outbox"])
        for name, depth in sorted(self.outbox.items()):
            outbox.add_metric([name], depth)
        yield outbox
        open_exceptions = GaugeMetricFamily("detour_exceptions_open", "Exceptions not yet resolved or failed, per status (all tenants)", labels=["status"])
        for status, count in sorted(self.open_exceptions.items()):
            open_exceptions.add_metric([status], count)
        yield open_exceptions


def metrics_endpoint(runtime: Runtime):  # noqa: ANN201
    """The /metrics route: process metrics, GraphQL traffic, and the database gauges read now."""
    gauges = DatabaseGauges(runtime)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(gauges)

    async def metrics(_: Request) -> Response:
        await gauges.refresh()
        return Response(generate_latest(REGISTRY) + generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return metrics
