"""Connection tokens: HS256 JWTs as Centrifugo reads them (`sub`, `exp`, `channels`)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt

from ..signing import sign_hs256

__all__ = [
    "ConnectionClaims",
    "TokenExpired",
    "TokenInvalid",
    "decode_connection_token",
    "mint_connection_token",
]


class TokenInvalid(Exception):
    """Bad signature, malformed, or missing `sub`: the hub closes with 3500."""


class TokenExpired(Exception):
    """Past `exp`: the hub answers 109 and the client fetches a new token."""


@dataclass(frozen=True, slots=True)
class ConnectionClaims:
    user: str
    expires_at: int | None
    channels: tuple[str, ...]
    issued_at: int | None = None


def mint_connection_token(
    secret: str, user_id: int, channels: list[str], ttl_s: int, *, now: int | None = None
) -> tuple[str, int]:
    """A token for `user_id` subscribed server-side to `channels`; returns it and its `exp`."""
    issued = int(time.time()) if now is None else now
    expires_at = issued + ttl_s
    claims = {"sub": str(user_id), "iat": issued, "exp": expires_at, "channels": channels}
    return sign_hs256(claims, secret), expires_at


def decode_connection_token(secret: str, token: str) -> ConnectionClaims:
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["sub"]})
    except jwt.ExpiredSignatureError as exc:
        raise TokenExpired from exc
    except jwt.PyJWTError as exc:
        raise TokenInvalid(str(exc)) from exc
    user, channels, exp = claims["sub"], claims.get("channels", []), claims.get("exp")
    if not isinstance(user, str) or not user:
        raise TokenInvalid("sub must be a non-empty string")
    if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
        raise TokenInvalid("channels must be a list of strings")
    iat = claims.get("iat")  # checked by PyJWT: a number, not in the future
    issued_at = int(iat) if isinstance(iat, int | float) else None
    expires_at = int(exp) if exp is not None else None
    return ConnectionClaims(user, expires_at, tuple(channels), issued_at)
