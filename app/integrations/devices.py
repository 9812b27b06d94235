"""GPS trackers mapped to drivers: a per-device token, stored hashed, names the device and so the driver."""
import secrets

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.errors import invalid, not_found
from app.integrations.api_keys import hash_secret
from app.integrations.models import GpsDevice
from app.tenants.models import Role, User

DEVICE_TOKEN_PREFIX = "dtr_gps_"


async def register_device(*, session: AsyncSession, tenant_id: int, driver_id: int, identifier: str) -> tuple[GpsDevice, str]:
    """A device for this driver (a re-registration replaces the token); returns the row and its token, shown once."""
    identifier = identifier.strip()
    if not identifier or len(identifier) > 120:
        raise invalid("identifier is 1 to 120 characters", "identifier")
    driver = await session.get(User, driver_id)
    if driver is None or driver.tenant_id != tenant_id or driver.role is not Role.DRIVER:
        raise not_found("driver", "driverId")
    token = DEVICE_TOKEN_PREFIX + secrets.token_urlsafe(24)
    device = (await session.exec(select(GpsDevice).where(GpsDevice.tenant_id == tenant_id, GpsDevice.identifier == identifier))).first()
    if device is None:
        device = GpsDevice(tenant_id=tenant_id, driver_id=driver_id, identifier=identifier, token_hash=hash_secret(token))
    else:
        device.driver_id, device.token_hash, device.revoked_at = driver_id, hash_secret(token), None
    session.add(device)
    await session.flush()
    return device, token


async def device_for_token(*, session: AsyncSession, token: str) -> GpsDevice | None:
    device = (await session.exec(select(GpsDevice).where(GpsDevice.token_hash == hash_secret(token)))).first()
    return device if device is not None and device.revoked_at is None else None
