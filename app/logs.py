"""Structured logs: JSON in production, readable in a terminal; request id, operation and tenant on every line."""
import contextvars
import json
import logging
import re
import sys
from datetime import UTC, datetime

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
operation_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("operation", default=None)
tenant_var: contextvars.ContextVar[int | None] = contextvars.ContextVar("tenant", default=None)

# Anything shaped like a bearer token or a JWT is cut out of every log line, whoever logged it.
_SECRET_PATTERNS = [
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),
    re.compile(r"(?i)((?:token|secret|password|auth_token|authorization)[\"']?\s*[:=]\s*[\"']?)[^\s\"',}]+"),
]


def redact(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + "[REDACTED]", text)
    return text


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.operation = operation_var.get()
        record.tenant = tenant_var.get()
        return True


_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "request_id", "operation", "tenant", "color_message"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "operation": getattr(record, "operation", None),
            "tenant": getattr(record, "tenant", None),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return redact(json.dumps(entry, default=str))


class ConsoleFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        context = " ".join(
            f"{k}={v}" for k in ("request_id", "operation", "tenant") if (v := getattr(record, k, None)) is not None
        )
        extras = " ".join(f"{k}={v}" for k, v in record.__dict__.items() if k not in _STANDARD)
        line = f"{datetime.fromtimestamp(record.created).strftime('%H:%M:%S')} {record.levelname:<7} {record.name}: {record.getMessage()}"
        line = " ".join(part for part in (line, context, extras) if part)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return redact(line)


def configure_logging(*, json_logs: bool, level: str = "INFO") -> None:
    """Install one handler on the root logger (idempotent)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_logs else ConsoleFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "_detour", False):
            root.removeHandler(existing)
    handler._detour = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # At DEBUG these print every statement with its bound values (phone numbers, codes); echo=True still works, it
    # sets the level of sqlalchemy.engine.Engine itself.
    for leaky in ("aiosqlite", "sqlalchemy.engine"):
        logging.getLogger(leaky).setLevel(logging.WARNING)
