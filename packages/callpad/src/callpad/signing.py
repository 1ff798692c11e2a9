"""HS256 JSON Web Tokens, signed here: the server mints one per join grant and per
realtime grant, on the request path.

PyJWT re-validates the key on every `encode` (PEM and SSH-key pattern checks) and
LiveKit's dev secret needs its short-key warning silenced each time: together about two
thirds of a call start's token cost. Tokens are verified with PyJWT (`auth.py`,
`realtime/tokens.py`), which checks what a signer need not.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

import orjson

__all__ = ["sign_hs256"]

_HEADER = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=")


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def sign_hs256(claims: Mapping[str, Any], secret: str) -> str:
    """The compact JWS of `claims` (a JSON object), signed with HMAC-SHA256 under `secret`."""
    signing_input = _HEADER + b"." + _b64(orjson.dumps(dict(claims)))
    signature = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    return (signing_input + b"." + _b64(signature)).decode("ascii")
