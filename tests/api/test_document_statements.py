"""The read documents of graphql/ run the same number of SQL statements for a small and a large day (DataLoaders).

Every send of a graphql/ document through `gql()` is also held to its budget (tests/api/statement_budgets.py).
"""
from pathlib import Path

from tests.api.statement_budgets import BUDGETS, DOCUMENTS, GRAPHQL, counted_statements

READ_DOCUMENTS = ["MyRoute", "RouteStops", "ExceptionQueue", "ExceptionDetail", "ExceptionOutreach", "ExceptionAlternatives",
                  "DriverPositions", "Viewer", "AccessAudit"]


def document(name: str) -> str:
    return next(GRAPHQL.rglob(f"{name}.graphql")).read_text()


async def send(client, name: str, variables: dict, token: str) -> tuple[dict, int]:  # noqa: ANN001
    """The answer and the statements the request ran."""
    query = document(name)
    with counted_statements(client, query) as counted:
        response = await client.post("/graphql", json={"query": query, "variables": variables}, headers={"Authorization": f"Bearer {token}"})
    body = response.json()
    assert response.status_code == 200 and "errors" not in body, (name, body)
    return body, counted.count


async def day_with(client, factory, *, stops: int, exceptions: int) -> dict[str, int]:  # noqa: ANN001
    """A fleet's day of `stops` stops, `exceptions` of them reported; the statements each read document runs on it."""
    fleet = await factory.fleet(stops=stops)
    driver, dispatcher = factory.token(fleet.driver), factory.token(fleet.dispatcher)
    for stop in fleet.stops[:exceptions]:
        await send(client, "ReportException", {"input": {"stopId": str(stop.id), "kind": "ACCESS_DENIED", "reasonCode": "BUILDING_LOCKED",
                                                         "idempotencyKey": f"size-{stop.id}"}}, driver)
    queue, _ = await send(client, "ExceptionQueue", {"filter": {"status": ["OPEN"]}}, dispatcher)
    assert len(queue["data"]["exceptions"]["edges"]) == exceptions
    exception_id = queue["data"]["exceptions"]["edges"][-1]["node"]["id"]
    runs = {
        "MyRoute": ({"date": fleet.route.service_date.isoformat()}, driver),
        "RouteStops": ({"id": str(fleet.route.id)}, dispatcher),
        "ExceptionQueue": ({"filter": {"status": ["OPEN"]}}, dispatcher),
        "ExceptionDetail": ({"id": exception_id}, dispatcher),
        "ExceptionOutreach": ({"id": exception_id}, dispatcher),
        "ExceptionAlternatives": ({"exceptionId": exception_id}, dispatcher),
        "DriverPositions": ({"depotId": str(fleet.depot.id)}, dispatcher),
        "Viewer": ({}, dispatcher),
        "AccessAudit": ({"stopId": str(fleet.stops[0].id)}, dispatcher),
    }
    counts = {}
    for name, (variables, token) in runs.items():
        body, counts[name] = await send(client, name, variables, token)
        if name == "MyRoute":
            assert len(body["data"]["myRoute"]["stops"]) == stops
    return counts


async def test_read_documents_run_as_many_statements_for_a_large_day_as_for_a_small_one(client, factory):
    # given a small day (3 stops, 1 exception) and a large one (30 stops, 8 exceptions)
    # when every read document is sent for each
    small = await day_with(client, factory, stops=3, exceptions=1)
    large = await day_with(client, factory, stops=30, exceptions=8)

    # then each runs the same number of statements for both, within its budget
    assert large == small
    for name, count in small.items():
        assert count <= BUDGETS[name], (name, count, BUDGETS[name])
    assert small["MyRoute"] == 5, small


def test_every_document_has_a_statement_budget():
    # given the documents of graphql/ and the budget table
    names = set(DOCUMENTS.values())

    # then each document has a budget and the table names no document that is gone
    assert names == set(BUDGETS), (names ^ set(BUDGETS))
    assert set(READ_DOCUMENTS) <= names
    assert all(Path(GRAPHQL).rglob(f"{name}.graphql") for name in READ_DOCUMENTS)
