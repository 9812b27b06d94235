"""The exception relations resolvers follow."""
from sqlmodel import col

from app.api.loaders import by_id, grouped
from app.delivery_exceptions.models import TERMINAL_STATUSES, DeliveryException, ExceptionEvent

LOADERS = {
    "exception": by_id(DeliveryException),
    "open_exceptions_by_stop": grouped(
        DeliveryException, "stop_id", col(DeliveryException.id),
        where=lambda query: query.where(col(DeliveryException.status).not_in(list(TERMINAL_STATUSES))),
    ),
    "events_by_exception": grouped(ExceptionEvent, "exception_id", col(ExceptionEvent.id)),
}
