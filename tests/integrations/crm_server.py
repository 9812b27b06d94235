"""A local CRM on 127.0.0.1 speaking Detour's CRM contract: GET /customers/{externalRef}/preferences with a bearer token."""
import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

TOKEN = "crm-test-token-0123456789"  # noqa: S105 - a test value


@dataclass
class LocalCrm:
    """`customers` maps an external ref to the JSON answered; `script` answers statuses (or raw bodies) first, in order."""

    customers: dict[str, Any] = field(default_factory=dict)
    script: deque = field(default_factory=deque)
    requests: list[dict[str, Any]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/api"

    def start(self) -> "LocalCrm":
        crm = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                crm.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}})
                if crm.script:
                    self._answer(*crm.script.popleft())
                    return
                if self.headers.get("authorization") != f"Bearer {TOKEN}":
                    self._answer(401, {"error": "unauthorized"})
                    return
                parts = self.path.split("/")
                if len(parts) != 5 or parts[1] != "api" or parts[2] != "customers" or parts[4] != "preferences":
                    self._answer(404, {"error": "no such route"})
                    return
                ref = unquote(parts[3])
                if ref not in crm.customers:
                    self._answer(404, {"error": "unknown customer"})
                    return
                self._answer(200, crm.customers[ref])

            def _answer(self, status: int, body: Any) -> None:
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
