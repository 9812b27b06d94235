"""The domain-event handler table: one glance tells what happens when something happens.

In-transaction handlers write what must commit or roll back with the change (outbox rows, timeline entries,
proposals); after-commit handlers do slow or external work in their own unit of work (solving a route, asking the CRM).
"""
from app import events
from app.access.flows import annotate_access_denied_report
from app.alternatives.flows import propose_customer_choice, propose_safe_place_fallback
from app.delivery_exceptions.flows import close_on_delivery
from app.integrations import catalogue as webhooks_out
from app.integrations.crm_flows import refresh_customer_from_crm
from app.outreach.flows import message_customer_on_report, text_supervisors
from app.outreach.live import message_customer_on_approach
from app.replanning.flows import replan_after_alternative, replan_after_edit
from app.replanning.late_routes import propose_replan_for_late_stops
from app.runtime import HandlerTable, Handlers
from app.tracking.flows import update_live_etas
from app.tracking.geofence import flag_attempt_location

EVENT_HANDLERS: HandlerTable = {
    events.ExceptionReported: Handlers(
        in_transaction=(annotate_access_denied_report, message_customer_on_report, webhooks_out.on_exception_reported),
        after_commit=(refresh_customer_from_crm,),
    ),
    events.ExceptionStatusChanged: Handlers(in_transaction=(webhooks_out.on_exception_status_changed,)),
    events.ExceptionClosed: Handlers(in_transaction=(webhooks_out.on_exception_closed,)),
    events.StopDelivered: Handlers(in_transaction=(close_on_delivery,)),
    events.CustomerAnswered: Handlers(in_transaction=(propose_customer_choice,)),
    events.CustomerDidNotAnswer: Handlers(in_transaction=(propose_safe_place_fallback,)),
    events.AlternativeApproved: Handlers(),
    events.AlternativeExecuted: Handlers(in_transaction=(webhooks_out.on_alternative_executed,), after_commit=(replan_after_alternative,)),
    events.RouteChanged: Handlers(in_transaction=(webhooks_out.on_route_changed,)),
    events.RouteEdited: Handlers(after_commit=(replan_after_edit,)),
    events.PositionsReported: Handlers(after_commit=(update_live_etas,)),
    events.LiveEtasUpdated: Handlers(in_transaction=(webhooks_out.on_live_etas_updated,)),
    events.OperationalAlert: Handlers(in_transaction=(text_supervisors,)),
    events.AttemptRecorded: Handlers(in_transaction=(flag_attempt_location,)),
    events.StopsRunningLate: Handlers(after_commit=(propose_replan_for_late_stops,)),
    events.StopApproaching: Handlers(in_transaction=(message_customer_on_approach,)),
}
