"""Digital keys through the HTTP lock provider: a real httpx call to a local server speaking Detour's lock API."""
from dataclasses import replace

import pytest

from tests.access.conftest import DIGITAL_KEY_ID, LOCK_TOKEN, add_profile, place_driver
from tests.conftest import client_for
from tests.factories import gql

UNLOCK = """
mutation Unlock($input: UnlockWithDigitalKeyInput!) {
  unlockWithDigitalKey(input: $input) {
    unlocked refusalReason audit { action outcome detail actorRole }
    errors { code message field }
  }
}
"""


@pytest.fixture
def with_lock_provider(lock_server):  # noqa: ANN001, ANN201
    return lock_server


@pytest.fixture
def runtime_with_locks(runtime, lock_server):  # noqa: ANN001, ANN201
    """The runtime configured to use the local lock server."""
    return replace(runtime, settings=runtime.settings.model_copy(update={
        "access_lock_provider_url": lock_server.url, "access_lock_provider_token": LOCK_TOKEN,
    }))


@pytest.fixture
async def locked_client(runtime_with_locks):  # noqa: ANN001, ANN201
    async with client_for(runtime_with_locks) as http:
        yield http


async def unlock(client, token, stop_id):  # noqa: ANN001, ANN201
    return (await gql(client, UNLOCK, {"input": {"stopId": str(stop_id)}}, token=token))["data"]["unlockWithDigitalKey"]


async def test_the_driver_at_the_door_opens_the_lock_over_http(locked_client, factory, runtime, with_lock_provider, caplog):
    # given a building with a digital key and the driver at the door
    fleet = await factory.fleet(stops=1)
    stop = fleet.stops[0]
    await add_profile(runtime, fleet.dispatcher, stop, digital_key=True)
    await place_driver(runtime, fleet.driver, stop)

    # when the driver unlocks
    result = await unlock(locked_client, factory.token(fleet.driver), stop.id)

    # then the provider got the key id in the body with Detour's bearer token, and the door opened
    assert result["errors"] == [] and result["unlocked"] is True
    [sent] = with_lock_provider.requests
    assert sent["path"] == "/v1/unlocks" and sent["authorization"] == f"Bearer {LOCK_TOKEN}"
    assert sent["body"]["keyId"] == DIGITAL_KEY_ID and sent["body"]["reference"].startswith("detour-")
    assert result["audit"]["action"] == "DIGITAL_KEY_UNLOCK" and result["audit"]["outcome"] == "ALLOWED"
    assert sent["body"]["reference"] in result["audit"]["detail"]
    # and neither the key id nor the token reached the logs
    assert DIGITAL_KEY_ID not in caplog.text and LOCK_TOKEN not in caplog.text


async def test_a_jammed_lock_is_a_typed_failure_on_the_audit_trail(locked_client, factory, runtime, with_lock_provider):
    # given the provider reports the lock offline
    fleet = await factory.fleet(stops=1)
    stop = fleet.stops[0]
    await add_profile(runtime, fleet.dispatcher, stop, digital_key=True)
    await place_driver(runtime, fleet.driver, stop)
    with_lock_provider.jammed = True

    # when the driver unlocks
    result = await unlock(locked_client, factory.token(fleet.driver), stop.id)

    # then it failed, with the provider's reason and no secret in the message
    assert result["unlocked"] is False and result["audit"]["outcome"] == "FAILED"
    assert result["errors"][0]["code"] == "DIGITAL_KEY_FAILED"
    assert "409: lock offline" in result["errors"][0]["message"]
    assert DIGITAL_KEY_ID not in result["errors"][0]["message"]


async def test_the_driver_far_from_the_door_is_refused_before_the_provider_is_called(locked_client, factory, runtime, with_lock_provider):
    # given the driver 2 km away
    fleet = await factory.fleet(stops=1)
    stop = fleet.stops[0]
    await add_profile(runtime, fleet.dispatcher, stop, digital_key=True)
    await place_driver(runtime, fleet.driver, stop, metres_north=2000)

    # when the driver unlocks
    result = await unlock(locked_client, factory.token(fleet.driver), stop.id)

    # then it is refused and the lock was never asked
    assert result["refusalReason"] == "TOO_FAR" and result["errors"][0]["code"] == "ACCESS_REFUSED"
    assert with_lock_provider.requests == []


async def test_a_dispatcher_unlocks_remotely_for_the_driver(locked_client, factory, runtime, with_lock_provider):
    # given a driver at a locked building whose GPS is off
    fleet = await factory.fleet(stops=1)
    stop = fleet.stops[0]
    await add_profile(runtime, fleet.dispatcher, stop, digital_key=True)

    # when the dispatcher triggers the unlock
    result = await unlock(locked_client, factory.token(fleet.dispatcher), stop.id)

    # then the door opens and the audit names the dispatcher
    assert result["unlocked"] is True and result["audit"]["actorRole"] == "dispatcher"
    assert len(with_lock_provider.requests) == 1


async def test_wrong_provider_credentials_and_missing_keys_fail_cleanly(locked_client, factory, runtime, with_lock_provider):
    # given a provider that expects another token
    fleet = await factory.fleet(stops=2)
    await add_profile(runtime, fleet.dispatcher, fleet.stops[0], digital_key=True)
    with_lock_provider.token = "another-token"

    # when the dispatcher unlocks
    result = await unlock(locked_client, factory.token(fleet.dispatcher), fleet.stops[0].id)

    # then it fails with a clear reason
    assert result["errors"][0]["code"] == "DIGITAL_KEY_FAILED"
    assert "refused Detour's credentials" in result["errors"][0]["message"]
    # and a stop without a digital key is refused without calling anyone
    calls = len(with_lock_provider.requests)
    await add_profile(runtime, fleet.dispatcher, fleet.stops[1], label="No key here")
    plain = await unlock(locked_client, factory.token(fleet.dispatcher), fleet.stops[1].id)
    assert plain["refusalReason"] == "NO_DIGITAL_KEY" and len(with_lock_provider.requests) == calls


async def test_without_a_configured_provider_the_unlock_fails_and_says_why(client, factory, runtime):
    # given a digital key but no lock provider configured
    fleet = await factory.fleet(stops=1)
    await add_profile(runtime, fleet.dispatcher, fleet.stops[0], digital_key=True)

    # when the dispatcher unlocks
    result = await unlock(client, factory.token(fleet.dispatcher), fleet.stops[0].id)

    # then it fails and the message names the missing provider
    assert result["errors"][0]["code"] == "DIGITAL_KEY_FAILED"
    assert "no lock provider 'detour-lock-api' is configured" in result["errors"][0]["message"]
