"""The first-party alternative documents run as the apps send them, and the list's SQL count stays flat."""
from pathlib import Path

from app.alternatives.flows import AlternativeKind, ProposerKind, propose_alternative
from tests.alternatives.helpers import absent_customer, neighbor, pickup_point, principal
from tests.factories import gql

ROOT = Path(__file__).resolve().parents[2] / "graphql"


def document(name: str) -> str:
    return next(ROOT.rglob(f"{name}.graphql")).read_text()


async def test_driver_and_dispatcher_documents_run(client, runtime, factory):
    # given a customer who was out and a consented neighbour
    scene = await absent_customer(factory)
    consented = await neighbor(runtime, scene)
    driver, dispatcher = factory.token(scene.fleet.driver), factory.token(scene.fleet.dispatcher)

    # when the driver proposes, the dispatcher lists and approves, the driver confirms by name and signature
    proposed = await gql(client, document("ProposeAlternative"), {"input": {
        "stopId": str(scene.stop.id), "kind": "NEIGHBOR_HANDOVER", "neighborId": str(consented.id)}}, token=driver)
    alt = proposed["data"]["proposeAlternative"]["alternative"]
    listed = await gql(client, document("ExceptionAlternatives"), {"exceptionId": str(scene.exception.id)}, token=dispatcher)
    approved = await gql(client, document("ApproveAlternative"), {"input": {"id": alt["id"], "expectedVersion": alt["version"]}}, token=dispatcher)
    confirmed = await gql(client, document("ConfirmHandover"), {"input": {
        "id": alt["id"], "receiverName": "Ann Next", "signatureRef": "signatures/77.png"}}, token=driver)

    # then every document ran without errors and the handover is done
    for result in (proposed, listed, approved, confirmed):
        assert "errors" not in result, result
        payload = next(iter(result["data"].values()))
        assert not (isinstance(payload, dict) and payload.get("errors")), payload
    assert listed["data"]["alternatives"][0]["neighbor"]["name"] == "Ann Next"
    assert confirmed["data"]["confirmHandover"]["alternative"]["stop"]["status"] == "DELIVERED"


async def test_listing_alternatives_costs_the_same_sql_for_two_or_four(client, runtime, factory, count_statements):
    # given an exception with two alternatives, then with four (each new proposal supersedes the last)
    scene = await absent_customer(factory)
    consented = await neighbor(runtime, scene)
    locker = await pickup_point(runtime, scene.tenant_id)
    dispatcher, driver = factory.token(scene.fleet.dispatcher), principal(scene.fleet.driver)
    proposals = [
        (AlternativeKind.NEIGHBOR_HANDOVER, {"neighborId": consented.id}),
        (AlternativeKind.PICKUP_POINT, {"pickupPointId": locker.id}),
    ] * 2
    counts = []
    for index, (kind, details) in enumerate(proposals):
        await propose_alternative(
            runtime, tenant_id=scene.tenant_id, stop_id=scene.stop.id, kind=kind, proposed_by=ProposerKind.DRIVER,
            actor=driver, details=details,
        )
        if index in (1, 3):
            # when the dispatcher lists them
            count_statements.count, count_statements.active = 0, True
            result = await gql(client, document("ExceptionAlternatives"), {"exceptionId": str(scene.exception.id)}, token=dispatcher)
            count_statements.active = False
            assert len(result["data"]["alternatives"]) == index + 1
            counts.append(count_statements.count)

    # then the SQL count does not grow with the list
    assert counts[0] == counts[1]
