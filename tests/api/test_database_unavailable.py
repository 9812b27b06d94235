"""A database that refuses connections while the caller is looked up: a retryable 503, never a raw ASGI exception."""
from dataclasses import replace

from app.db import create_engine, create_sessionmaker
from tests.conftest import client_for

QUERY = "query { myRoute { id } }"


async def test_a_refused_database_while_authenticating_is_a_503(runtime, factory, tmp_path):
    # given a driver's valid token, and a process whose database cannot be opened
    fleet = await factory.fleet(stops=1)
    token = factory.token(fleet.driver)
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/missing-directory/detour.db")
    unreachable = replace(runtime, engine=engine, sessionmaker=create_sessionmaker(engine))
    try:
        # when the driver asks for their route (the in-process transport re-raises anything the app lets escape)
        async with client_for(unreachable) as client:
            response = await client.post("/graphql", json={"query": QUERY}, headers={"Authorization": f"Bearer {token}"})
    finally:
        await engine.dispose()

    # then the answer says to retry, and names no file, driver or secret
    assert response.status_code == 503, response.text
    assert "retry" in response.text and "missing-directory" not in response.text
