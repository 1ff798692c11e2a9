"""Tokens from an identity provider, verified against its JWKS URL (RS256)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from callpad.testing import fast_settings
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from testsupport.api import Api, running_app

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def jwks_url() -> Iterator[str]:
    """A loopback identity provider publishing one RSA public key."""
    public = json.loads(RSAAlgorithm.to_jwk(KEY.public_key()))
    body = json.dumps({"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    finally:
        server.shutdown()
        server.server_close()


def idp_token(key: Any, kid: str = "k1", **claims: Any) -> str:
    payload = {"sub": "7", "exp": int(time.time()) + 60, "aud": "callpad", **claims}
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": kid})


async def test_jwks_tokens_are_verified(jwks_url: str, tmp_path: Path) -> None:
    settings = fast_settings(
        f"sqlite:///{tmp_path / 'j.db'}",
        auth_secret=None,
        auth_jwks_url=jwks_url,
        auth_audience="callpad",
    )
    async with running_app(settings) as app, Api.in_process(app, settings) as api:

        async def status(token: str) -> int:
            response = await api.client.get(
                "/api/v1/me/sessions", headers={"Authorization": f"Bearer {token}"}
            )
            return response.status_code

        assert await status(idp_token(KEY)) == 200
        assert await status(idp_token(OTHER_KEY)) == 401  # signed by someone else
        assert await status(idp_token(KEY, kid="unknown")) == 401
        assert await status(idp_token(KEY, aud="another-app")) == 401
        assert await status(idp_token(KEY, exp=int(time.time()) - 10)) == 401
        hs256 = jwt.encode({"sub": "7", "exp": int(time.time()) + 60}, "x" * 32, algorithm="HS256")
        assert await status(hs256) == 401  # no HS256 when a JWKS is configured
