"""What /console serves without a browser: the files, the config, the demo sign-in only in the embedded mode."""
import base64
import hashlib
import re
from dataclasses import replace

import httpx

from app.config import Mode, Settings
from app.console.documents import TARGET, bundle
from app.main import create_app
from app.auth.tokens import decode_token
from app.runtime import unit_of_work
from app.seed import seed_demo
from tests.conftest import client_for

PRODUCTION = {"mode": Mode.PRODUCTION, "jwt_secret": "p" * 40, "link_secret": "l" * 40,
              "access_encryption_keys": [base64.urlsafe_b64encode(b"k" * 32).decode()], "database_url": "sqlite+aiosqlite:///:memory:"}


def _client(settings: Settings) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(settings)), base_url="http://detour.test")


def test_the_packaged_documents_are_the_dispatcher_documents():
    # given the documents in graphql/dispatcher/ / when bundled / then the console's copy is the same (python -m app.console.documents)
    assert TARGET.read_text() == bundle()


async def test_the_page_allows_only_its_own_scripts_and_its_import_map():
    # given an embedded server
    async with _client(Settings(database_url="sqlite+aiosqlite:///:memory:")) as http:
        # when the page is loaded
        page = await http.get("/console")
        module = await http.get("/console/static/js/app.js")

    # then the CSP names the inline import map by its hash and no other origin, and the modules are served
    policy = page.headers["content-security-policy"]
    importmap = re.search(r'<script type="importmap">(.*?)</script>', page.text, flags=re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(importmap.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in policy and "script-src 'self' 'sha256-" in policy
    assert "http" not in importmap and "//" not in importmap.replace("/console/static/vendor/", "")
    assert module.status_code == 200 and "javascript" in module.headers["content-type"]


async def test_the_demo_sign_in_and_tile_url_in_the_embedded_mode(runtime, factory):
    # given an embedded server with the demo dispatcher and a tile server configured
    async with unit_of_work(runtime) as uow:
        await seed_demo(uow.session, now=uow.clock.now())
    settings = runtime.settings.model_copy(update={"console_tile_url": "https://tiles.test/{z}/{x}/{y}.png"})
    async with client_for(replace(runtime, settings=settings)) as http:
        # when the console asks for its config and a demo token
        config = (await http.get("/console/config.json")).json()
        answer = await http.post("/console/demo-token")

    # then it gets the tile URL and a dispatcher token of the demo tenant
    assert config == {"tileUrl": "https://tiles.test/{z}/{x}/{y}.png", "demoSignIn": True}
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    assert decode_token(settings, answer.json()["token"]).role.value == "dispatcher"


async def test_no_demo_sign_in_outside_the_embedded_mode():
    # given a production server
    async with _client(Settings(**PRODUCTION)) as http:
        # when someone asks for a demo token, and for the config
        answer = await http.post("/console/demo-token")
        config = (await http.get("/console/config.json")).json()

    # then there is no such thing
    assert answer.status_code == 404 and "token" not in answer.json()
    assert config["demoSignIn"] is False
