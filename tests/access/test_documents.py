"""The first-party access documents run as the apps send them; the audit list's SQL count stays flat."""
from dataclasses import replace

import pytest
from pathlib import Path

from app.access import flows
from tests.access.conftest import GATE_CODE, LOCK_TOKEN, add_profile, place_driver, principal_of
from tests.conftest import client_for
from tests.factories import gql

ROOT = Path(__file__).resolve().parents[2] / "graphql"


def document(name: str) -> str:
    return next(ROOT.rglob(f"{name}.graphql")).read_text()


def payload_of(result: dict) -> dict:
    assert "errors" not in result, result
    return next(iter(result["data"].values()))


@pytest.fixture
def runtime_with_locks(runtime, lock_server):  # noqa: ANN001, ANN201
    return replace(runtime, settings=runtime.settings.model_copy(update={
        "access_lock_provider_url": lock_server.url, "access_lock_provider_token": LOCK_TOKEN}))


@pytest.fixture
async def locked_client(runtime_with_locks):  # noqa: ANN001, ANN201
    async with client_for(runtime_with_locks) as http:
        yield http


async def test_driver_and_dispatcher_access_documents_run(locked_client, factory, runtime, lock_server):
    # given a lock provider, a stop and its driver at the door
    fleet = await factory.fleet(stops=1)
    stop_id = str(fleet.stops[0].id)
    await place_driver(runtime, fleet.driver, fleet.stops[0])
    staff, driver = factory.token(fleet.dispatcher), factory.token(fleet.driver)

    # when each operation is sent as the apps send it
    created = payload_of(await gql(locked_client, document("CreateAccessProfile"), {"input": {
        "label": "Tower B", "address": fleet.stops[0].address, "lat": fleet.stops[0].lat, "lon": fleet.stops[0].lon,
        "gateCode": "1111", "digitalKeyProvider": "detour-lock-api", "digitalKeyId": "key-ab12-cd34-private"}}, token=staff))
    updated = payload_of(await gql(locked_client, document("UpdateAccessProfile"), {"input": {
        "id": created["profile"]["id"], "expectedVersion": created["profile"]["version"], "gateCode": GATE_CODE}}, token=staff))
    revealed = payload_of(await gql(locked_client, document("RevealAccessCode"), {"input": {"stopId": stop_id}}, token=driver))
    unlocked = payload_of(await gql(locked_client, document("UnlockWithDigitalKey"), {"input": {"stopId": stop_id}}, token=driver))
    granted = payload_of(await gql(locked_client, document("GrantAccess"), {"input": {"stopId": stop_id, "code": "5150"}}, token=staff))
    remote = payload_of(await gql(locked_client, document("RemoteUnlock"), {"input": {"stopId": stop_id}}, token=staff))
    audit_page = await gql(locked_client, document("AccessAudit"), {"stopId": stop_id}, token=staff)

    # then none carries an error, and the audit shows the whole story, newest first
    for payload in (created, updated, revealed, unlocked, granted, remote):
        assert payload["errors"] == [], payload
    assert revealed["codes"]["gateCode"] == GATE_CODE and unlocked["unlocked"] and remote["unlocked"]
    assert "errors" not in audit_page and audit_page["data"]["accessProfileForStop"]["label"] == "Tower B"
    assert [e["node"]["action"] for e in audit_page["data"]["accessAudit"]["edges"]] == ["DIGITAL_KEY_UNLOCK", "GRANT_CREATED", "DIGITAL_KEY_UNLOCK", "REVEAL"]


async def test_the_audit_list_costs_the_same_sql_for_two_or_ten_entries(client, factory, runtime, count_statements):
    # given a stop with a profile and a driver at the door
    fleet = await factory.fleet(stops=1)
    stop = fleet.stops[0]
    await add_profile(runtime, fleet.dispatcher, stop)
    await place_driver(runtime, fleet.driver, stop)
    staff = factory.token(fleet.dispatcher)

    async def statements_for_audit() -> int:
        count_statements.count, count_statements.active = 0, True
        result = await gql(client, document("AccessAudit"), {"stopId": str(stop.id)}, token=staff)
        count_statements.active = False
        assert result["data"]["accessAudit"]["edges"]
        return count_statements.count

    # when the list has two entries, then ten (reveals by the driver, grants by the dispatcher)
    for _ in range(2):
        await flows.reveal_access_code(runtime, principal_of(fleet.driver), stop_id=stop.id, position=None)
    two = await statements_for_audit()
    for _ in range(4):
        await flows.reveal_access_code(runtime, principal_of(fleet.driver), stop_id=stop.id, position=None)
        await flows.grant_access(runtime, principal_of(fleet.dispatcher), stop_id=stop.id, code=None, ttl_minutes=None, note="")

    # then the SQL count does not grow
    assert two == await statements_for_audit()
