"""One settings object for the whole process, read from DETOUR_* environment variables."""
from __future__ import annotations

import base64
import binascii
import json
from enum import StrEnum
from functools import lru_cache
from typing import Annotated

from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_JWT_SECRET = "detour-embedded-development-secret-change-me"  # noqa: S105 - embedded only
DEFAULT_LINK_SECRET = "detour-embedded-link-secret-change-me"  # noqa: S105 - embedded only
# A fixed 32-byte AES key (urlsafe base64) so the embedded mode works out of the box; refused in production.
# Lets the demo phone page sign inbound webhooks like Twilio does when no Twilio account is configured (embedded only).
DEFAULT_TWILIO_AUTH_TOKEN = "detour-embedded-twilio-token"  # noqa: S105 - embedded only
DEFAULT_ACCESS_KEY = "ZGV0b3VyLWVtYmVkZGVkLWFjY2Vzcy1rZXktZGV2ISE="  # noqa: S105 - embedded only


class Mode(StrEnum):
    EMBEDDED = "embedded"
    PRODUCTION = "production"


class DayPlanEngine(StrEnum):
    """The solver that plans a depot's day (planRoutes); replanning a route always uses VROOM."""

    VROOM = "vroom"
    PYVRP = "pyvrp"


class Settings(BaseSettings):
    """Configuration; safe defaults for the embedded mode, hard failures on them in production."""

    # hide_input_in_errors: a refused setting must not print the secrets (keys, tokens) it was given.
    model_config = SettingsConfigDict(env_prefix="DETOUR_", env_file=".env", extra="ignore", hide_input_in_errors=True, populate_by_name=True)

    mode: Mode = Mode.EMBEDDED
    database_url: str = "sqlite+aiosqlite:///./detour.db"
    database_echo: bool = False
    broadcast_url: str = "memory://"
    # Live updates (issue 3): the broker only wakes subscribers up; the event tables are the truth.
    broadcast_channel_prefix: str = ""
    broker_heartbeat_seconds: float = Field(default=2.0, gt=0)
    broker_heartbeat_timeout_seconds: float = Field(default=2.0, gt=0)
    broker_backoff_max_seconds: float = Field(default=10.0, gt=0)
    realtime_catchup_seconds: float = Field(default=15.0, gt=0)
    realtime_buffer_events: int = Field(default=1000, ge=2)
    realtime_position_interval_seconds: float = Field(default=3.0, ge=0)
    max_subscriptions_per_socket: int = Field(default=20, gt=0)  # a 21st subscribe is answered "Subscription limit reached"
    max_sockets_per_principal: int = Field(default=10, gt=0)  # one user's 11th socket is refused (4403 TOO_MANY_SOCKETS)
    max_sockets_per_process: int = Field(default=2000, gt=0)  # past it a socket is closed before it opens (1013)
    # Socket authentications, subscription checks and replays of one process that may hold a database connection at
    # once: a thousand sockets reconnecting together wait their turn instead of exhausting the pool (and PostgreSQL).
    realtime_socket_db_concurrency: int = Field(default=4, gt=0)
    # permessage-deflate on WebSockets (uvicorn's option): events are small JSON sent to many sockets, and compressing
    # the same bytes once per socket cost more CPU than everything else per delivery (and a zlib state per socket).
    ws_per_message_deflate: bool = False

    jwt_secret: str = DEFAULT_JWT_SECRET
    jwt_public_key: str | None = None
    jwt_private_key: str | None = None
    jwt_issuer: str = "detour"
    jwt_audience: str = "detour-api"
    jwt_ttl_seconds: int = Field(default=12 * 3600, gt=0)
    # Tenants' own OpenID Connect issuers: how long their JWKS is cached, and the least time between two
    # refetches forced by an unknown key id (a rotation is seen after at most this long; floods cannot hammer the provider).
    oidc_jwks_lifespan_seconds: int = Field(default=3600, gt=0)
    oidc_jwks_refresh_cooldown_seconds: float = Field(default=30, ge=0)
    # Geocoding of imported stops sent without coordinates: a Nominatim-compatible base URL (None: lat/lon required).
    geocoder_url: str | None = None
    geocoder_user_agent: str = "detour-route-import"
    geocoder_country_codes: str | None = None

    graphiql: bool | None = None
    introspection: bool | None = None
    allowed_origins: list[str] = Field(default_factory=lambda: ["*"])
    # The console's map tiles, e.g. https://tile.example/{z}/{x}/{y}.png; unset: the map is drawn from the data alone.
    console_tile_url: str | None = None
    log_format: str | None = None
    log_level: str = "INFO"

    max_query_depth: int = Field(default=10, gt=0)
    max_query_tokens: int = Field(default=2000, gt=0)
    max_query_aliases: int = Field(default=15, gt=0)
    # Fields a document would resolve with every fragment spread expanded (a fragment bomb asks for millions).
    max_query_fields: int = Field(default=2000, gt=0)
    max_request_bytes: int = Field(default=1_000_000, gt=0)

    run_worker_in_process: bool | None = None
    worker_poll_seconds: float = Field(default=1.0, gt=0)

    # Outreach (issue 4): SMS through Twilio, push through FCM, console sender when neither is configured.
    # Where `serve` listens (HOST / PORT as platforms set them, or DETOUR_HOST / DETOUR_PORT); the public base URL
    # of links and Twilio signatures defaults from them.
    host: str = Field(default="127.0.0.1", validation_alias=AliasChoices("DETOUR_HOST", "HOST"))
    port: int = Field(default=8000, gt=0, lt=65536, validation_alias=AliasChoices("DETOUR_PORT", "PORT"))
    public_base_url: str = ""
    link_secret: str = DEFAULT_LINK_SECRET
    link_ttl_seconds: int = Field(default=4 * 3600, gt=0)
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from_number: str | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_api_base_url: str = "https://api.twilio.com"
    twilio_timeout_seconds: float = Field(default=15.0, gt=0)  # past it a send is ambiguous and is reconciled
    fcm_project_id: str | None = None
    fcm_service_account_file: str | None = None
    fcm_api_base_url: str = "https://fcm.googleapis.com"
    fcm_token_url: str | None = None
    outbox_batch_size: int = Field(default=20, gt=0)
    # batches one worker loop keeps at the provider at once: the next is claimed while one is being sent
    outbox_batches_in_flight: int = Field(default=2, gt=0, le=16)
    outbox_max_attempts: int = Field(default=5, gt=0)
    outbox_backoff_seconds: float = Field(default=5.0, gt=0)
    outbox_backoff_cap_seconds: float = Field(default=300.0, gt=0)
    outbox_send_lease_seconds: float = Field(default=120.0, gt=0)
    outreach_horizon_minutes: int = Field(default=120, gt=0)
    outreach_no_answer_minutes: int = Field(default=20, gt=0)
    # Inbound MessageSids kept against replayed webhooks (Twilio retries within hours); older ones are deleted.
    inbound_message_retention_days: int = Field(default=30, gt=0)
    # a reply from a number that more than one fleet texted within this window is not given to either (one shared
    # sender number cannot tell which message it answers); the customer is pointed to the link in their message
    inbound_reply_window_hours: float = Field(default=48.0, gt=0)

    # Live ETAs from GPS (issue 12): recompute at most this often per route (a stop completion forces one).
    live_eta_enabled: bool = True
    live_eta_interval_seconds: int = Field(default=30, ge=0)
    live_eta_publish_change_seconds: int = Field(default=60, ge=0)
    live_eta_min_move_m: float = Field(default=25.0, ge=0, description="a driver who moved less since the last computation waits for the max interval")
    live_eta_max_interval_seconds: int = Field(default=120, ge=0, description="a standing driver's ETAs are still recomputed this often")
    matrix_cache_entries: int = Field(
        default=1024, ge=1, description="stop matrices kept in memory; keep it above the routes driving at once (live ETAs read each one)",
    )
    late_margin_minutes: int = Field(default=0, ge=0)
    late_clear_minutes: int = Field(default=10, ge=0, description="hysteresis: a late stop clears only this far inside its window")
    late_replan_min_stops: int = Field(default=2, ge=2)
    proximity_radius_m: float = Field(default=150.0, gt=0)
    proximity_eta_minutes: int = Field(default=3, ge=0)
    geofence_radius_m: float = Field(default=200.0, gt=0)

    # Integrations (issue 17): webhooks out; see app/integrations/ and the README's event catalogue.
    webhook_allow_private_addresses: bool = False  # loopback/private receivers (tests, a WMS on the same network)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    webhook_batch_size: int = Field(default=50, gt=0)
    webhook_send_lease_seconds: float = Field(default=120.0, gt=0)
    webhook_secret_overlap_hours: float = Field(default=24.0, ge=0)
    webhook_warn_after_hours: float = Field(default=24.0, gt=0)
    webhook_disable_after_days: float = Field(default=5.0, gt=0)
    # eta.changed only when a stop's live ETA is this far from the last one announced (or from the plan's): no flood
    webhook_eta_change_minutes: float = Field(default=5.0, gt=0)
    # The CRM (issue 17): preferences and SMS consent read when an exception opens; see app/integrations/crm.py.
    crm_url: str | None = None  # unset: no CRM
    crm_token: str | None = None
    crm_timeout_seconds: float = Field(default=5.0, gt=0)
    crm_refresh_hours: float = Field(default=24.0, ge=0)  # a customer read from the CRM less than this ago is not read again

    # Request budgets and trusted documents (issue 17): see app/api/cost.py, ratelimit.py, trusted_documents.py.
    max_query_cost: int = Field(default=2000, gt=0)  # a single document costing more is refused before it runs
    budget_capacity: int = Field(default=100_000, gt=0)  # leaky bucket per API key / user (a console reloads its queue often)
    budget_leak_per_second: float = Field(default=1000.0, gt=0)
    budget_redis_url: str | None = None  # default: the broadcast URL when it is Redis, else in process
    trusted_documents_only: bool = False  # drivers', dispatchers' and supervisors' tokens may only send graphql/ documents
    trusted_documents_dir: str | None = None  # default: the repository's graphql/

    # Access vault (issue 5): the first key encrypts, every key decrypts (rotation); see `detour access-rekey`.
    access_encryption_keys: Annotated[list[str], NoDecode] = Field(default_factory=lambda: [DEFAULT_ACCESS_KEY])
    access_reveal_margin_minutes: int = Field(default=15, ge=0)
    access_reveal_radius_m: float = Field(default=150.0, gt=0)
    access_fix_max_age_seconds: int = Field(default=180, gt=0)
    access_building_match_m: float = Field(default=40.0, gt=0)
    access_refusal_limit: int = Field(default=5, gt=0)
    access_refusal_window_minutes: int = Field(default=15, gt=0)
    access_grant_ttl_minutes: int = Field(default=10, gt=0, le=120)
    access_lock_provider_name: str = "detour-lock-api"
    access_lock_provider_url: str | None = None
    access_lock_provider_token: str | None = None
    access_lock_timeout_seconds: float = Field(default=5.0, gt=0)

    # Alternatives (issue 6): one-time codes for neighbours, handovers and pickups (hashed with DETOUR_LINK_SECRET).
    neighbor_code_ttl_seconds: int = Field(default=30 * 60, gt=0)
    handover_code_ttl_seconds: int = Field(default=8 * 3600, gt=0)
    pickup_code_ttl_seconds: int = Field(default=7 * 24 * 3600, gt=0)
    one_time_code_max_attempts: int = Field(default=5, gt=0)

    # Replanning (issue 7): travel times from OSRM when a URL is set, else haversine at an average speed.
    osrm_url: str | None = None
    average_speed_kmh: float = Field(default=30.0, gt=0)
    replan_solver_timeout_seconds: float = Field(default=3.0, gt=0)
    replan_exploration_level: int = Field(default=0, ge=0, le=5)
    # Day planning (rebalanceRoutes, whole-depot plans): deeper search and a longer limit than the fast replan, whose
    # settings left customers unassigned on 9 of 12 Gehring-Homberger 200-customer instances that level 5 served.
    day_plan_exploration_level: int = Field(default=5, ge=0, le=5)
    day_plan_solver_timeout_seconds: float = Field(default=10.0, gt=0)
    # planRoutes' engine: VROOM, or PyVRP (the `pyvrp` extra), which bench/day_plan.py found closer to the best known.
    day_plan_engine: DayPlanEngine = DayPlanEngine.VROOM
    replan_eta_notify_minutes: int = Field(default=15, ge=1)

    # The living demo (issue 14): a simulator drives the demo tenant in the embedded `serve`.
    demo_simulate: bool = True
    demo_speed: float = Field(default=3.0, gt=0, le=1000, description="simulated seconds per real second")
    demo_seed: int = 7

    @field_validator("day_plan_engine")
    @classmethod
    def _engine_installed(cls, engine: DayPlanEngine) -> DayPlanEngine:
        from importlib.util import find_spec

        if engine is DayPlanEngine.PYVRP and find_spec("pyvrp") is None:
            raise ValueError("DETOUR_DAY_PLAN_ENGINE=pyvrp needs PyVRP: pip install 'detour[pyvrp]'")
        return engine

    @field_validator("access_encryption_keys", mode="before")
    @classmethod
    def _split_access_keys(cls, value: object) -> object:
        """Accept a comma-separated env var as well as a list or a JSON array."""
        if isinstance(value, str):
            text = value.strip()
            return json.loads(text) if text.startswith("[") else [k.strip() for k in text.split(",") if k.strip()]
        return value

    @field_validator("access_encryption_keys")
    @classmethod
    def _check_access_keys(cls, keys: list[str]) -> list[str]:
        if not keys:
            raise ValueError("DETOUR_ACCESS_ENCRYPTION_KEYS needs at least one key")
        for index, key in enumerate(keys):
            try:
                raw = base64.urlsafe_b64decode(key.encode())
            except (ValueError, binascii.Error):
                raw = b""
            if len(raw) != 32:
                raise ValueError(f"DETOUR_ACCESS_ENCRYPTION_KEYS[{index}] is not a urlsafe-base64 32-byte key")
        return keys

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
    def _default_and_check_public_base_url(self) -> Settings:
        if not self.public_base_url:
            shown = "localhost" if self.host in ("127.0.0.1", "0.0.0.0", "::", "") else self.host  # noqa: S104
            self.public_base_url = f"http://{shown}:{self.port}"
        parts = urlsplit(self.public_base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ValueError("DETOUR_PUBLIC_BASE_URL must be an http(s) URL with a host and no query, e.g. https://detour.example.com")
        self.public_base_url = self.public_base_url.rstrip("/")
        if self.mode is Mode.EMBEDDED and not self.twilio_auth_token and not self.twilio_account_sid:
            self.twilio_auth_token = DEFAULT_TWILIO_AUTH_TOKEN
        return self

    @model_validator(mode="after")
    def _refuse_default_secrets_in_production(self) -> Settings:
        if self.mode is Mode.PRODUCTION and not self.jwt_public_key and self.jwt_secret == DEFAULT_JWT_SECRET:
            raise ValueError("DETOUR_JWT_SECRET must be set in production (or DETOUR_JWT_PUBLIC_KEY for RS256)")
        if self.mode is Mode.PRODUCTION and self.jwt_secret != DEFAULT_JWT_SECRET and len(self.jwt_secret) < 32:
            raise ValueError("DETOUR_JWT_SECRET must be at least 32 characters")
        if self.mode is Mode.PRODUCTION and self.link_secret == DEFAULT_LINK_SECRET:
            raise ValueError("DETOUR_LINK_SECRET must be set in production (it signs customer self-service links)")
        if self.mode is Mode.PRODUCTION and len(self.link_secret) < 32:
            raise ValueError("DETOUR_LINK_SECRET must be at least 32 characters")
        if self.mode is Mode.PRODUCTION and DEFAULT_ACCESS_KEY in self.access_encryption_keys:
            raise ValueError("DETOUR_ACCESS_ENCRYPTION_KEYS must not contain the embedded default key in production")
        return self


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
