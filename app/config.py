"""One settings object for the whole process, read from DETOUR_* environment variables."""
from __future__ import annotations

from enum import StrEnum
from functools import lru_cache

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_JWT_SECRET = "detour-embedded-development-secret-change-me"  # noqa: S105 - embedded only
DEFAULT_LINK_SECRET = "detour-embedded-link-secret-change-me"  # noqa: S105 - embedded only


class Mode(StrEnum):
    EMBEDDED = "embedded"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """Configuration; safe defaults for the embedded mode, hard failures on them in production."""

    model_config = SettingsConfigDict(env_prefix="DETOUR_", env_file=".env", extra="ignore")

    mode: Mode = Mode.EMBEDDED
    database_url: str = "sqlite+aiosqlite:///./detour.db"
    database_echo: bool = False
    broadcast_url: str = "memory://"

    jwt_secret: str = DEFAULT_JWT_SECRET
    jwt_public_key: str | None = None
    jwt_private_key: str | None = None
    jwt_issuer: str = "detour"
    jwt_audience: str = "detour-api"
    jwt_ttl_seconds: int = Field(default=12 * 3600, gt=0)

    graphiql: bool | None = None
    introspection: bool | None = None
    allowed_origins: list[str] = Field(default_factory=lambda: ["*"])
    log_format: str | None = None
    log_level: str = "INFO"

    max_query_depth: int = Field(default=10, gt=0)
    max_query_tokens: int = Field(default=2000, gt=0)
    max_query_aliases: int = Field(default=15, gt=0)

    run_worker_in_process: bool | None = None
    worker_poll_seconds: float = Field(default=1.0, gt=0)

    @property
    def is_embedded(self) -> bool:
        return self.mode is Mode.EMBEDDED

    @property
    def graphiql_enabled(self) -> bool:
        return self.is_embedded if self.graphiql is None else self.graphiql

    @property
    def introspection_enabled(self) -> bool:
        return self.is_embedded if self.introspection is None else self.introspection

    @property
    def json_logs(self) -> bool:
        return (self.log_format or ("console" if self.is_embedded else "json")) == "json"

    @property
    def worker_in_process(self) -> bool:
        return self.is_embedded if self.run_worker_in_process is None else self.run_worker_in_process

    @property
    def jwt_algorithm(self) -> str:
        return "RS256" if self.jwt_public_key else "HS256"

    @model_validator(mode="after")
    def _refuse_default_secrets_in_production(self) -> Settings:
        if self.mode is Mode.PRODUCTION and not self.jwt_public_key and self.jwt_secret == DEFAULT_JWT_SECRET:
            raise ValueError("DETOUR_JWT_SECRET must be set in production (or DETOUR_JWT_PUBLIC_KEY for RS256)")
        if self.mode is Mode.PRODUCTION and self.jwt_secret != DEFAULT_JWT_SECRET and len(self.jwt_secret) < 32:
            raise ValueError("DETOUR_JWT_SECRET must be at least 32 characters")
        return self


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
