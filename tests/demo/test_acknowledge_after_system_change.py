"""A dispatcher's first action after a report is not refused because the system moved the exception on."""
from tests.delivery_exceptions.test_story import ACK, REPORT, STATUS
from tests.factories import gql

from app.outreach.worker import OutboxWorker

REPORT_INPUT = {"kind": "CUSTOMER_ABSENT", "reasonCode": "NO_ANSWER", "idempotencyKey": "k-1", "description": "nobody home"}


async def _reported_then_contacted(client, factory):  # noqa: ANN001, ANN202
    """A report, then the worker's text moves it OPEN → CONTACTING_CUSTOMER (a system change, version + 1)."""
    fleet = await factory.fleet(stops=1)
    data = await gql(client, REPORT, {"input": {"stopId": str(fleet.stops[0].id), **REPORT_INPUT}}, token=factory.token(fleet.driver))
    created = data["data"]["reportException"]["exception"]
    await OutboxWorker(factory.runtime).run_once()
    return fleet, created


async def test_acknowledge_on_the_version_seen_before_the_systems_change_succeeds(client, factory) -> None:
    # given a dispatcher who loaded the exception as reported, and the system's status change since
    fleet, created = await _reported_then_contacted(client, factory)
    # when they acknowledge with the version they saw
    ack = (await gql(client, ACK, {"input": {"id": created["id"], "expectedVersion": created["version"]}},
                     token=factory.token(fleet.dispatcher)))["data"]["acknowledgeException"]
    # then it is theirs, on top of the system's change
    assert ack["errors"] == []
    assert ack["exception"]["assignee"]["id"] == str(fleet.dispatcher.id)
    assert ack["exception"]["version"] == created["version"] + 2


async def test_acknowledge_on_a_stale_version_after_someone_else_took_it_is_a_conflict(client, factory) -> None:
    # given an exception another dispatcher (the supervisor) acknowledged after our read
    fleet, created = await _reported_then_contacted(client, factory)
    taken = await gql(client, ACK, {"input": {"id": created["id"], "expectedVersion": created["version"]}}, token=factory.token(fleet.supervisor))
    assert taken["data"]["acknowledgeException"]["errors"] == []
    # when the dispatcher acknowledges with the old version
    ack = (await gql(client, ACK, {"input": {"id": created["id"], "expectedVersion": created["version"]}},
                     token=factory.token(fleet.dispatcher)))["data"]["acknowledgeException"]
    # then it is a conflict, and a status change on the old version stays one too
    assert ack["errors"][0]["code"] == "VERSION_CONFLICT"
    status = await gql(client, STATUS, {"input": {"id": created["id"], "expectedVersion": created["version"], "status": "AWAITING_DECISION"}},
                       token=factory.token(fleet.dispatcher))
    assert status["data"]["updateExceptionStatus"]["errors"][0]["code"] == "VERSION_CONFLICT"
