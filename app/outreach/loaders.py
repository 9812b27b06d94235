"""The outreach relations resolvers follow."""
from sqlmodel import col

from app.api.loaders import grouped
from app.outreach.communication_types import communications_connection_loader
from app.outreach.models import CustomerResponse, Notification

LOADERS = {
    "notifications_by_exception": grouped(Notification, "exception_id", col(Notification.id)),
    "customer_responses_by_exception": grouped(CustomerResponse, "exception_id", col(CustomerResponse.id)),
    "customer_communications": communications_connection_loader,
}
