"""A local OpenID Connect issuer on 127.0.0.1: a discovery document, a JWKS, and RS256 tokens it signs."""
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa


class LocalIssuer:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.jwks_requests = 0
        self.rotate("key-1")

    @property
    def issuer(self) -> str:
        return self.base_url

    def rotate(self, kid: str) -> None:
        """Publish a new signing key (the old ones stay published, as providers do during a rollover)."""
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.current = kid

    def jwks(self) -> dict:
        keys = []
        for kid, key in self.keys.items():
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
            keys.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
        return {"keys": keys}

    def token(self, *, audience: str, ttl: int = 600, kid: str | None = None, **claims: object) -> str:
        # pyjwt verifies exp against the real time, so the issuer signs with it too (as a real provider would)
        now = int(time.time())
        payload = {"iss": self.issuer, "aud": audience, "iat": now, "exp": now + ttl, **claims}
        kid = kid or self.current
        return jwt.encode(payload, self.keys[kid], algorithm="RS256", headers={"kid": kid})


@contextmanager
def local_issuer() -> Iterator[LocalIssuer]:
    holder: dict[str, LocalIssuer] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            issuer = holder["issuer"]
            if self.path == "/.well-known/openid-configuration":
                body = {"issuer": issuer.issuer, "jwks_uri": f"{issuer.base_url}/jwks", "id_token_signing_alg_values_supported": ["RS256"]}
            elif self.path == "/jwks":
                issuer.jwks_requests += 1
                body = issuer.jwks()
            else:
                self.send_response(404)
                self.end_headers()
                return
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder["issuer"] = LocalIssuer(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield holder["issuer"]
    finally:
        server.shutdown()
        server.server_close()
