"""Logs carry request id, operation and tenant, and never a token."""
import json
import logging

import pytest
import sqlalchemy as sa

from app.db import create_engine
from app.logs import ConsoleFormatter, ContextFilter, JsonFormatter, redact
from tests.factories import gql


def test_redact_removes_bearer_tokens_and_jwts():
    jwt_like = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlc2ln"
    text = redact(f"Authorization: Bearer abc.def.ghi and {jwt_like} auth_token=s3cr3t")
    assert "abc.def.ghi" not in text and jwt_like not in text and "s3cr3t" not in text


def test_json_lines_carry_context(monkeypatch):
    from app.logs import operation_var, request_id_var, tenant_var

    request_id_var.set("req-1"), operation_var.set("MyRoute"), tenant_var.set(7)
    record = logging.makeLogRecord({"name": "detour", "levelname": "INFO", "msg": "hello %s", "args": ("world",)})
    ContextFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert (line["msg"], line["request_id"], line["operation"], line["tenant"]) == ("hello world", "req-1", "MyRoute", 7)
    assert "request_id=req-1" in ConsoleFormatter().format(record)


async def test_request_logs_never_contain_the_token(client, factory, caplog):
    fleet = await factory.fleet(stops=1)
    token = factory.token(fleet.driver, ttl_seconds=-5)  # expired: the failure path logs too
    handler = logging.StreamHandler()
    lines: list[str] = []
    handler.emit = lambda record: lines.append(JsonFormatter().format(record))  # type: ignore[method-assign]
    handler.addFilter(ContextFilter())
    logging.getLogger().addHandler(handler)
    try:
        response = await client.post("/graphql", json={"query": "query Viewer { viewer { user { id } } }"}, headers={"Authorization": f"Bearer {token}", "X-Request-ID": "trace-123"})
        logging.getLogger("detour.test").info("header was %s", f"Bearer {token}")
    finally:
        logging.getLogger().removeHandler(handler)
    assert response.headers["x-request-id"] == "trace-123"
    assert lines and all(token not in line for line in lines)
    assert token not in response.text


async def test_unexpected_errors_are_masked(client, factory, monkeypatch):
    from app.routes import service

    async def broken(**_):
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(service, "route_for_driver_day", broken)
    fleet = await factory.fleet(stops=1)
    result = await gql(client, "query { myRoute { id } }", token=factory.token(fleet.driver))
    assert result["errors"][0]["message"] == "Unexpected error."
    assert result["errors"][0]["extensions"]["code"] == "INTERNAL_ERROR"
    assert "hunter2" not in json.dumps(result)


async def test_sql_parameters_never_reach_the_log_or_the_error(settings, caplog):
    # given an engine that echoes its SQL, and a statement bound to a phone number
    engine = create_engine(settings.database_url, echo=True)
    caplog.set_level(logging.INFO)
    phone = "+31612345678"
    try:
        # when it runs, and when a statement with the same parameter fails
        async with engine.connect() as connection:
            await connection.execute(sa.text("SELECT :phone"), {"phone": phone})
            with pytest.raises(sa.exc.DBAPIError) as failure:
                await connection.execute(sa.text("SELECT * FROM no_such_table WHERE x = :phone"), {"phone": phone})
    finally:
        await engine.dispose()

    # then neither the echoed SQL nor the error quotes it
    assert "SELECT" in caplog.text and phone not in caplog.text
    assert phone not in str(failure.value)
