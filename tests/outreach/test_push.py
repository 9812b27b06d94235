"""Push through FCM HTTP v1 against a local FCM; fallback to SMS when push does not reach the customer."""
import jwt
from sqlmodel import select

from app.customers.models import Customer
from app.outreach.links import issue_link_token
from app.outreach.models import NotificationChannel, NotificationStatus, PushDevice
from tests.factories import gql
from tests.outreach.conftest import drain, notifications, report
from tests.outreach.fakes import FakeFcm, fcm_unregistered

DEVICE = "fcm-registration-token-of-the-customer-app"
REGISTER = "mutation R($input: RegisterPushDeviceInput!) { registerPushDevice(input: $input) { registered errors { code } } }"


async def _prefers_push(runtime, customer_id: int, *, device: bool = True) -> None:  # noqa: ANN001
    async with runtime.sessionmaker() as session, session.begin():
        customer = await session.get(Customer, customer_id)
        customer.preferred_channels = ["PUSH", "SMS"]
        session.add(customer)
        if device:
            session.add(PushDevice(tenant_id=customer.tenant_id, customer_id=customer.id, token=DEVICE))


async def test_customer_with_the_app_gets_a_push_through_fcm_v1(http, factory, fcm, twilio, worker, outreach_runtime, fcm_key):
    # given a customer who prefers push and has the app
    fleet = await factory.fleet(stops=1)
    await _prefers_push(outreach_runtime, fleet.stops[0].customer_id)

    # when an absence is reported and the worker runs
    exc = await report(http, factory.token(fleet.driver), fleet.stops[0].id)
    await drain(worker)

    # then the worker traded a service-account JWT for a token, then sent one FCM v1 message to the device
    token_request = next(r for r in fcm.requests if r.path == "/token")
    assertion = jwt.decode(token_request.form["assertion"], fcm_key.public_key(), algorithms=["RS256"], audience=f"{fcm.base_url}/token")
    assert assertion["scope"] == "https://www.googleapis.com/auth/firebase.messaging"
    [send] = fcm.sends
    assert send.headers["Authorization"] == f"Bearer {FakeFcm.ACCESS_TOKEN}"
    assert send.json["message"]["token"] == DEVICE and "/c/" in send.json["message"]["notification"]["body"]
    assert twilio.messages == []
    row = (await notifications(outreach_runtime, exception_id=int(exc["id"])))[0]
    assert row.channel is NotificationChannel.PUSH and row.status is NotificationStatus.SENT
    assert row.provider == "fcm" and row.provider_message_id.startswith("projects/detour-test/messages/")


async def test_push_to_an_uninstalled_app_falls_back_to_sms(http, factory, fcm, twilio, worker, outreach_runtime):
    # given a customer whose app registration is no longer valid
    fleet = await factory.fleet(stops=1)
    await _prefers_push(outreach_runtime, fleet.stops[0].customer_id)
    fcm.script.append(fcm_unregistered())

    # when an absence is reported and the worker runs
    exc = await report(http, factory.token(fleet.driver), fleet.stops[0].id)
    await drain(worker)

    # then the push failed for good, the device is forgotten, and the same text went out by SMS
    push, sms = [n for n in await notifications(outreach_runtime, exception_id=int(exc["id"])) if n.purpose != "exception.no_answer"]
    assert push.status is NotificationStatus.FAILED and "UNREGISTERED" in push.failure_reason
    assert sms.channel is NotificationChannel.SMS and sms.fallback_of_id == push.id and sms.status is NotificationStatus.SENT
    assert [m.form["To"] for m in twilio.messages] == ["+31612340000"]
    async with outreach_runtime.sessionmaker() as session:
        device = (await session.exec(select(PushDevice).where(PushDevice.token == DEVICE))).one()
    assert device.active is False


async def test_customer_who_prefers_push_without_the_app_gets_sms(http, factory, fcm, twilio, worker, outreach_runtime):
    # given a customer who prefers push but never installed the app
    fleet = await factory.fleet(stops=1)
    await _prefers_push(outreach_runtime, fleet.stops[0].customer_id, device=False)

    # when an absence is reported and the worker runs
    await report(http, factory.token(fleet.driver), fleet.stops[0].id)
    await drain(worker)

    # then the message went by SMS and FCM was never called
    assert len(twilio.messages) == 1 and fcm.sends == []


async def test_customer_app_registers_for_push_with_its_link_token(http, factory, fcm, twilio, worker, outreach_runtime):
    # given a customer who only ever got SMS, and their app holding a link token
    fleet = await factory.fleet(stops=1)
    stop = fleet.stops[0]
    token = issue_link_token(outreach_runtime.settings, tenant_id=fleet.tenant.id, stop_id=stop.id)

    # when the app registers its FCM token, and something registers with a forged link
    registered = await gql(http, REGISTER, {"input": {"token": token, "deviceToken": DEVICE}})
    forged = await gql(http, REGISTER, {"input": {"token": token + "x", "deviceToken": "other-device"}})

    # then the next message goes to the app by push, not by SMS, and the forged registration changed nothing
    assert registered["data"]["registerPushDevice"] == {"registered": True, "errors": []}
    assert forged["data"]["registerPushDevice"]["errors"][0]["code"] == "LINK_INVALID"
    await report(http, factory.token(fleet.driver), stop.id)
    await drain(worker)
    assert [s.json["message"]["token"] for s in fcm.sends] == [DEVICE] and twilio.messages == []
