"""The hardening tests reuse the outreach fixtures: a local Twilio and FCM and a runtime pointed at them."""
from tests.outreach.conftest import (  # noqa: F401 - fixtures, found by pytest by name
    _reset_fakes,
    http,
    outreach_app,
    fcm,
    fcm_key,
    outreach_runtime,
    outreach_settings,
    twilio,
    worker,
)
