"""Texts the alternatives send, through the runtime's outbox (one row in the caller's transaction)."""
from app.runtime import UnitOfWork


async def send_sms(
    uow: UnitOfWork, *, tenant_id: int, to_phone: str, text: str, purpose: str,
    customer_id: int | None = None, exception_id: int | None = None,
) -> None:
    await uow.runtime.outbox.sms(
        uow, tenant_id=tenant_id, to_phone=to_phone, text=text, purpose=purpose, customer_id=customer_id,
        exception_id=exception_id,
    )


def neighbor_verification_text(customer_name: str, code: str) -> str:
    return (
        f"{customer_name} would like you to receive parcels for them when they are out. "
        f"If you agree, give them or our driver this code: {code}"
    )


def handover_code_text(customer_name: str, code: str) -> str:
    return f"Our driver will bring a parcel for {customer_name}. Please give the driver this code: {code}"


def pickup_code_text(point_name: str, address: str, code: str) -> str:
    return f"Your parcel is waiting at {point_name}, {address}. Your pickup code: {code}"


def left_with_neighbor_text(neighbor_name: str, address: str) -> str:
    return f"Your parcel was handed to your neighbour {neighbor_name} ({address})."


def received_for_customer_text(customer_name: str) -> str:
    return f"Thank you for receiving a parcel for {customer_name}."


def safe_place_text(instructions: str) -> str:
    return f"Your parcel was left at your safe place: {instructions}"
