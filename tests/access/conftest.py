"""Access fixtures: a profile on a stop, the driver's GPS fix, and a local lock-provider server."""
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.access import flows
from app.access.crypto import AccessSecrets
from app.access.models import ProvidedBy
from app.access.service import ProfileFields
from app.auth.principal import Principal
from app.clock import current_time as utcnow
from app.routes.models import Stop
from app.runtime import Runtime
from app.tenants.models import User
from app.tracking.service import Fix, store_fixes

GATE_CODE = "4711#SECRET"
ENTRY_CODE = "B-2468-XYZ"
INSTRUCTIONS = "Concierge desk, say code word PELICAN-7"
DIGITAL_KEY_ID = "key-ab12-cd34-private"
LOCK_TOKEN = "lock-provider-token-do-not-log"
METRES_PER_DEGREE_LAT = 111_320.0


def principal_of(user: User) -> Principal:
    return Principal(user_id=user.id, tenant_id=user.tenant_id, role=user.role, scopes=frozenset())


async def add_profile(runtime: Runtime, staff: User, stop: Stop, *, digital_key: bool = False, **overrides: object):  # noqa: ANN201
    """A building profile at the stop's address holding every kind of secret."""
    fields = {"label": "Residence Parkzicht", "address": stop.address, "provided_by": ProvidedBy.PROPERTY_MANAGER,
              "lat": stop.lat, "lon": stop.lon, "digital_key_provider": "detour-lock-api" if digital_key else None}
    fields.update(overrides)
    secrets = AccessSecrets().replace(
        gate_code=GATE_CODE, entry_code=ENTRY_CODE, instructions=INSTRUCTIONS,
        digital_key_id=DIGITAL_KEY_ID if digital_key else None,
    )
    return await flows.create_profile(runtime, principal_of(staff), fields=ProfileFields(**fields), secrets=secrets)


async def place_driver(runtime: Runtime, driver: User, stop: Stop, *, metres_north: float = 10, age: timedelta = timedelta(0)) -> None:
    """Store a GPS fix `metres_north` of the stop, recorded `age` ago."""
    fix = Fix(recorded_at=runtime.clock.now() - age, lat=stop.lat + metres_north / METRES_PER_DEGREE_LAT, lon=stop.lon, accuracy_m=5)
    async with runtime.sessionmaker() as session, session.begin():
        await store_fixes(session=session, tenant_id=driver.tenant_id, driver_id=driver.id, fixes=[fix])


async def move_window(runtime: Runtime, stop: Stop, start: datetime, end: datetime) -> None:
    async with runtime.sessionmaker() as session, session.begin():
        row = await session.get(Stop, stop.id)
        row.window_start, row.window_end = start, end


@dataclass
class LockServer:
    """A lock provider speaking Detour's lock API on 127.0.0.1; records what it was sent."""

    url: str = ""
    token: str = LOCK_TOKEN
    known_keys: set[str] = field(default_factory=lambda: {DIGITAL_KEY_ID})
    jammed: bool = False
    requests: list[dict] = field(default_factory=list)


@pytest.fixture
def lock_server() -> Iterator[LockServer]:
    state = LockServer()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            state.requests.append({"path": self.path, "authorization": self.headers.get("Authorization"), "body": body})
            if self.path != "/v1/unlocks":
                return self._answer(404, {"error": "no such endpoint"})
            if self.headers.get("Authorization") != f"Bearer {state.token}":
                return self._answer(401, {"error": "bad token"})
            if body.get("keyId") not in state.known_keys:
                return self._answer(404, {"error": "unknown key"})
            if state.jammed:
                return self._answer(409, {"error": "lock offline"})
            return self._answer(201, {"unlockId": f"u-{len(state.requests)}", "status": "UNLOCKED"})

        def _answer(self, status: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()
