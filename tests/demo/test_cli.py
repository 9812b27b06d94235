"""`serve --no-simulate / --speed` reach the app factory's settings; `detour simulate` refuses what it cannot drive."""
import os

import pytest
import uvicorn

from app.cli import main as detour
from app.config import get_settings

ENV = ("HOST", "PORT", "DETOUR_HOST", "DETOUR_PORT", "DETOUR_PUBLIC_BASE_URL", "DETOUR_DATABASE_URL", "DETOUR_MODE",
       "DETOUR_DEMO_SIMULATE", "DETOUR_DEMO_SPEED")


@pytest.fixture
def clean_env(tmp_path, monkeypatch):  # noqa: ANN001, ANN201
    monkeypatch.chdir(tmp_path)
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: None)
    get_settings.cache_clear()
    yield tmp_path
    for name in ("DETOUR_HOST", "DETOUR_PORT", "DETOUR_DEMO_SIMULATE", "DETOUR_DEMO_SPEED"):  # set by serve for the app factory
        os.environ.pop(name, None)
    get_settings.cache_clear()


def test_serve_runs_the_simulator_by_default_and_not_with_no_simulate(clean_env, capsys) -> None:
    # given a fresh directory
    # when serve starts plainly, then with --no-simulate --speed 10
    assert detour(["serve", "--no-seed"]) == 0
    default = get_settings()
    first = capsys.readouterr().out
    assert detour(["serve", "--no-seed", "--no-simulate", "--speed", "10"]) == 0
    off = get_settings()
    # then the app factory sees the choice, and serve says where the demo phone is
    assert default.demo_simulate is True and default.demo_speed == 3
    assert off.demo_simulate is False and off.demo_speed == 10
    assert "/demo/phone" in first and "simulator drives it at 3x" in first


def test_simulate_without_a_database_says_where_it_looked_and_creates_nothing(clean_env, capsys) -> None:
    # given a directory without a database
    # when the simulator is asked to run
    code = detour(["simulate", "--minutes", "1"])
    # then it explains and leaves no empty database behind
    assert code == 1
    assert str(clean_env / "detour.db") in capsys.readouterr().err
    assert not (clean_env / "detour.db").exists()


def test_simulate_refuses_outside_the_embedded_mode(clean_env, monkeypatch, capsys) -> None:
    # given a production configuration (its secrets set)
    monkeypatch.setenv("DETOUR_MODE", "production")
    monkeypatch.setenv("DETOUR_JWT_SECRET", "p" * 40)
    monkeypatch.setenv("DETOUR_LINK_SECRET", "l" * 40)
    monkeypatch.setenv("DETOUR_ACCESS_ENCRYPTION_KEYS", "cHJvZHVjdGlvbi1hY2Nlc3Mta2V5LTMyLWJ5dGVzISE=")
    get_settings.cache_clear()
    # when the simulator is asked to run
    code = detour(["simulate"])
    # then it refuses: it only ever drives the embedded demo
    assert code == 2 and "embedded" in capsys.readouterr().err
