"""Clients that hang up mid-request leave no database session open."""
from tests.factories import gql

QUERY = b'{"query": "{ myRoute { id stops { id } } }"}'


async def hang_up(app, token: str, *, after_body: bool) -> None:  # noqa: ANN001
    """One POST whose client disconnects before (or right after) sending its body."""
    messages = [{"type": "http.request", "body": QUERY, "more_body": False}] if after_body else []
    messages.append({"type": "http.disconnect"})

    async def receive() -> dict:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(_message: dict) -> None:
        return None

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/graphql", "raw_path": b"/graphql", "query_string": b"", "root_path": "",
        "headers": [(b"host", b"detour.test"), (b"content-type", b"application/json"), (b"authorization", f"Bearer {token}".encode())],
        "client": ("127.0.0.1", 5000), "server": ("detour.test", 80),
    }
    try:
        await app(scope, receive, send)
    except Exception:  # noqa: BLE001 - a hang-up may surface as an error; what matters is what stays open
        pass


async def test_two_hundred_hang_ups_leave_the_pool_intact(asgi_app, client, factory, runtime):
    # given a driver with a route
    fleet = await factory.fleet(stops=3)
    token = factory.token(fleet.driver)

    # when 200 clients hang up, before and after sending their body
    for index in range(200):
        await hang_up(asgi_app, token, after_body=index % 2 == 1)

    # then no connection is left checked out, and the next myRoute answers normally
    assert runtime.engine.pool.checkedout() == 0
    result = await gql(client, "{ myRoute { id stops { id } } }", token=token)
    assert len(result["data"]["myRoute"]["stops"]) == 3
