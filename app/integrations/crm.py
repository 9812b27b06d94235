"""The CRM adapter: a customer's contact preferences and SMS consent, read from the fleet's CRM over HTTP.

The JSON contract (the README's "CRM" section) is small on purpose, so any CRM can be fronted by a thin proxy:
`GET {DETOUR_CRM_URL}/customers/{externalRef}/preferences` with `Authorization: Bearer {DETOUR_CRM_TOKEN}`,
answered 200 with the preferences, or 404 when the CRM does not know the customer. Detour never sends a phone number.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any, Literal, Protocol
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from app.config import Settings

log = logging.getLogger(__name__)


class CrmUnavailable(Exception):
    """The CRM cannot be reached, refused us, or answered outside the contract (the message holds no personal data)."""


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time


@dataclass(frozen=True)
class SmsConsent:
    granted: bool
    captured_at: datetime


@dataclass(frozen=True)
class CrmPreferences:
    """What the CRM says; None means "the CRM does not say", and then Detour keeps what it has."""

    preferred_channels: tuple[str, ...] | None = None
    language: str | None = None
    timezone: str | None = None
    quiet_hours: QuietHours | None = None
    quiet_hours_given: bool = False  # quietHours: null clears them; an absent key keeps them
    sms_consent: SmsConsent | None = None


class CrmAdapter(Protocol):
    async def preferences(self, *, external_ref: str) -> CrmPreferences | None:
        """The customer's preferences, None when the CRM does not know them; CrmUnavailable when it cannot say."""


class _QuietHoursAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")
    start: time
    end: time


class _ConsentAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")
    status: Literal["GRANTED", "REVOKED"]
    captured_at: datetime = Field(alias="capturedAt")

    @field_validator("captured_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("capturedAt needs a UTC offset")
        return value.astimezone(UTC)


class _PreferencesAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")
    preferred_channels: list[str] | None = Field(default=None, alias="preferredChannels", max_length=3)
    language: str | None = Field(default=None, max_length=8)
    timezone: str | None = Field(default=None, max_length=64)
    quiet_hours: _QuietHoursAnswer | None = Field(default=None, alias="quietHours")
    sms_consent: _ConsentAnswer | None = Field(default=None, alias="smsConsent")


def parse_answer(body: Any) -> CrmPreferences:
    """The contract's answer as preferences, or CrmUnavailable naming the fields that broke it (never their values)."""
    try:
        answer = _PreferencesAnswer.model_validate(body)
    except ValidationError as error:
        fields = sorted({".".join(str(p) for p in e["loc"]) or "body" for e in error.errors()})
        raise CrmUnavailable(f"the CRM's answer breaks the contract at {', '.join(fields)}") from None
    given = isinstance(body, dict) and "quietHours" in body
    return CrmPreferences(
        preferred_channels=tuple(answer.preferred_channels) if answer.preferred_channels is not None else None,
        language=answer.language, timezone=answer.timezone,
        quiet_hours=QuietHours(answer.quiet_hours.start, answer.quiet_hours.end) if answer.quiet_hours else None,
        quiet_hours_given=given,
        sms_consent=SmsConsent(answer.sms_consent.status == "GRANTED", answer.sms_consent.captured_at) if answer.sms_consent else None,
    )


class HttpCrm:
    """The contract over HTTP with httpx; one short-lived client per call (calls are rare: once per customer per period)."""

    def __init__(self, base_url: str, *, token: str | None, timeout_seconds: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = {"Accept": "application/json", "User-Agent": "detour-crm"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self.timeout = timeout_seconds

    async def preferences(self, *, external_ref: str) -> CrmPreferences | None:
        url = f"{self.base_url}/customers/{quote(external_ref, safe='')}/preferences"
        try:
            async with httpx.AsyncClient(timeout=self.timeout, headers=self.headers) as client:
                response = await client.get(url)
        except httpx.HTTPError as error:
            raise CrmUnavailable(f"the CRM did not answer ({type(error).__name__})") from None
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise CrmUnavailable(f"the CRM answered HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            raise CrmUnavailable("the CRM's answer is not JSON") from None
        return parse_answer(body)


def crm_for(settings: Settings) -> CrmAdapter | None:
    """The configured CRM, or None (no CRM: customers keep the preferences they were imported with)."""
    if not settings.crm_url:
        return None
    return HttpCrm(settings.crm_url, token=settings.crm_token, timeout_seconds=settings.crm_timeout_seconds)
