"""Local HTTP servers that speak Twilio's Messages API and FCM HTTP v1 (with its OAuth token endpoint)."""
import base64
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

MESSAGES_PATH = re.compile(r"^/2010-04-01/Accounts/(AC[0-9a-f]{32})/Messages\.json$")


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str] = field(default_factory=dict)
    json: Any = None
    at: float = field(default_factory=time.perf_counter)


class _Listening(ThreadingHTTPServer):
    """A listen backlog of 128, not socketserver's 5: twenty concurrent senders (two outbox workers) would otherwise
    see connections dropped and retried a second later, which the real provider does not do."""

    request_queue_size = 128


class _Server:
    """A ThreadingHTTPServer on 127.0.0.1 and a free port; `script` holds canned (status, body) answers to give first."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.script: list[tuple[int, dict[str, Any]]] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                self._answer(*server.handle_get(self.path, dict(self.headers.items())))

            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                self._answer(*server.handle(self.path, dict(self.headers.items()), raw))

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = _Listening(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def start(self) -> "_Server":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def scripted(self) -> tuple[int, dict[str, Any]] | None:
        with self.lock:
            return self.script.pop(0) if self.script else None

    def handle(self, path: str, headers: dict[str, str], raw: str) -> tuple[int, dict[str, Any]]:
        raise NotImplementedError

    def handle_get(self, path: str, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        return 404, {"code": 20404, "message": "The requested resource was not found", "status": 404}


class FakeTwilio(_Server):
    """POST /2010-04-01/Accounts/{Sid}/Messages.json with basic auth, answering like Twilio does."""

    def __init__(self, account_sid: str, auth_token: str) -> None:
        super().__init__()
        self.account_sid, self.auth_token = account_sid, auth_token
        self.created: list[dict[str, Any]] = []  # the messages Twilio holds, as GET …/Messages.json lists them
        self.answer_delay = 0.0  # seconds to wait after creating a message before answering (a slow provider)
        self.hold = threading.Event()  # while `holding`, creations wait here (a worker killed mid-call)
        self.hold.set()

    def reset(self) -> None:
        with self.lock:
            self.created.clear()
        self.answer_delay = 0.0
        self.hold.set()

    def _authorised(self, path: str, headers: dict[str, str]) -> tuple[int, dict[str, Any]] | None:
        match = MESSAGES_PATH.match(path.split("?")[0])
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if not match or match.group(1) != self.account_sid:
            return 404, {"code": 20404, "message": "The requested resource was not found", "status": 404}
        if headers.get("Authorization") != expected:
            return 401, {"code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401}
        return None

    def handle_get(self, path: str, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """List messages, filtered by To (the Messages list resource, one page)."""
        refused = self._authorised(path, headers)
        if refused:
            return refused
        query = dict(parse_qsl(path.partition("?")[2]))
        with self.lock:
            listed = [m for m in self.created if "To" not in query or m["to"] == query["To"]]
        uri = path.split("?")[0]
        return 200, {"messages": list(reversed(listed)), "end": max(len(listed) - 1, 0), "first_page_uri": uri,
                     "next_page_uri": None, "page": 0, "page_size": 50, "previous_page_uri": None, "start": 0, "uri": uri}

    @property
    def messages(self) -> list[Recorded]:
        return [r for r in self.requests if MESSAGES_PATH.match(r.path)]

    def handle(self, path: str, headers: dict[str, str], raw: str) -> tuple[int, dict[str, Any]]:
        form = dict(parse_qsl(raw, keep_blank_values=True))
        with self.lock:
            self.requests.append(Recorded("POST", path, headers, form=form))
        refused = self._authorised(path, headers)
        if refused:
            return refused
        canned = self.scripted()
        if canned is not None:
            return canned
        self.hold.wait(timeout=30)
        sid = "SM" + uuid.uuid4().hex
        now = formatdate(usegmt=True)
        message = {
            "account_sid": self.account_sid, "api_version": "2010-04-01", "body": form.get("Body"),
            "date_created": now, "date_sent": None, "date_updated": now, "direction": "outbound-api",
            "error_code": None, "error_message": None, "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"), "num_media": "0", "num_segments": "1",
            "price": None, "price_unit": "USD", "sid": sid, "status": "queued", "to": form.get("To"),
            "subresource_uris": {"media": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}/Media.json"},
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }
        with self.lock:
            self.created.append(message)
        if self.answer_delay:
            time.sleep(self.answer_delay)  # accepted, but the answer comes after the client gave up
        return 201, message


def twilio_error(status: int, code: int, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}


class FakeFcm(_Server):
    """POST /token (service-account JWT bearer grant) and POST /v1/projects/{p}/messages:send with the bearer token."""

    ACCESS_TOKEN = "ya29.local-test-token"  # noqa: S105 - a test value

    def __init__(self, project_id: str) -> None:
        super().__init__()
        self.project_id = project_id

    @property
    def sends(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith("messages:send")]

    def handle(self, path: str, headers: dict[str, str], raw: str) -> tuple[int, dict[str, Any]]:
        if path == "/token":
            form = dict(parse_qsl(raw))
            with self.lock:
                self.requests.append(Recorded("POST", path, headers, form=form))
            if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" or not form.get("assertion"):
                return 400, {"error": "invalid_grant"}
            return 200, {"access_token": self.ACCESS_TOKEN, "expires_in": 3599, "token_type": "Bearer"}
        body = json.loads(raw or "{}")
        with self.lock:
            self.requests.append(Recorded("POST", path, headers, json=body))
        if path != f"/v1/projects/{self.project_id}/messages:send":
            return 404, {"error": {"code": 404, "message": "not found", "status": "NOT_FOUND"}}
        if headers.get("Authorization") != f"Bearer {self.ACCESS_TOKEN}":
            return 401, {"error": {"code": 401, "message": "Request had invalid authentication credentials.", "status": "UNAUTHENTICATED"}}
        canned = self.scripted()
        if canned is not None:
            return canned
        return 200, {"name": f"projects/{self.project_id}/messages/0:{uuid.uuid4().int % 10**16}"}


def fcm_unregistered() -> tuple[int, dict[str, Any]]:
    return 404, {"error": {"code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND", "details": [
        {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "UNREGISTERED"}]}}
