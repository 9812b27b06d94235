"""A local webhook receiver on 127.0.0.1: answers with scripted statuses and verifies every request with standardwebhooks."""
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import webhooks as standard
from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified: dict[str, bool]  # secret -> the standardwebhooks verifier accepted it
    at: float = 0.0  # time.perf_counter() on arrival (benchmarks)


@dataclass
class Receiver:
    """Statuses are answered in order (then 200); `secrets` are the ones the receiver verifies with."""

    secrets: list[str] = field(default_factory=list)
    script: deque = field(default_factory=deque)
    received: list[Received] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/detour"

    def answer(self, *responses: int | tuple[int, dict[str, str]]) -> None:
        self.script.extend(responses)

    def verify(self, body: bytes, headers: dict[str, str]) -> dict[str, bool]:
        results = {}
        for secret in self.secrets:
            try:
                Webhook(secret).verify(body, headers)
                results[secret] = True
            except WebhookVerificationError:
                results[secret] = False
        return results

    def start(self) -> "Receiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver.received.append(Received(headers, body, receiver.verify(body, headers), time.perf_counter()))
                answer = receiver.script.popleft() if receiver.script else 200
                status, extra = answer if isinstance(answer, tuple) else (answer, {})
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def verifier_reads(clock: Any) -> type[datetime]:
    """The verifier's notion of "now" (it checks webhook-timestamp within 5 minutes) follows the test's clock."""

    class ClockDatetime(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # noqa: ANN102
            return clock.now().astimezone(tz or UTC)

    return ClockDatetime


def patch_verifier_clock(monkeypatch: Any, clock: Any) -> None:
    monkeypatch.setattr(standard, "datetime", verifier_reads(clock))
