"""`detour serve` listens where the platform says (HOST / PORT, flags first) and its links follow it."""
import os

import pytest
import uvicorn

from app.cli import main as detour
from app.config import get_settings

SERVE_ENV = ("HOST", "PORT", "DETOUR_HOST", "DETOUR_PORT", "DETOUR_PUBLIC_BASE_URL", "DETOUR_DATABASE_URL", "DETOUR_MODE")


@pytest.fixture
def serve(tmp_path, monkeypatch):  # noqa: ANN001, ANN201
    """Run `detour serve --no-seed` in a fresh directory; returns (exit code, where uvicorn was told to listen, settings)."""
    monkeypatch.chdir(tmp_path)
    for name in SERVE_ENV:
        monkeypatch.delenv(name, raising=False)
    listened: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: listened.append(kwargs))

    def run(*flags: str):  # noqa: ANN202
        get_settings.cache_clear()
        code = detour(["serve", "--no-seed", *flags])
        return code, listened[-1] if listened else None, get_settings() if code == 0 else None

    yield run
    for name in ("DETOUR_HOST", "DETOUR_PORT"):  # set by the command for the app factory
        os.environ.pop(name, None)
    get_settings.cache_clear()


def test_port_and_host_from_the_environment_and_the_base_url_follows(serve, monkeypatch):
    # given a platform that sets PORT and HOST
    monkeypatch.setenv("PORT", "9123")
    monkeypatch.setenv("HOST", "0.0.0.0")  # noqa: S104

    # when serve starts without flags
    code, listened, settings = serve()

    # then it listens there and the links and webhook signatures use that address
    assert code == 0
    assert (listened["host"], listened["port"]) == ("0.0.0.0", 9123)  # noqa: S104
    assert settings.public_base_url == "http://localhost:9123"


def test_flags_win_over_the_environment(serve, monkeypatch):
    # given PORT and HOST in the environment
    monkeypatch.setenv("PORT", "9123")
    monkeypatch.setenv("HOST", "0.0.0.0")  # noqa: S104

    # when serve is given --host and --port
    code, listened, settings = serve("--host", "127.0.0.2", "--port", "9200")

    # then the flags are used, for listening and for the base URL
    assert code == 0
    assert (listened["host"], listened["port"]) == ("127.0.0.2", 9200)
    assert settings.public_base_url == "http://127.0.0.2:9200"


def test_an_explicit_public_base_url_is_kept(serve, monkeypatch):
    # given a public base URL behind a proxy
    monkeypatch.setenv("PORT", "9123")
    monkeypatch.setenv("DETOUR_PUBLIC_BASE_URL", "https://detour.example.com/")

    # when serve starts
    code, listened, settings = serve()

    # then links keep the public address (without the trailing slash), whatever the port
    assert code == 0 and listened["port"] == 9123
    assert settings.public_base_url == "https://detour.example.com"


@pytest.mark.parametrize(("name", "value", "said"), [
    ("DETOUR_PUBLIC_BASE_URL", "ftp://detour.example.com", "http(s) URL"),
    ("DETOUR_PUBLIC_BASE_URL", "detour.example.com", "http(s) URL"),
    ("PORT", "eighty", "invalid PORT (or DETOUR_PORT)"),
    ("PORT", "70000", "invalid PORT (or DETOUR_PORT)"),
])
def test_a_bad_address_is_refused_at_start_up(serve, monkeypatch, capsys, name, value, said):
    # given a malformed setting
    monkeypatch.setenv(name, value)

    # when serve starts
    code, listened, _ = serve()

    # then it exits 2 with a one-line reason and never listens
    err = capsys.readouterr().err
    assert code == 2 and listened is None
    assert said in err and "Traceback" not in err


def test_websocket_compression_follows_the_setting(serve, monkeypatch):
    # given the default, then compression turned on by the environment
    monkeypatch.delenv("DETOUR_WS_PER_MESSAGE_DEFLATE", raising=False)
    _, by_default, _ = serve()
    monkeypatch.setenv("DETOUR_WS_PER_MESSAGE_DEFLATE", "true")
    _, turned_on, _ = serve()

    # then uvicorn is told not to compress by default, and to compress when asked
    assert by_default["ws_per_message_deflate"] is False
    assert turned_on["ws_per_message_deflate"] is True
