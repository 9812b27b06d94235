"""Message text fit for logs, the API and the outbox's memory: without link tokens or one-time codes."""
import re

from app.outreach.links import LINK_PATH

_LINK_TOKEN = re.compile(re.escape(LINK_PATH) + r"[A-Za-z0-9_\-.]+")
# One-time codes (neighbour checks, handovers, pickups) are runs of digits; phone numbers (+…, 9+ digits),
# times, dates and ports (:8000) are not matched.
_CODE = re.compile(r"(?<![\d+:/])\d{4,8}(?![\d/])")


def redact(text: str) -> str:
    """The text with self-service link tokens and one-time codes replaced by placeholders."""
    return _CODE.sub("<code>", _LINK_TOKEN.sub(LINK_PATH + "<token>", text))
