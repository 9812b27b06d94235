"""The SQL statement budget of every first-party document: `gql()` holds each send of a graphql/ document to it.

A budget is the most statements one request of the document may run, whatever the size of the lists it returns
(DataLoaders and up-front reads keep the count flat; tests/api/test_document_statements.py proves it for the read
documents with two sizes of data). A document whose count grows fails the test that sent it; lower the number
when a change makes a document cheaper.

    DETOUR_RECORD_STATEMENTS=/tmp/counts.json pytest ...   writes the largest count seen per document
"""
import atexit
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from sqlalchemy import event

GRAPHQL = Path(__file__).resolve().parents[2] / "graphql"
DOCUMENTS = {path.read_text().strip(): path.stem for path in sorted(GRAPHQL.rglob("*.graphql"))}

BUDGETS = {
    # driver
    "MyRoute": 7,  # 5 with Detour's own token (user + depots, route + depot + vehicle, stops + customers, parcels, open exceptions); an OIDC token adds 2
    # the fix's own request is ~16; the rest is the after-commit live-ETA recompute of the demo's 40-stop route that
    # runs in the same task (late stops opened or proposed for a replan): it grows with the late stops, see the note
    "ReportPositions": 150,
    "ReportException": 31,
    "RecordDeliveryAttempt": 15,
    "AddExceptionNote": 7,
    "RevealAccessCode": 9,
    "UnlockWithDigitalKey": 9,
    "ProposeAlternative": 17,
    "ConfirmHandover": 34,
    "RouteUpdates": 10,  # subscriptions run over WebSocket, not through gql(): not held yet
    # dispatcher
    "Viewer": 5,  # 3 with Detour's own token; an OIDC token adds 2
    "ExceptionQueue": 6,
    "ExceptionDetail": 8,
    "ExceptionOutreach": 4,
    "ExceptionAlternatives": 6,
    "DriverPositions": 4,  # positions, users, and the next stop with its live ETA for all drivers at once
    "RouteStops": 6,
    "AccessAudit": 6,
    "AcknowledgeException": 9,
    "UpdateExceptionStatus": 13,
    "ResolveException": 23,
    "PreviewReplan": 8,
    "ReplanRoute": 130,  # grows with the pending stops (one UPDATE each, not yet batched): up to all 40 of the demo route
    "LateRouteProposals": 3,
    "AnalyticsDashboard": 38,
    "ApproveAlternative": 21,
    "RejectAlternative": 30,  # not yet sent through gql() by any test: a guess, not a measurement
    "MessageCustomer": 25,  # not yet sent through gql() by any test: a guess, not a measurement
    "GrantAccess": 7,
    "CreateAccessProfile": 5,
    "UpdateAccessProfile": 6,
    "RemoteUnlock": 6,
    # day-of edits are re-solved after the commit in the same task (RouteEdited): the count includes that replan,
    # which writes one UPDATE per re-sequenced stop like ReplanRoute
    "AddStop": 60,
    "CancelStop": 130,
    "MoveStop": 130,
    "ReassignRoute": 10,
    "ExceptionEvents": 10,
    "LiveMap": 10,
    # integrator
    "CreateVehicle": 6,
    "ImportRoutePlan": 18,  # +1: a stop moved off a route bumps the route it left
    "SetDepotCostModel": 5,
    "PlanRoutes": 40,  # per route written, not per stop (32 for 12 stops on 2 routes)
    "PreviewPlanRoutes": 10,
    "CustomerCommunications": 9,  # one window query per source table, whatever the history's length
    "RecordCustomerCall": 10,
}

OBSERVED: dict[str, int] = {}
_counting: ContextVar["DocumentStatements | None"] = ContextVar("detour_test_document_statements", default=None)


class DocumentStatements:
    def __init__(self, name: str) -> None:
        self.name, self.count = name, 0

    def check(self) -> None:
        OBSERVED[self.name] = max(OBSERVED.get(self.name, 0), self.count)
        budget = BUDGETS.get(self.name)
        assert budget is not None, f"graphql/ document {self.name} has no SQL statement budget in {__name__}"
        assert self.count <= budget, f"{self.name} ran {self.count} SQL statements; its budget is {budget}"


def _on_statement(*_args: object) -> None:
    counter = _counting.get()
    if counter is not None:
        counter.count += 1


@contextmanager
def counted_statements(client: Any, query: str) -> Iterator[DocumentStatements | None]:
    """Counts the statements this task (and the tasks it starts) runs while a graphql/ document is sent in-process."""
    name = DOCUMENTS.get(query.strip())
    runtime = getattr(getattr(getattr(getattr(client, "_transport", None), "app", None), "state", None), "runtime", None)
    if name is None or runtime is None:
        yield None
        return
    engine = runtime.engine.sync_engine
    if not event.contains(engine, "before_cursor_execute", _on_statement):
        event.listen(engine, "before_cursor_execute", _on_statement)
    counter = DocumentStatements(name)
    token = _counting.set(counter)
    try:
        yield counter
    finally:
        _counting.reset(token)


def _write_observed() -> None:
    target = os.environ.get("DETOUR_RECORD_STATEMENTS")
    if target and OBSERVED:
        previous = json.loads(Path(target).read_text()) if Path(target).exists() else {}
        merged = {name: max(count, previous.get(name, 0)) for name, count in {**previous, **OBSERVED}.items()}
        Path(target).write_text(json.dumps(dict(sorted(merged.items())), indent=1))


atexit.register(_write_observed)
