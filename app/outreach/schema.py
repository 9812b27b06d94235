"""Outreach in GraphQL: the dispatcher messages a customer; the customer app acts with its link token."""
from datetime import datetime

import strawberry
from strawberry.exceptions import StrawberryGraphQLError

from app.api.common import MutationError, as_payload, parse_id, payload_type, as_changed
from app.api.context import Info
from app.auth.permissions import IsStaff
from app.errors import DomainError
from app.outreach import calls, flows, selfservice, sequences
from app.outreach.communication_types import CallOutcomeType, ConsentStatusType, CustomerCallNoteType, SmsConsentType
from app.outreach.models import ConsentStatus, OutreachSequence, ResponseSource
from app.outreach.permissions import IsSupervisor
from app.outreach.types import (
    CustomerLinkType,
    CustomerResponseType,
    NotificationChannelType,
    NotificationType,
    OutreachSequenceType,
    ResponseOptionType,
    SequenceAnchor,
    SequenceStepType,
)


@strawberry.input
class MessageCustomerInput:
    exception_id: strawberry.ID
    text: str = strawberry.field(description="Sent as is by SMS, through the outbox (opt-out and quiet hours apply).")


MessageCustomerPayload = payload_type("MessageCustomerPayload", "notification", NotificationType)


@strawberry.input(description="A phone call with the customer, as the dispatcher noted it.")
class RecordCustomerCallInput:
    customer_id: strawberry.ID
    outcome: CallOutcomeType
    note: str = strawberry.field(default="", description="At most 2000 characters.")
    exception_id: strawberry.ID | None = strawberry.field(default=None, description="The exception the call was about; the call joins its timeline.")


@strawberry.input(description="What the customer told the dispatcher about receiving texts.")
class SetSmsConsentInput:
    customer_id: strawberry.ID
    status: ConsentStatusType


SetSmsConsentPayload = payload_type("SetSmsConsentPayload", "consent", SmsConsentType, description="The consent in force afterwards.")
RecordCustomerCallPayload = payload_type("RecordCustomerCallPayload", "call", CustomerCallNoteType, description="The call note, or why nothing was written.")


@strawberry.input(description="Only the fields of the chosen option are read.")
class ChooseDeliveryOptionInput:
    token: str = strawberry.field(description="The token of the customer's self-service link.")
    option: ResponseOptionType
    window_start: datetime | None = strawberry.field(default=None, description="RESCHEDULE: the start of one offered window.")
    neighbor_name: str = ""
    neighbor_address: str = ""
    neighbor_phone: str = ""
    instructions: str = strawberry.field(default="", description="SECURE_DROPOFF or ACCESS_INSTRUCTIONS.")
    pickup_point_id: strawberry.ID | None = None


ChooseDeliveryOptionPayload = payload_type("ChooseDeliveryOptionPayload", "response", CustomerResponseType)


@strawberry.input
class RegisterPushDeviceInput:
    token: str = strawberry.field(description="The token of the customer's self-service link.")
    device_token: str = strawberry.field(description="The app's FCM registration token.")


@strawberry.type
class RegisterPushDevicePayload:
    registered: bool = False
    errors: list[MutationError] = strawberry.field(default_factory=list)


@strawberry.input
class SequenceStepInput:
    name: str
    anchor: SequenceAnchor
    offset_minutes: int
    channel: NotificationChannelType
    template: str


@strawberry.input
class UpdateOutreachSequenceInput:
    steps: list[SequenceStepInput]
    active: bool = True


OutreachSequencePayload = payload_type("OutreachSequencePayload", "sequence", OutreachSequenceType)


def sequence_type(sequence: OutreachSequence | None) -> OutreachSequenceType:
    steps = sequence.steps if sequence else sequences.DEFAULT_STEPS
    return OutreachSequenceType(active=sequence.active if sequence else True, is_default=sequence is None,
                                steps=[SequenceStepType.from_data(s) for s in steps])


@strawberry.type
class OutreachQuery:
    @strawberry.field(permission_classes=[IsStaff], description="The pre-arrival messages your tenant sends.")
    async def outreach_sequence(self, info: Info) -> OutreachSequenceType:
        row = await sequences.tenant_sequence(session=info.context.session, tenant_id=info.context.viewer.tenant_id)
        return sequence_type(row)

    @strawberry.field(description="Customer app: the delivery and options behind a self-service link token (no login).")
    async def customer_link(self, info: Info, token: str) -> CustomerLinkType:
        try:
            return CustomerLinkType.from_view(await selfservice.view_link(info.context.runtime, token))
        except DomainError as error:
            raise StrawberryGraphQLError(error.message, extensions={"code": error.code.value}) from None


@strawberry.type
class OutreachMutation:
    @strawberry.mutation(permission_classes=[IsStaff], description="Dispatcher: send the exception's customer an SMS now.")
    async def message_customer(self, info: Info, input: MessageCustomerInput) -> MessageCustomerPayload:
        return await as_changed(MessageCustomerPayload, lambda: flows.message_customer(
            info.context.runtime, info.context.viewer, exception_id=parse_id(input.exception_id, "exception", "exceptionId"),
            text=input.text,
        ))

    @strawberry.mutation(permission_classes=[IsStaff], description="Dispatcher: note a phone call with a customer (it joins their communications).")
    async def record_customer_call(self, info: Info, input: RecordCustomerCallInput) -> RecordCustomerCallPayload:
        return await as_changed(RecordCustomerCallPayload, lambda: calls.record_customer_call(
            info.context.runtime, info.context.viewer, customer_id=parse_id(input.customer_id, "customer", "customerId"),
            outcome=input.outcome, note=input.note,
            exception_id=parse_id(input.exception_id, "exception", "exceptionId") if input.exception_id else None,
        ))

    @strawberry.mutation(permission_classes=[IsStaff], description="Dispatcher: record the customer's word on SMS (source DISPATCHER).")
    async def set_sms_consent(self, info: Info, input: SetSmsConsentInput) -> SetSmsConsentPayload:
        return await as_changed(SetSmsConsentPayload, lambda: calls.set_sms_consent(
            info.context.runtime, info.context.viewer, customer_id=parse_id(input.customer_id, "customer", "customerId"),
            granted=input.status is ConsentStatus.GRANTED,
        ))

    @strawberry.mutation(description="Customer app: choose how to get the parcel, authenticated by the link token; once per token.")
    async def choose_delivery_option(self, info: Info, input: ChooseDeliveryOptionInput) -> ChooseDeliveryOptionPayload:
        async def work() -> ChooseDeliveryOptionPayload:
            choice = selfservice.Choice(
                option=input.option, window_start=input.window_start, neighbor_name=input.neighbor_name,
                neighbor_address=input.neighbor_address, neighbor_phone=input.neighbor_phone, instructions=input.instructions,
                pickup_point_id=parse_id(input.pickup_point_id, "pickup point", "pickupPointId") if input.pickup_point_id else None,
            )
            row = await selfservice.choose(info.context.runtime, input.token, choice, source=ResponseSource.CUSTOMER_APP)
            return ChooseDeliveryOptionPayload(response=CustomerResponseType.from_row(row))

        return await as_payload(ChooseDeliveryOptionPayload, work)

    @strawberry.mutation(description="Customer app: receive messages as push from now on; SMS remains the fallback.")
    async def register_push_device(self, info: Info, input: RegisterPushDeviceInput) -> RegisterPushDevicePayload:
        async def work() -> RegisterPushDevicePayload:
            await selfservice.register_push_device(info.context.runtime, input.token, input.device_token)
            return RegisterPushDevicePayload(registered=True)

        return await as_payload(RegisterPushDevicePayload, work)

    @strawberry.mutation(permission_classes=[IsSupervisor], description="Supervisor: replace the pre-arrival steps (or switch them off).")
    async def update_outreach_sequence(self, info: Info, input: UpdateOutreachSequenceInput) -> OutreachSequencePayload:
        async def work() -> OutreachSequencePayload:
            steps = [{"name": s.name, "anchor": s.anchor.value, "offsetMinutes": s.offset_minutes, "channel": s.channel.value,
                      "template": s.template} for s in input.steps]
            row = await sequences.save_steps(
                info.context.runtime, tenant_id=info.context.viewer.tenant_id, steps=steps, active=input.active
            )
            return OutreachSequencePayload(sequence=sequence_type(row))

        return await as_payload(OutreachSequencePayload, work)
