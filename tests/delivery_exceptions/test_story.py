"""The first end-to-end slice over HTTP: driver reports, dispatcher lists, acknowledges, resolves; the timeline shows it all."""
from tests.factories import gql

MY_ROUTE = """
query MyRoute { myRoute { id version stops { id sequence status customer { name phone } parcels { barcode } openException { id kind } } } }
"""
REPORT = """
mutation Report($input: ReportExceptionInput!) {
  reportException(input: $input) { replayed exception { id status version kind reasonCode failedAttemptNumber } errors { code message field } }
}
"""
LIST = """
query Queue($filter: ExceptionFilterInput, $first: Int!, $after: String) {
  exceptions(filter: $filter, first: $first, after: $after) {
    edges { cursor node { id status kind stop { id address } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
ACK = """
mutation Ack($input: AcknowledgeExceptionInput!) {
  acknowledgeException(input: $input) { exception { id version assignee { id } } errors { code message } }
}
"""
STATUS = """
mutation Status($input: UpdateExceptionStatusInput!) {
  updateExceptionStatus(input: $input) { exception { id status version } errors { code message field } }
}
"""
RESOLVE = """
mutation Resolve($input: ResolveExceptionInput!) {
  resolveException(input: $input) { exception { id status version resolutionOutcome failureCostCents } errors { code message } }
}
"""
TIMELINE = """
query Timeline($id: ID!) { exception(id: $id) { id status timeline { id type step actor { id } payload } } }
"""


async def test_driver_reports_and_dispatcher_resolves_with_full_timeline(client, factory):
    # given a driver on today's route and a dispatcher of the same tenant
    fleet = await factory.fleet(stops=3)
    driver, dispatcher = factory.token(fleet.driver), factory.token(fleet.dispatcher)
    route = (await gql(client, MY_ROUTE, token=driver))["data"]["myRoute"]
    stop_id = route["stops"][1]["id"]

    # when the driver reports that nobody is home
    reported = await gql(client, REPORT, {"input": {
        "stopId": stop_id, "kind": "CUSTOMER_ABSENT", "reasonCode": "NO_ANSWER", "idempotencyKey": "k-1",
        "description": "rang twice", "position": {"lat": 52.371, "lon": 4.891, "accuracyM": 8},
    }}, token=driver)
    exc = reported["data"]["reportException"]["exception"]
    assert reported["data"]["reportException"]["errors"] == []
    assert exc["status"] == "OPEN" and exc["failedAttemptNumber"] == 1

    # then the dispatcher sees it in the queue
    queue = await gql(client, LIST, {"filter": {"depotId": str(fleet.depot.id), "status": ["OPEN"]}, "first": 10}, token=dispatcher)
    assert [e["node"]["id"] for e in queue["data"]["exceptions"]["edges"]] == [exc["id"]]

    # and works it: acknowledge → contacting → awaiting decision → resolve
    ack = (await gql(client, ACK, {"input": {"id": exc["id"], "expectedVersion": exc["version"]}}, token=dispatcher))["data"]["acknowledgeException"]
    assert ack["errors"] == [] and ack["exception"]["assignee"]["id"] == str(fleet.dispatcher.id)
    version = ack["exception"]["version"]
    for status in ("CONTACTING_CUSTOMER", "AWAITING_DECISION", "ACTION_APPROVED"):
        changed = (await gql(client, STATUS, {"input": {"id": exc["id"], "expectedVersion": version, "status": status}}, token=dispatcher))["data"]["updateExceptionStatus"]
        assert changed["errors"] == [], changed
        version = changed["exception"]["version"]
    resolved = (await gql(client, RESOLVE, {"input": {"id": exc["id"], "expectedVersion": version, "outcome": "DELIVERED_TO_NEIGHBOR", "note": "neighbour at 12"}}, token=dispatcher))["data"]["resolveException"]
    assert resolved["errors"] == []
    assert resolved["exception"]["status"] == "RESOLVED"
    assert resolved["exception"]["failureCostCents"] > 500  # base cost plus the round trip

    # then the timeline shows every step, in order, with its actor
    timeline = (await gql(client, TIMELINE, {"id": exc["id"]}, token=dispatcher))["data"]["exception"]["timeline"]
    assert [(e["type"], e["step"]) for e in timeline] == [
        ("REPORTED", "IDENTIFIED"),
        ("ACKNOWLEDGED", "ANALYSED"),
        ("STATUS_CHANGED", "CUSTOMER_CONTACTED"),
        ("STATUS_CHANGED", "CUSTOMER_CONTACTED"),
        ("STATUS_CHANGED", "CORRECTIVE_ACTION"),
        ("RESOLVED", "OUTCOME"),
    ]
    assert timeline[0]["actor"]["id"] == str(fleet.driver.id)
    assert timeline[-1]["actor"]["id"] == str(fleet.dispatcher.id)
    assert [int(e["id"]) for e in timeline] == sorted(int(e["id"]) for e in timeline)

    # and the driver's route shows the stop delivered
    stops = (await gql(client, MY_ROUTE, token=driver))["data"]["myRoute"]["stops"]
    assert stops[1]["status"] == "DELIVERED" and stops[1]["openException"] is None
