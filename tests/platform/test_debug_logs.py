"""Even at DEBUG the log never carries bound SQL values (a phone number, a code)."""
import logging

from sqlalchemy import text

from app.logs import configure_logging

PHONE = "+31699998888"


async def test_debug_logging_never_prints_bound_values_or_rows(runtime, caplog):
    # given the application's logging at DEBUG
    root_level = logging.getLogger().level
    configure_logging(json_logs=False, level="DEBUG")
    caplog.set_level(logging.DEBUG)
    try:
        # when a statement binds and returns a phone number
        async with runtime.engine.connect() as connection:
            echoed = (await connection.execute(text("SELECT :phone AS phone"), {"phone": PHONE})).scalar_one()
    finally:
        logging.getLogger().setLevel(root_level)
    # then it ran, and no log line holds the number
    assert echoed == PHONE
    assert [r.getMessage() for r in caplog.records if PHONE in r.getMessage()] == []
