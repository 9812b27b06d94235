"""The console sender of the embedded mode: the message is logged, its secrets are not."""
import logging

from app.outreach.channels import ConsoleSender, OutboundMessage
from app.outreach.models import NotificationChannel


async def test_console_sender_logs_the_message_without_link_tokens_or_codes(caplog):
    # given a message with a self-service link and a one-time code
    sender = ConsoleSender(NotificationChannel.SMS)
    body = "Your pickup code: 482913. Choose an option: http://localhost:8000/c/eyJhbGciOi.eyJzdWIiOiI0In0.c2lnbmF0dXJl"
    message = OutboundMessage(notification_id=7, idempotency_key="k-7", channel=NotificationChannel.SMS, recipient="+31612345678", body=body)

    # when it is "sent"
    with caplog.at_level(logging.INFO, logger="app.outreach.channels"):
        result = await sender.send(message)

    # then the log line has the text but neither the token nor the code, and the row gets a console id
    logged = caplog.records[-1].getMessage()
    assert "Your pickup code: <code>" in logged and "http://localhost:8000/c/<token>" in logged
    assert "482913" not in logged and "eyJhbGciOi" not in logged
    assert (result.provider, result.provider_message_id) == ("console-sms", "console-7")
