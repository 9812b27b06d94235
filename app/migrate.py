"""Run alembic from code (the CLI, `serve` in embedded mode, and the tests)."""
from pathlib import Path

from alembic import command
from alembic.config import Config



def project_root() -> Path:
    """Where alembic.ini lives: beside the source checkout, or the working directory of an installed copy."""
    for candidate in (Path(__file__).resolve().parent.parent, Path.cwd()):
        if (candidate / "alembic.ini").is_file():
            return candidate
    raise FileNotFoundError("alembic.ini not found beside the app package or in the working directory")


def alembic_config(database_url: str, encryption_keys: list[str] | None = None) -> Config:
    """`encryption_keys`: the vault's key ring for revisions that seal or open secrets (default: the settings' own)."""
    root = project_root()
    config = Config(str(root / "alembic.ini"))
    config.set_main_option("script_location", str(root / "migrations"))
    config.attributes["database_url"] = database_url
    if encryption_keys:
        config.attributes["encryption_keys"] = list(encryption_keys)
    config.attributes["configure_logging"] = False
    return config


def upgrade(database_url: str, revision: str = "head", *, encryption_keys: list[str] | None = None) -> None:
    command.upgrade(alembic_config(database_url, encryption_keys), revision)


def downgrade(database_url: str, revision: str, *, encryption_keys: list[str] | None = None) -> None:
    command.downgrade(alembic_config(database_url, encryption_keys), revision)
