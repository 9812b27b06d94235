"""Commands that need the database say where they looked and what to run: no traceback, no empty ./detour.db."""
import sqlite3

import pytest

from app import migrate
from app.cli import main as detour
from app.config import get_settings


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):  # noqa: ANN001, ANN201
    """A fresh directory with no detour.db and the default database URL."""
    monkeypatch.chdir(tmp_path)
    for name in ("DETOUR_DATABASE_URL", "DETOUR_MODE"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


@pytest.mark.parametrize("command", [["token", "--role", "dispatcher"], ["seed"], ["seed", "--scale", "10", "--days", "1"], ["worker"]])
def test_a_command_run_where_there_is_no_database_says_where_it_looked_and_what_to_run(elsewhere, capsys, command):
    # given a directory without a database
    # when a command that needs one runs there
    code = detour(command)

    # then it exits 1 naming the file it looked for and the commands that create it, and creates nothing
    out, err = capsys.readouterr()
    assert code == 1
    assert f"no database at {(elsewhere / 'detour.db').resolve()}" in err
    assert "`detour migrate`" in err and "`detour serve`" in err
    assert "Traceback" not in out + err
    assert list(elsewhere.iterdir()) == []


def test_an_empty_file_is_called_unmigrated_and_left_as_it_was(elsewhere, capsys):
    # given an empty SQLite file where the database should be
    sqlite3.connect(elsewhere / "detour.db").close()

    # when a token is asked for
    code = detour(["token"])

    # then it says the database was never migrated, without creating tables in it
    err = capsys.readouterr().err
    assert code == 1 and "has never been migrated" in err and "`detour migrate`" in err
    with sqlite3.connect(elsewhere / "detour.db") as connection:
        assert connection.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)


def test_after_migrate_the_same_commands_work(elsewhere, capsys):
    # given a migrated database in the directory
    migrate.upgrade("sqlite+aiosqlite:///./detour.db")

    # when the demo is seeded and a token minted
    seeded = detour(["seed"])
    minted = detour(["token", "--role", "dispatcher"])

    # then both succeed: the check stands aside once the database is there
    out = capsys.readouterr().out
    assert (seeded, minted) == (0, 0)
    assert out.strip().splitlines()[-1].count(".") == 2  # a JWT


def test_an_unreachable_server_database_is_one_line_with_the_password_hidden(elsewhere, monkeypatch, capsys):
    # given a PostgreSQL URL with a password on a port nothing listens on
    monkeypatch.setenv("DETOUR_DATABASE_URL", "postgresql+asyncpg://detour:s3cret-pw@127.0.0.1:9/detour")
    get_settings.cache_clear()

    # when a token is asked for
    code = detour(["token"])

    # then one line says the database could not be used, without the password or a traceback
    err = capsys.readouterr().err
    assert code == 1 and "could not be used" in err and "127.0.0.1:9" in err
    assert "s3cret-pw" not in err and "Traceback" not in err
