"""The demo customer phone: the texts Detour sent, clickable links, and a reply that changes the exception."""
import dataclasses
import re

from sqlmodel import select

from app.config import Mode
from app.delivery_exceptions.models import DeliveryException, ExceptionStatus
from app.demo.day import ensure_demo_day
from app.demo.simulator import SimulationConfig, Simulator
from app.main import create_app
from app.outreach.models import CustomerResponse, Notification
from app.outreach.worker import OutboxWorker
from app.routes.models import Stop
from tests.conftest import client_for


async def _a_failed_stop_with_a_text(demo_runtime, demo_client, frozen) -> Notification:  # noqa: ANN001
    """The simulator's opening scene: the first stop fails; the worker sends the customer a text."""
    await ensure_demo_day(demo_runtime)
    sim = Simulator(demo_runtime, demo_client, clock=frozen, config=SimulationConfig(reply_digit_share=0, self_service_share=0))
    worker = OutboxWorker(demo_runtime)
    await sim.start()
    for _ in range(40):
        await sim.step()
        frozen.advance(15)
        await worker.run_once()
        if sim.tally.answers["silence"]:
            break
    async with demo_runtime.sessionmaker() as session:
        return (await session.exec(select(Notification).where(Notification.exception_id.is_not(None)).order_by(Notification.id))).first()


async def test_the_phone_lists_the_texts_with_a_working_link_and_a_reply_changes_the_exception(demo_runtime, demo_client, frozen) -> None:
    # given a customer who got a text about a failed delivery
    text = await _a_failed_stop_with_a_text(demo_runtime, demo_client, frozen)
    assert text is not None
    async with demo_runtime.sessionmaker() as session:
        exc = await session.get(DeliveryException, text.exception_id)
        stop = await session.get(Stop, text.stop_id)
    status_before = exc.status
    # when the user opens the demo phone
    page = await demo_client.get("/demo/phone")
    # then the text is there with a clickable self-service link that opens the customer's page, and no full number
    assert page.status_code == 200
    links = re.findall(r'<a href="([^"]+/c/[^"]+)"', page.text)
    assert links
    assert text.recipient not in page.text
    opened = await demo_client.get(links[0].removeprefix(demo_runtime.settings.public_base_url))
    assert opened.status_code == 200
    # when they reply "1" in the reply box
    reply = await demo_client.post("/demo/phone/reply", data={"customer": str(stop.customer_id), "body": "1"})
    # then a signed inbound webhook recorded the answer and moved the exception on
    assert reply.status_code == 303
    async with demo_runtime.sessionmaker() as session:
        answers = (await session.exec(select(CustomerResponse).where(CustomerResponse.stop_id == stop.id))).all()
        exc = await session.get(DeliveryException, text.exception_id)
    assert [a.option.value for a in answers] == ["RESCHEDULE"]
    assert exc.status != status_before and exc.status in (ExceptionStatus.AWAITING_DECISION, ExceptionStatus.ACTION_APPROVED, ExceptionStatus.RESOLVED)


async def test_a_forged_reply_is_refused_by_the_webhook(demo_runtime, demo_client, frozen) -> None:
    # given a customer who got a text
    text = await _a_failed_stop_with_a_text(demo_runtime, demo_client, frozen)
    # when someone posts a reply without Twilio's signature
    forged = await demo_client.post("/webhooks/twilio/inbound", data={"From": text.recipient, "Body": "1"},
                                    headers={"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"})
    # then it is refused
    assert forged.status_code == 403


async def test_the_phone_does_not_exist_outside_the_embedded_mode(demo_runtime) -> None:
    # given a production runtime
    production = dataclasses.replace(demo_runtime, settings=demo_runtime.settings.model_copy(update={"mode": Mode.PRODUCTION}))
    # when the phone page or its reply box is asked for
    async with client_for(production) as http:
        page, reply = await http.get("/demo/phone"), await http.post("/demo/phone/reply", data={"customer": "1", "body": "1"})
    # then neither exists
    assert page.status_code == 404 and reply.status_code == 404
