"""Digital keys: smart locks and building-access services behind one small interface.

The HTTP lock API Detour speaks (a provider, or an adapter in front of one, implements it):

    POST {base_url}/v1/unlocks
    Authorization: Bearer <DETOUR_ACCESS_LOCK_PROVIDER_TOKEN>
    {"keyId": "<the profile's digital key id>", "reference": "<opaque id Detour logs on its side>"}

    201 {"unlockId": "...", "status": "UNLOCKED"}   the door is open now
    401 / 403                                        the token is wrong
    404                                              the provider does not know the key
    409 {"error": "..."}                             the lock is offline, jammed or the key is revoked
The key id travels in the body, never in the URL, so it stays out of access logs on both sides.
"""
from dataclasses import dataclass
from typing import Protocol

import httpx
from pydantic import SecretStr

from app.config import Settings


@dataclass(frozen=True)
class UnlockResult:
    unlocked: bool
    detail: str = ""  # non-secret: the provider's status and unlock id, shown in the audit trail


class LockProvider(Protocol):
    name: str

    async def unlock(self, *, key_id: SecretStr, reference: str) -> UnlockResult: ...


class HttpLockProvider:
    """The lock API above over HTTP with httpx."""

    def __init__(self, *, name: str, base_url: str, token: str, timeout_seconds: float) -> None:
        self.name = name
        self._base_url = base_url.rstrip("/")
        self._token = SecretStr(token)
        self._timeout = timeout_seconds

    def __repr__(self) -> str:
        return f"HttpLockProvider(name={self.name!r}, base_url={self._base_url!r})"

    async def unlock(self, *, key_id: SecretStr, reference: str) -> UnlockResult:
        headers = {"Authorization": f"Bearer {self._token.get_secret_value()}"}
        body = {"keyId": key_id.get_secret_value(), "reference": reference}
        try:
            async with httpx.AsyncClient(base_url=self._base_url, timeout=self._timeout) as client:
                response = await client.post("/v1/unlocks", json=body, headers=headers)
        except httpx.HTTPError as error:
            return UnlockResult(False, f"provider unreachable ({error.__class__.__name__})")
        if response.status_code in (200, 201):
            unlock_id = str(_json(response).get("unlockId", ""))[:100]
            return UnlockResult(True, f"unlocked (unlock id {unlock_id})" if unlock_id else "unlocked")
        if response.status_code in (401, 403):
            return UnlockResult(False, "provider refused Detour's credentials")
        if response.status_code == 404:
            return UnlockResult(False, "provider does not know this key")
        # A provider may quote the key back in its error; the audit trail and the client must not see it.
        reason = str(_json(response).get("error", "")).replace(key_id.get_secret_value(), "[key]")[:200]
        return UnlockResult(False, f"provider answered {response.status_code}" + (f": {reason}" if reason else ""))


def _json(response: httpx.Response) -> dict:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def lock_provider(settings: Settings, name: str) -> LockProvider | None:
    """The configured provider called `name`, or None when there is none."""
    if not settings.access_lock_provider_url or name != settings.access_lock_provider_name:
        return None
    return HttpLockProvider(
        name=settings.access_lock_provider_name,
        base_url=settings.access_lock_provider_url,
        token=settings.access_lock_provider_token or "",
        timeout_seconds=settings.access_lock_timeout_seconds,
    )
