"""Over HTTP: a neighbour is listed and verified, the driver proposes a handover, the dispatcher approves, the driver confirms."""
import re

from app.outreach.models import Notification
from tests.alternatives.helpers import absent_customer, rows
from tests.factories import gql

ADD_NEIGHBOR = """
mutation Add($input: AddNeighborInput!) { addNeighbor(input: $input) { neighbor { id status version } errors { code field } } }
"""
VERIFY_NEIGHBOR = """
mutation Verify($input: VerifyNeighborInput!) { verifyNeighbor(input: $input) { neighbor { id status } errors { code field } } }
"""
PROPOSE = """
mutation Propose($input: ProposeAlternativeInput!) {
  proposeAlternative(input: $input) {
    alternative { id kind status decision decisionRule version neighbor { name } proposedByUser { id } }
    errors { code message field }
  }
}
"""
APPROVE = """
mutation Approve($input: DecideAlternativeInput!) {
  approveAlternative(input: $input) { alternative { id status version decidedBy { id } } errors { code message } }
}
"""
CONFIRM = """
mutation Confirm($input: ConfirmHandoverInput!) {
  confirmHandover(input: $input) { alternative { id status proof } errors { code field } }
}
"""
TIMELINE = """
query Timeline($id: ID!) {
  exception(id: $id) { status resolutionOutcome timeline { type actorRole } }
  alternatives(exceptionId: $id) { id status stop { status } }
}
"""
POLICY = """
mutation Policy($input: UpdateAlternativePolicyInput!) {
  updateAlternativePolicy(input: $input) { policy { version rules } errors { code field } }
}
"""


def code_in(text: str) -> str:
    return re.search(r"\b(\d{6})\b", text).group(1)


async def test_neighbour_handover_from_consent_to_confirmation(client, runtime, factory):
    # given a customer who was out, and a dispatcher listing their neighbour, who confirms with the texted code
    scene = await absent_customer(factory)
    driver, dispatcher = factory.token(scene.fleet.driver), factory.token(scene.fleet.dispatcher)
    added = (await gql(client, ADD_NEIGHBOR, {"input": {
        "customerId": str(scene.stop.customer_id), "name": "Ann Next", "address": "Teststraat 3", "phone": "+31612345678",
    }}, token=dispatcher))["data"]["addNeighbor"]
    assert added["errors"] == [] and added["neighbor"]["status"] == "PENDING_VERIFICATION"
    [invite] = await rows(runtime, Notification, Notification.purpose == "neighbor_verification")
    verified = (await gql(client, VERIFY_NEIGHBOR, {"input": {"id": added["neighbor"]["id"], "code": code_in(invite.body)}}, token=dispatcher))
    assert verified["data"]["verifyNeighbor"]["neighbor"]["status"] == "VERIFIED"

    # when the driver proposes handing the parcels to that neighbour
    proposed = (await gql(client, PROPOSE, {"input": {
        "stopId": str(scene.stop.id), "kind": "NEIGHBOR_HANDOVER", "neighborId": added["neighbor"]["id"],
    }}, token=driver))["data"]["proposeAlternative"]

    # then it waits for a dispatcher, by the rule that says so
    alt = proposed["alternative"]
    assert proposed["errors"] == []
    assert (alt["status"], alt["decision"], alt["decisionRule"]) == ("PROPOSED", "NEEDS_DISPATCHER", "dispatcher_may_approve")
    assert alt["neighbor"]["name"] == "Ann Next" and alt["proposedByUser"]["id"] == str(scene.fleet.driver.id)

    # when the dispatcher approves it in one click
    approved = (await gql(client, APPROVE, {"input": {"id": alt["id"], "expectedVersion": alt["version"]}}, token=dispatcher))["data"]["approveAlternative"]
    assert approved["errors"] == [] and approved["alternative"]["status"] == "APPROVED"
    assert approved["alternative"]["decidedBy"]["id"] == str(scene.fleet.dispatcher.id)

    # then the neighbour is texted a handover code; a wrong one is a typed error
    [handover_sms] = await rows(runtime, Notification, Notification.purpose == "neighbor_handover_code")
    code = code_in(handover_sms.body)
    wrong = (await gql(client, CONFIRM, {"input": {"id": alt["id"], "code": "000000" if code != "000000" else "111111"}}, token=driver))
    assert wrong["data"]["confirmHandover"]["errors"] == [{"code": "CODE_INVALID", "field": "code"}]

    # when the driver confirms with the neighbour's code
    confirmed = (await gql(client, CONFIRM, {"input": {"id": alt["id"], "code": code}}, token=driver))["data"]["confirmHandover"]

    # then the alternative is executed, the exception resolved, the stop delivered, and both people told
    assert confirmed["errors"] == [] and confirmed["alternative"]["status"] == "EXECUTED"
    assert confirmed["alternative"]["proof"] == {"method": "code"}
    story = (await gql(client, TIMELINE, {"id": str(scene.exception.id)}, token=dispatcher))["data"]
    assert story["exception"]["status"] == "RESOLVED" and story["exception"]["resolutionOutcome"] == "DELIVERED_TO_NEIGHBOR"
    assert [(e["type"], e["actorRole"]) for e in story["exception"]["timeline"]] == [
        ("REPORTED", "driver"), ("ALTERNATIVE_PROPOSED", "driver"), ("STATUS_CHANGED", "driver"),
        ("ALTERNATIVE_APPROVED", "dispatcher"), ("STATUS_CHANGED", "dispatcher"),
        ("ALTERNATIVE_EXECUTED", "driver"), ("RESOLVED", "driver"),
    ]
    assert story["alternatives"] == [{"id": alt["id"], "status": "EXECUTED", "stop": {"status": "DELIVERED"}}]
    purposes = sorted(n.purpose for n in await rows(runtime, Notification, Notification.exception_id == scene.exception.id))
    assert {"handover_done", "handover_thanks"} <= set(purposes)


async def test_only_a_supervisor_changes_the_policy_and_stale_versions_conflict(client, factory):
    # given a tenant with the default policy
    fleet = await factory.fleet(stops=1)
    rules = {"dispatcherMayApprove": ["RESCHEDULE"], "valueLimitCents": 10000}

    # when a dispatcher tries to change it, then it is forbidden
    denied = await gql(client, POLICY, {"input": {"rules": rules, "expectedVersion": 0}}, token=factory.token(fleet.dispatcher))
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    # when the supervisor saves it, then it is stored with the defaults filled in
    saved = (await gql(client, POLICY, {"input": {"rules": rules, "expectedVersion": 0}}, token=factory.token(fleet.supervisor)))
    policy = saved["data"]["updateAlternativePolicy"]["policy"]
    assert policy["version"] == 1 and policy["rules"]["dispatcherMayApprove"] == ["RESCHEDULE"]
    assert policy["rules"]["maxAttempts"] == 2

    # when saved again from the old version, then it is a version conflict
    stale = (await gql(client, POLICY, {"input": {"rules": rules, "expectedVersion": 0}}, token=factory.token(fleet.supervisor)))
    assert stale["data"]["updateAlternativePolicy"]["errors"] == [{"code": "VERSION_CONFLICT", "field": "expectedVersion"}]
