"""Outreach fixtures: a local Twilio and FCM, a runtime configured for them, a worker, a client, signed webhooks."""
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlmodel import select
from twilio.request_validator import RequestValidator

from app.config import Settings
from app.main import create_app
from app.outreach.models import Notification
from app.outreach.worker import OutboxWorker
from app.runtime import Runtime
from tests.factories import gql
from tests.outreach.fakes import FakeFcm, FakeTwilio

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "twilio-test-auth-token-0123456789"  # noqa: S105 - a test value
FROM_NUMBER = "+3197010000001"
PUBLIC_BASE_URL = "https://detour.example"
FCM_PROJECT = "detour-test"

REPORT = """
mutation Report($input: ReportExceptionInput!) {
  reportException(input: $input) { exception { id status version } errors { code message } }
}
"""


@pytest.fixture(scope="session")
def twilio() -> Iterator[FakeTwilio]:
    server = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fcm_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def fcm(tmp_path_factory: pytest.TempPathFactory, fcm_key: rsa.RSAPrivateKey) -> Iterator[FakeFcm]:
    server = FakeFcm(FCM_PROJECT).start()
    pem = fcm_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    account = tmp_path_factory.mktemp("fcm") / "service-account.json"
    account.write_text(json.dumps({
        "type": "service_account", "project_id": FCM_PROJECT, "client_email": "detour@detour-test.iam.gserviceaccount.com",
        "private_key": pem.decode(), "token_uri": f"{server.base_url}/token",
    }))
    server.account_file = str(account)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _reset_fakes(request: pytest.FixtureRequest) -> None:
    for name in ("twilio", "fcm"):
        if name in request.fixturenames:
            server = request.getfixturevalue(name)
            server.requests.clear()
            server.script.clear()
            if hasattr(server, "reset"):
                server.reset()


@pytest.fixture(scope="session")
def outreach_settings(settings: Settings, twilio: FakeTwilio, fcm: FakeFcm) -> Settings:
    return settings.model_copy(update={
        "twilio_account_sid": ACCOUNT_SID, "twilio_auth_token": AUTH_TOKEN, "twilio_from_number": FROM_NUMBER,
        "twilio_api_base_url": twilio.base_url, "public_base_url": PUBLIC_BASE_URL,
        "fcm_project_id": FCM_PROJECT, "fcm_service_account_file": fcm.account_file, "fcm_api_base_url": fcm.base_url,
        "outbox_backoff_seconds": 0.05, "outbox_backoff_cap_seconds": 0.2, "outbox_max_attempts": 3,
    })


@pytest.fixture(scope="session")
def outreach_runtime(runtime: Runtime, outreach_settings: Settings) -> Runtime:
    """The session's engine and bus, with settings that point Twilio and FCM at the local servers."""
    return replace(runtime, settings=outreach_settings)


@pytest.fixture
async def worker(outreach_runtime: Runtime) -> AsyncIterator[OutboxWorker]:
    outbox = OutboxWorker(outreach_runtime)
    yield outbox
    for sender in outbox.senders.values():
        await sender.aclose()


@pytest.fixture(scope="session")
def outreach_app(outreach_runtime: Runtime):  # noqa: ANN201
    return create_app(runtime=outreach_runtime)


@pytest.fixture
async def http(outreach_app) -> AsyncIterator[httpx.AsyncClient]:  # noqa: ANN001
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=outreach_app), base_url=PUBLIC_BASE_URL) as client:
        yield client


def twilio_signature(url: str, params: dict[str, str], token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


async def post_signed(http: httpx.AsyncClient, path: str, params: dict[str, str], *, signature: str | None = "valid") -> httpx.Response:
    """POST a form as Twilio does; signature="valid" signs it with the account's token, None sends none."""
    headers = {}
    if signature == "valid":
        headers["X-Twilio-Signature"] = twilio_signature(PUBLIC_BASE_URL + path, params)
    elif signature is not None:
        headers["X-Twilio-Signature"] = signature
    return await http.post(path, data=params, headers=headers)


async def report(http: httpx.AsyncClient, token: str, stop_id: int, kind: str = "CUSTOMER_ABSENT", reason: str = "NO_ANSWER") -> dict:
    body = await gql(http, REPORT, {"input": {"stopId": str(stop_id), "kind": kind, "reasonCode": reason,
                                              "idempotencyKey": f"k-{stop_id}-{kind}"}}, token=token)
    assert body["data"]["reportException"]["errors"] == [], body
    return body["data"]["reportException"]["exception"]


async def notifications(runtime: Runtime, **where: object) -> list[Notification]:
    async with runtime.sessionmaker() as session:
        query = select(Notification).order_by(Notification.id)
        for column, value in where.items():
            query = query.where(getattr(Notification, column) == value)
        return list((await session.exec(query)).all())


async def drain(worker: OutboxWorker, rounds: int = 20) -> None:
    """Run the worker until nothing is due (bounded, so a bug cannot hang the test)."""
    for _ in range(rounds):
        if await worker.run_once() == 0:
            return
