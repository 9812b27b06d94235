"""Keeping customers' contact preferences in step with the CRM when an exception opens for them."""
from __future__ import annotations

import logging
from datetime import timedelta

from app.customers import service as customers
from app.customers.models import Customer
from app.errors import DomainError
from app.events import ExceptionReported
from app.integrations.crm import CrmPreferences, CrmUnavailable
from app.routes.models import Stop
from app.runtime import Runtime, unit_of_work

log = logging.getLogger(__name__)


async def _customer_due(runtime: Runtime, event: ExceptionReported) -> tuple[int, str] | None:
    """(customer id, external ref) when the stop's customer is known to the CRM and was not read recently."""
    async with runtime.sessionmaker() as session:
        stop = await session.get(Stop, event.stop_id)
        customer = await session.get(Customer, stop.customer_id) if stop and stop.customer_id else None
    if customer is None or customer.tenant_id != event.tenant_id or not customer.external_ref:
        return None
    fresh_until = customer.crm_refreshed_at + timedelta(hours=runtime.settings.crm_refresh_hours) if customer.crm_refreshed_at else None
    if fresh_until is not None and runtime.clock.now() < fresh_until:
        return None
    return customer.id, customer.external_ref


async def refresh_customer_from_crm(runtime: Runtime, event: ExceptionReported) -> None:
    """After-commit handler: read the customer's preferences from the CRM and apply them; a failure only logs.

    The CRM is called with no transaction open; what it said is applied in a unit of work of its own, so a slow or
    broken CRM never delays or fails the report (the next exception tries again).
    """
    if runtime.crm is None:
        return
    due = await _customer_due(runtime, event)
    if due is None:
        return
    customer_id, external_ref = due
    try:
        preferences = await runtime.crm.preferences(external_ref=external_ref)
    except CrmUnavailable as error:
        log.warning("crm.refresh_failed", extra={"customerId": customer_id, "tenantId": event.tenant_id, "reason": str(error)})
        return
    await apply_preferences(runtime, customer_id=customer_id, preferences=preferences)


async def apply_preferences(runtime: Runtime, *, customer_id: int, preferences: CrmPreferences | None) -> None:
    """Write what the CRM said (None: it does not know the customer, so only the refresh time moves)."""
    try:
        async with unit_of_work(runtime) as uow:
            customer = await uow.session.get(Customer, customer_id, with_for_update=True)
            now = uow.clock.now()
            if preferences is None:
                customer.crm_refreshed_at = now
                uow.session.add(customer)
                return
            quiet = (preferences.quiet_hours.start, preferences.quiet_hours.end) if preferences.quiet_hours else None
            changed = customers.update_preferences(
                customer, refreshed_at=now, language=preferences.language, timezone=preferences.timezone,
                preferred_channels=preferences.preferred_channels,
                **({"quiet_hours": quiet} if preferences.quiet_hours_given else {}),
            )
            uow.session.add(customer)
            consent = preferences.sms_consent
            if consent is not None and customer.phone:
                # through the runtime's outbox port: outreach owns consent, and integrations must not import it
                written = await runtime.outbox.record_consent(
                    uow, tenant_id=customer.tenant_id, phone=customer.phone, granted=consent.granted, source="CRM",
                    captured_at=consent.captured_at,
                )
                if written:
                    changed.append("sms_consent")
    except DomainError as error:  # the CRM's values are refused as a whole: nothing is changed
        log.warning("crm.preferences_refused", extra={"customerId": customer_id, "field": error.field, "reason": error.message})
        return
    log.info("crm.refreshed", extra={"customerId": customer_id, "changed": changed})
