"""Who is calling: user JWTs (HS256 secret or a JWKS URL) and the operator's admin key."""

from __future__ import annotations

import hmac
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import anyio
import jwt

from .config import Settings
from .inputs import canonical_user_id
from .problems import Problem, ProblemCode
from .signing import sign_hs256

__all__ = ["TokenVerifier", "mint_user_token"]


class TokenVerifier:
    """Checks `Authorization: Bearer <JWT>` tokens; `sub` is the user id."""

    def __init__(
        self,
        settings: Settings,
        cache_size: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        # Seconds since the epoch, as `exp` and `nbf` count them; injectable for tests.
        self.clock = clock
        # Verified tokens (the whole string, signature included) -> (user id, exp). A client
        # sends the same token on every request until it refreshes it; verifying it once
        # is enough, and its expiry is still checked on every use.
        self._verified: OrderedDict[str, tuple[int, int]] = OrderedDict()
        self._cache_size = cache_size
        self._jwks = jwt.PyJWKClient(settings.auth_jwks_url) if settings.auth_jwks_url else None
        if self._jwks is None and not settings.auth_secret:
            raise ValueError("set CALLPAD_AUTH_SECRET or CALLPAD_AUTH_JWKS_URL")

    async def user_id(self, authorization: str | None) -> int:
        token = _bearer(authorization)
        cached = self._verified.get(token)
        if cached is not None:
            user_id, expires_at = cached
            if self.clock() < expires_at:
                self._verified.move_to_end(token)
                return user_id
            del self._verified[token]
        if self._jwks is not None:
            jwks = self._jwks
            try:
                signing_key = await anyio.to_thread.run_sync(jwks.get_signing_key_from_jwt, token)
            except jwt.PyJWTError as exc:
                raise _unauthorized("The token's signing key is unknown.") from exc
            key: Any = signing_key.key
            algorithms = ["RS256", "ES256", "EdDSA", "PS256"]
        else:
            key, algorithms = self._settings.auth_secret, ["HS256"]
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=self._settings.auth_audience,
                issuer=self._settings.auth_issuer,
                options={
                    "require": ["sub", "exp"],
                    "verify_aud": bool(self._settings.auth_audience),
                    # Checked below against this verifier's clock.
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
            expires_at = _timestamp(claims["exp"])
            not_before = _timestamp(claims.get("nbf", 0))
        except jwt.PyJWTError as exc:
            raise _unauthorized(f"The token is invalid: {exc}.") from exc
        except (OverflowError, ValueError, TypeError) as exc:  # e.g. "exp": Infinity
            raise _unauthorized("The token's claims are not valid numbers.") from exc
        now = self.clock()
        if expires_at <= now:
            raise Problem(401, ProblemCode.TOKEN_EXPIRED, "The token has expired.")
        if not_before > now:
            raise _unauthorized("The token is not valid yet (nbf).")
        subject = canonical_user_id(str(claims["sub"]))
        if subject is None:
            raise _unauthorized(
                'The token\'s sub is not a user id (a decimal from 1 to 2^63 - 1, as in "7").'
            )
        self._verified[token] = (subject, expires_at)
        if len(self._verified) > self._cache_size:
            self._verified.popitem(last=False)
        return subject

    def check_admin(self, authorization: str | None) -> None:
        token = _bearer(authorization)
        if not hmac.compare_digest(token.encode(), self._settings.admin_key.encode()):
            raise _unauthorized("This operation needs the operator's admin key.")


def _timestamp(value: Any) -> int:
    """A NumericDate claim as whole seconds; a non-number is an invalid token."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise jwt.InvalidTokenError("a time claim is not a number")
    return int(value)  # OverflowError / ValueError for infinities and NaN


def mint_user_token(settings: Settings, user_id: int, ttl_s: int | None = None) -> str:
    """A user token signed with the configured HS256 secret (dev and tests only)."""
    if not settings.auth_secret:
        raise ValueError("no CALLPAD_AUTH_SECRET is configured; tokens come from your IdP")
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "iat": now,
        "exp": now + (ttl_s or settings.dev_token_ttl_s),
    }
    if settings.auth_audience:
        claims["aud"] = settings.auth_audience
    if settings.auth_issuer:
        claims["iss"] = settings.auth_issuer
    return sign_hs256(claims, settings.auth_secret)


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise _unauthorized("Send Authorization: Bearer <token>.")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("Send Authorization: Bearer <token>.")
    return token.strip()


def _unauthorized(detail: str) -> Problem:
    return Problem(401, ProblemCode.UNAUTHORIZED, detail)
