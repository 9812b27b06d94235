"""Before a command uses the database: is it there? A missing SQLite file is said plainly, never created empty."""
import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

WHAT_TO_RUN = (
    "run `detour migrate` to create it (or `detour serve`, which migrates and seeds the demo tenant) from the "
    "directory that should hold it, or set DETOUR_DATABASE_URL to the database you mean (an absolute path works "
    "from any directory)"
)


def shown_url(database_url: str) -> str:
    """The URL as it can be printed: the password hidden."""
    try:
        return make_url(database_url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(an unreadable DETOUR_DATABASE_URL)"


def sqlite_path(database_url: str, *, cwd: Path) -> Path | None:
    """The file an SQLite URL points at (relative paths from `cwd`); None for other databases and in-memory ones."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        return None
    path = Path(url.database)
    return path if path.is_absolute() else cwd / path


def database_problem(database_url: str, *, cwd: Path | None = None) -> str | None:
    """Why a command cannot use this database (where it looked and what to run), or None when it can."""
    cwd = cwd or Path.cwd()
    try:
        path = sqlite_path(database_url, cwd=cwd)
    except ArgumentError:
        return "DETOUR_DATABASE_URL is not a database URL (e.g. sqlite+aiosqlite:////abs/path/detour.db)"
    if path is None:
        return None
    where = f"{path.resolve()} (DETOUR_DATABASE_URL={shown_url(database_url)}, from {cwd})"
    if not path.is_file():
        return f"no database at {where}: {WHAT_TO_RUN}"
    try:
        # Read-only: looking must not create or change anything.
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            migrated = connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'").fetchone()
        finally:
            connection.close()
    except sqlite3.DatabaseError:
        return f"the file at {where} is not an SQLite database: point DETOUR_DATABASE_URL at the right file, or {WHAT_TO_RUN}"
    if migrated is None:
        return f"the database at {where} has never been migrated: {WHAT_TO_RUN}"
    return None
