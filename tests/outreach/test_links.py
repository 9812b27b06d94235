"""Self-service links: the page and the customer-app mutation; expired, tampered and reused tokens change nothing."""
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from pydantic import ValidationError
from sqlmodel import select

from app.clock import FrozenClock, writing_with
from app.config import Settings
from app.errors import DomainError
from app.outreach.links import LINK_PATH, issue_link_token, read_link_token
from app.outreach.models import CustomerResponse
from tests.factories import gql
from tests.outreach.conftest import report

CHOOSE = """
mutation C($input: ChooseDeliveryOptionInput!) {
  chooseDeliveryOption(input: $input) { response { option details alternativeId } errors { code message field } }
}
"""
LINK = "query L($token: String!) { customerLink(token: $token) { company address used windows { start end } } }"


async def _responses(runtime) -> list[CustomerResponse]:  # noqa: ANN001
    async with runtime.sessionmaker() as session:
        return list((await session.exec(select(CustomerResponse))).all())


async def _exception_with_link(http, factory, runtime, **token_args):  # noqa: ANN001, ANN202
    fleet = await factory.fleet(stops=1)
    stop = fleet.stops[0]
    exc = await report(http, factory.token(fleet.driver), stop.id)
    token = issue_link_token(runtime.settings, tenant_id=fleet.tenant.id, stop_id=stop.id, exception_id=int(exc["id"]), **token_args)
    return fleet, exc, token


async def test_page_offers_the_options_and_a_choice_is_applied_once(http, factory, outreach_runtime):
    # given a customer with a fresh link
    _, exc, token = await _exception_with_link(http, factory, outreach_runtime)

    # when they open the page
    page = await http.get(LINK_PATH + token)

    # then it is a self-contained page with the reschedule windows and the other options
    assert page.status_code == 200 and page.headers["referrer-policy"] == "no-referrer"
    assert 'name="windowStart"' in page.text and "NEIGHBOR_HANDOVER" in page.text and "SECURE_DROPOFF" in page.text
    assert "<script" not in page.text and "src=" not in page.text and "https://" not in page.text

    # when they ask to leave it with a neighbour, then try to choose again with the same link
    chosen = await http.post(LINK_PATH + token, data={"option": "NEIGHBOR_HANDOVER", "name": "Anna de Vries",
                                                      "address": "Teststraat 3", "phone": "0612345678"})
    again = await http.post(LINK_PATH + token, data={"option": "SECURE_DROPOFF", "instructions": "behind the shed"})

    # then the first choice is recorded and handed to the alternatives, the second is refused and changes nothing
    assert chosen.status_code == 200 and "Thank you" in chosen.text
    assert again.status_code == 409 and "already been used" in again.text
    [response] = await _responses(outreach_runtime)
    assert response.option.value == "NEIGHBOR_HANDOVER" and response.exception_id == int(exc["id"])
    assert response.details == {"name": "Anna de Vries", "address": "Teststraat 3", "phone": "+31612345678"}
    assert response.alternative_id is not None
    assert (await http.get(LINK_PATH + token)).status_code == 409


async def test_expired_and_tampered_links_get_a_clear_page_and_change_nothing(http, factory, outreach_runtime):
    # given an expired token, a tampered one, one signed with another key and a staff API token
    fleet, _, good = await _exception_with_link(http, factory, outreach_runtime)
    expired = issue_link_token(outreach_runtime.settings, tenant_id=fleet.tenant.id, stop_id=fleet.stops[0].id, ttl_seconds=-60)
    claims = jwt.decode(good, options={"verify_signature": False})
    tampered = jwt.encode({**claims, "sub": str(fleet.stops[0].id + 1)}, "not-the-link-secret-but-as-long-as-one", algorithm="HS256")
    header, payload, signature = good.split(".")
    bad_signature = ".".join([header, payload, signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")])
    api_token = factory.token(fleet.dispatcher)
    choice = {"option": "SECURE_DROPOFF", "instructions": "in the shed"}

    # when each is used on the page
    results = {name: await http.post(LINK_PATH + token, data=choice)
               for name, token in {"expired": expired, "tampered": tampered, "bad": bad_signature, "api": api_token}.items()}

    # then: gone for the expired one, not found for the others, and nothing recorded
    assert results["expired"].status_code == 410 and "expired" in results["expired"].text
    assert {results[n].status_code for n in ("tampered", "bad", "api")} == {404}
    assert all("not valid" in results[n].text for n in ("tampered", "bad", "api"))
    assert await _responses(outreach_runtime) == []
    # and the GraphQL mutation gives the same stable codes
    codes = [(await gql(http, CHOOSE, {"input": {"token": t, "option": "SECURE_DROPOFF", "instructions": "shed"}}))
             ["data"]["chooseDeliveryOption"]["errors"][0]["code"] for t in (expired, tampered)]
    assert codes == ["LINK_EXPIRED", "LINK_INVALID"]


async def test_customer_app_reschedules_with_the_link_token(http, factory, outreach_runtime):
    # given the customer app holding a link token
    _, exc, token = await _exception_with_link(http, factory, outreach_runtime)
    link = (await gql(http, LINK, {"token": token}))["data"]["customerLink"]
    assert link["used"] is False and len(link["windows"]) == 3

    # when it picks a window that was not offered, then the second offered window
    wrong = await gql(http, CHOOSE, {"input": {"token": token, "option": "RESCHEDULE", "windowStart": "2030-01-01T10:00:00+00:00"}})
    chosen = await gql(http, CHOOSE, {"input": {"token": token, "option": "RESCHEDULE", "windowStart": link["windows"][1]["start"]}})

    # then the wrong one is refused without spending the link, the offered one becomes the customer's reschedule
    assert wrong["data"]["chooseDeliveryOption"]["errors"][0]["field"] == "windowStart"
    payload = chosen["data"]["chooseDeliveryOption"]
    assert payload["errors"] == [] and payload["response"]["option"] == "RESCHEDULE"
    assert payload["response"]["details"]["windowEnd"] == link["windows"][1]["end"].replace("Z", "+00:00")
    assert (await gql(http, LINK, {"token": token}))["data"]["customerLink"]["used"] is True


def test_production_refuses_the_embedded_or_a_short_link_secret():
    # given production settings with a proper JWT secret
    base = {"mode": "production", "jwt_secret": "x" * 40}

    # then the embedded link secret and a short one are refused, naming the variable but not the value
    for secret in (None, "short-link-secret"):
        with pytest.raises(ValidationError) as refused:
            Settings(**base, **({"link_secret": secret} if secret else {}))
        assert "DETOUR_LINK_SECRET" in str(refused.value) and "short-link-secret" not in str(refused.value)


async def test_access_instructions_from_the_link_go_into_the_vault_not_the_timeline(http, factory, outreach_runtime):
    # given a customer whose driver could not get in
    fleet, exc, token = await _exception_with_link(http, factory, outreach_runtime)
    secret = "Gate code 4711#, then the blue door"

    # when they send their access instructions through the link
    chosen = await gql(http, CHOOSE, {"input": {"token": token, "option": "ACCESS_INSTRUCTIONS", "instructions": secret}})

    # then the answer is recorded without the text, and the customer's access profile holds it encrypted
    assert chosen["data"]["chooseDeliveryOption"]["errors"] == []
    from app.access.models import AccessProfile
    from app.delivery_exceptions.models import ExceptionEvent

    async with outreach_runtime.sessionmaker() as session:
        [profile] = (await session.exec(select(AccessProfile).where(AccessProfile.customer_id == fleet.stops[0].customer_id))).all()
        events = (await session.exec(select(ExceptionEvent))).all()
    [response] = await _responses(outreach_runtime)
    assert response.details == {"storedIn": "access vault"}
    assert profile.has_instructions and secret.encode() not in profile.secrets_sealed
    from app.access.crypto import open_secrets, vault_for

    assert open_secrets(vault_for(outreach_runtime.settings), profile.secrets_sealed, tenant_id=fleet.tenant.id).instructions.get_secret_value() == secret
    assert all(secret not in str(e.payload) for e in events)


def test_a_link_expires_on_the_clock_that_signed_it_not_the_wall_clock():
    # given a link signed on a clock years away from today's date
    settings = Settings()
    clock = FrozenClock(datetime(2031, 6, 1, 9, 0, tzinfo=UTC))
    with writing_with(clock):
        token = issue_link_token(settings, tenant_id=1, stop_id=2, ttl_seconds=3600)

        # when it is read on the same clock within its lifetime, and again once the clock has passed its expiry
        fresh = read_link_token(settings, token)
        clock.advance(timedelta(hours=1))
        with pytest.raises(DomainError) as expired:
            read_link_token(settings, token)

    # then the first read gives its claims and the second is LINK_EXPIRED (pyjwt alone would call it valid until 2031)
    assert (fresh.tenant_id, fresh.stop_id) == (1, 2)
    assert expired.value.code.value == "LINK_EXPIRED"
