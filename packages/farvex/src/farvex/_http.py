"""The HTTP calls the clients make, through the generated layer in `_generated/`.

The generated modules build each request (method, path, query, headers, body) from
openapi/callpad.json. This module sends them and adds what the contract does not say:

- the bearer token, cached until shortly before it expires (a sync `get_access_token`
  runs in a worker thread, never on the event loop);
- an `Idempotency-Key` on every request that changes something (a caller's own wins), so
  a retry can never apply a change twice;
- retries of connection errors, 408, 429 and 5xx with exponential backoff and jitter
  (`max_retries`), honouring `Retry-After`;
- problem answers raised as the error of their status (`_errors.py`), each with the
  server's request id, and `on_unauthorized` called on a 401;
- the server's clock read from each answer's `Date` header (`clock_offset`), so invites
  expire by the server's time even when this machine's clock is off.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import json
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from types import ModuleType
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from ._errors import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    CallpadError,
    ConfigurationError,
    status_error,
)
from ._generated.api.presence import list_presence, put_my_presence
from ._generated.api.realtime import get_realtime_grant, get_vendor_realtime_grant
from ._generated.api.sessions import (
    accept_invite,
    add_participant,
    cancel_session,
    end_session,
    get_session,
    hold_session,
    join_session,
    leave_session,
    list_my_invites,
    list_my_sessions,
    list_sessions,
    list_vendor_invites,
    reject_invite,
    remove_participant,
    rename_session,
    send_dtmf,
    start_recording,
    start_session,
    stop_recording,
    unhold_session,
)
from ._generated.models import (
    AddParticipantRequest,
    DtmfRequest,
    ListMySessionsStatus,
    ListSessionsStatus,
    PresencePut,
    RenameRequest,
    StartSessionRequest,
)
from ._generated.types import UNSET, Unset
from ._models import (
    DtmfSent,
    Invite,
    Presence,
    RealtimeGrant,
    SessionWithJoin,
    Target,
    VoiceJoinGrant,
    VoiceSession,
)

__all__ = ["DEFAULT_MAX_RETRIES", "DEFAULT_TIMEOUT_S", "Auth", "HttpApi", "RequestOptions"]

logger = logging.getLogger("farvex")

M = TypeVar("M", bound=BaseModel)

DEFAULT_TIMEOUT_S = 30.0
DEFAULT_MAX_RETRIES = 2
_RETRY_STATUSES = frozenset({408, 429})
_INITIAL_BACKOFF_S = 0.5
_MAX_BACKOFF_S = 8.0
_MAX_RETRY_AFTER_S = 60.0
_TOKEN_MARGIN_S = 30.0  # refresh a cached token this long before it expires, at most
_SKEW_IGNORED_S = 1.0  # `Date` has whole seconds: smaller offsets are noise
PAGE_SIZE = 200  # the largest page the server gives
_sleep = asyncio.sleep  # the retry wait (tests record it instead)


@dataclass(frozen=True, slots=True)
class Auth:
    """How the SDK authenticates as the signed-in user.

    `get_access_token` returns a bearer token; it may be a coroutine function or a plain
    function (run in a worker thread, so it may block). A token that is a JWT with an
    `exp` claim is reused until shortly before it expires; any other token is fetched
    for every request. `on_unauthorized` is called after any 401 answer, and the cached
    token is dropped.
    """

    get_access_token: Callable[[], str | Awaitable[str]]
    on_unauthorized: Callable[[], Awaitable[None] | None] | None = None


@dataclass(frozen=True, slots=True)
class RequestOptions:
    """How one request is sent: its `timeout` (seconds, for each attempt) and how many
    times it is retried after a connection error, 408, 429 or 5xx."""

    timeout: float = DEFAULT_TIMEOUT_S
    max_retries: int = DEFAULT_MAX_RETRIES

    def merged(self, timeout: float | None, max_retries: int | None) -> RequestOptions:
        """These options with a call's own overrides."""
        if timeout is None and max_retries is None:
            return self
        return replace(
            self,
            timeout=self.timeout if timeout is None else timeout,
            max_retries=self.max_retries if max_retries is None else max_retries,
        )


async def call_user_function(function: Callable[[], Any]) -> Any:
    """Call an app's callback: coroutine functions on the loop, plain ones in a thread."""
    if inspect.iscoroutinefunction(function):
        return await function()
    result = await asyncio.to_thread(function)
    return await result if inspect.isawaitable(result) else result


def jwt_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT, unverified (the server verifies); {} for anything else."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return {}
    return claims if isinstance(claims, dict) else {}


class TokenCache:
    """The user's bearer token, fetched through `Auth` and reused while it is fresh.

    Fails loudly when the token's subject is not the client's `user_id`: such a client
    would act and subscribe as someone else than its store expects.
    """

    def __init__(self, auth: Auth, user_id: int) -> None:
        self._auth = auth
        self._user_id = user_id
        self._token: str | None = None
        self._fresh_until = 0.0
        self._lock = asyncio.Lock()

    async def get(self) -> str:
        async with self._lock:
            if self._token is not None and time.time() < self._fresh_until:
                return self._token
            token = await call_user_function(self._auth.get_access_token)
            if not isinstance(token, str) or not token:
                raise ConfigurationError(
                    f"Auth.get_access_token returned {type(token).__name__}, not a token string"
                )
            claims = jwt_claims(token)
            subject = claims.get("sub")
            if subject is not None and str(subject) != str(self._user_id):
                raise ConfigurationError(
                    f"The access token is for user {subject}, but the client was created "
                    f"with user_id={self._user_id}; pass the token's user"
                )
            self._token = token
            self._fresh_until = _fresh_until(claims)
            return token

    def invalidate(self) -> None:
        self._token = None
        self._fresh_until = 0.0


def _fresh_until(claims: dict[str, Any]) -> float:
    expires = claims.get("exp")
    if not isinstance(expires, int | float):
        return 0.0  # not a JWT with an expiry: fetch for every request
    issued = claims.get("iat")
    lifetime = expires - issued if isinstance(issued, int | float) else 2 * _TOKEN_MARGIN_S
    return float(expires) - min(_TOKEN_MARGIN_S, max(lifetime, 0) / 5)


class _SessionList(BaseModel):
    sessions: list[VoiceSession]
    next_cursor: str | None = None


class _InviteList(BaseModel):
    invites: list[Invite]
    next_cursor: str | None = None


class _PresenceList(BaseModel):
    presence: list[Presence]
    next_cursor: str | None = None


def _if_match(version: int | None) -> str | Unset:
    return UNSET if version is None else f'"{version}"'


def _key(idempotency_key: str | None) -> str:
    return idempotency_key if idempotency_key is not None else f"farvex-{uuid.uuid4().hex}"


class HttpApi:
    """One method per API call the SDK makes; each returns the SDK's models."""

    def __init__(
        self,
        api_url: str,
        auth: Auth,
        *,
        user_id: int,
        transport: httpx.AsyncBaseTransport | None = None,
        options: RequestOptions | None = None,
    ) -> None:
        self._auth = auth
        self.tokens = TokenCache(auth, user_id)
        self.options = options or RequestOptions()
        self.clock_offset = timedelta(0)  # the server's clock minus ours
        self._http = httpx.AsyncClient(base_url=api_url, transport=transport)

    async def aclose(self) -> None:
        await self._http.aclose()

    def server_now(self) -> datetime:
        """Now, by the server's clock (as its last `Date` header showed it)."""
        return datetime.now(UTC) + self.clock_offset

    # Sending

    async def _send(
        self,
        module: ModuleType,
        model: type[M],
        options: RequestOptions,
        /,
        *args: Any,
        **kwargs: Any,
    ) -> M:
        request = module._get_kwargs(*args, **kwargs)
        method = str(request["method"]).upper()
        headers = request.setdefault("headers", {})
        if method != "GET" and "idempotency-key" not in headers:
            headers["idempotency-key"] = _key(None)
        attempt = 0
        while True:
            try:
                response = await self._attempt(request, options)
            except httpx.TransportError as exc:
                if attempt < options.max_retries:
                    attempt += 1
                    await self._wait_before_retry(method, request["url"], attempt, repr(exc), None)
                    continue
                where = f"{method} {str(self._http.base_url).rstrip('/')}{request['url']}"
                tries = f"{attempt + 1} attempt{'s' if attempt else ''}"
                if isinstance(exc, httpx.TimeoutException):
                    raise APITimeoutError(
                        f"{where} did not answer within {options.timeout} s ({tries}): {exc!r}"
                    ) from exc
                raise APIConnectionError(
                    f"{where} could not be reached ({tries}): {exc!r}"
                ) from exc
            status = response.status_code
            retryable = status in _RETRY_STATUSES or status >= 500
            if retryable and attempt < options.max_retries:
                attempt += 1
                await self._wait_before_retry(
                    method, request["url"], attempt, f"HTTP {status}", response
                )
                continue
            if status >= 400:
                raise await self._error(response)
            return model.model_validate(json.loads(response.content))

    async def _attempt(self, request: dict[str, Any], options: RequestOptions) -> httpx.Response:
        token = await self.tokens.get()
        headers = {**request["headers"], "Authorization": f"Bearer {token}"}
        started = time.perf_counter()
        response = await self._http.request(
            **{**request, "headers": headers}, timeout=options.timeout
        )
        self._note_clock(response)
        logger.debug(
            "farvex: %s %s -> %d in %.0f ms (request_id %s)",
            request["method"].upper(),
            request["url"],
            response.status_code,
            (time.perf_counter() - started) * 1000,
            response.headers.get("x-request-id"),
        )
        return response

    async def _wait_before_retry(
        self,
        method: str,
        url: str,
        attempt: int,
        why: str,
        response: httpx.Response | None,
    ) -> None:
        delay = min(_INITIAL_BACKOFF_S * 2 ** (attempt - 1), _MAX_BACKOFF_S)
        delay *= 1 - 0.25 * random.random()  # jitter: clients that failed together spread out
        retry_after = _retry_after(response)
        if retry_after is not None:
            delay = retry_after
        logger.info(
            "farvex: %s %s failed (%s); retry %d in %.2f s", method, url, why, attempt, delay
        )
        await _sleep(delay)

    async def _error(self, response: httpx.Response) -> CallpadError:
        try:
            body = response.json()
        except ValueError:
            body = None
        error = status_error(
            response.status_code,
            body,
            reason=response.reason_phrase,
            request_id=response.headers.get("x-request-id"),
        )
        if isinstance(error, AuthenticationError):
            self.tokens.invalidate()
            if self._auth.on_unauthorized is not None:
                try:
                    await call_user_function(self._auth.on_unauthorized)
                except Exception:
                    logger.exception("farvex: on_unauthorized raised")
        return error

    def _note_clock(self, response: httpx.Response) -> None:
        date = response.headers.get("date")
        if date is None:
            return
        try:
            # `Date` has whole seconds: the server's clock is half a second past it on average
            server = parsedate_to_datetime(date) + timedelta(seconds=0.5)
        except (TypeError, ValueError):
            return
        offset = server - datetime.now(UTC)
        if abs(offset.total_seconds()) <= _SKEW_IGNORED_S:
            offset = timedelta(0)
        elif offset != self.clock_offset:
            logger.info(
                "farvex: this clock is %.1f s off the server's; correcting", -offset.total_seconds()
            )
        self.clock_offset = offset

    # Sessions

    async def start(
        self,
        vendor: str,
        target: Target,
        name: str,
        idempotency_key: str | None,
        options: RequestOptions,
    ) -> SessionWithJoin:
        body = StartSessionRequest.from_dict({"target": target.model_dump(), "name": name})
        return await self._send(
            start_session,
            SessionWithJoin,
            options,
            vendor,
            body=body,
            idempotency_key=_key(idempotency_key),
        )

    async def get(self, vendor: str, session_id: str, options: RequestOptions) -> VoiceSession:
        return await self._send(get_session, VoiceSession, options, vendor, session_id)

    async def list_vendor_sessions(
        self, vendor: str, options: RequestOptions, *, status: str = "live"
    ) -> list[VoiceSession]:
        """Every session of the list, page after page (`next_cursor`)."""
        found: list[VoiceSession] = []
        cursor: str | Unset = UNSET
        while True:
            page = await self._send(
                list_sessions,
                _SessionList,
                options,
                vendor,
                status=ListSessionsStatus(status),
                limit=PAGE_SIZE,
                cursor=cursor,
            )
            found += page.sessions
            if page.next_cursor is None:
                return found
            cursor = page.next_cursor

    async def list_my_sessions(
        self, options: RequestOptions, *, status: str = "live"
    ) -> list[VoiceSession]:
        """Every session of the user's list, page after page."""
        found: list[VoiceSession] = []
        cursor: str | Unset = UNSET
        while True:
            page = await self._send(
                list_my_sessions,
                _SessionList,
                options,
                status=ListMySessionsStatus(status),
                limit=PAGE_SIZE,
                cursor=cursor,
            )
            found += page.sessions
            if page.next_cursor is None:
                return found
            cursor = page.next_cursor

    async def accept(
        self,
        vendor: str,
        session_id: str,
        participant_id: str,
        *,
        if_match: int | None,
        idempotency_key: str | None,
        options: RequestOptions,
    ) -> SessionWithJoin:
        return await self._send(
            accept_invite,
            SessionWithJoin,
            options,
            vendor,
            session_id,
            participant_id,
            if_match=_if_match(if_match),
            idempotency_key=_key(idempotency_key),
        )

    async def reject(
        self,
        vendor: str,
        session_id: str,
        participant_id: str,
        *,
        if_match: int | None,
        idempotency_key: str | None,
        options: RequestOptions,
    ) -> VoiceSession:
        return await self._send(
            reject_invite,
            VoiceSession,
            options,
            vendor,
            session_id,
            participant_id,
            if_match=_if_match(if_match),
            idempotency_key=_key(idempotency_key),
        )

    async def join(self, vendor: str, session_id: str, options: RequestOptions) -> VoiceJoinGrant:
        return await self._send(join_session, VoiceJoinGrant, options, vendor, session_id)

    async def rename(
        self,
        vendor: str,
        session_id: str,
        name: str,
        *,
        if_match: int | None,
        options: RequestOptions,
    ) -> VoiceSession:
        return await self._send(
            rename_session,
            VoiceSession,
            options,
            vendor,
            session_id,
            body=RenameRequest(name=name),
            if_match=_if_match(if_match),
        )

    async def simple(
        self,
        action: str,
        vendor: str,
        session_id: str,
        *,
        if_match: int | None,
        idempotency_key: str | None,
        options: RequestOptions,
    ) -> VoiceSession:
        """leave, cancel, end, hold, unhold: a POST with no body answering the session."""
        module = {
            "leave": leave_session,
            "cancel": cancel_session,
            "end": end_session,
            "hold": hold_session,
            "unhold": unhold_session,
        }[action]
        return await self._send(
            module,
            VoiceSession,
            options,
            vendor,
            session_id,
            if_match=_if_match(if_match),
            idempotency_key=_key(idempotency_key),
        )

    async def add_participant(
        self,
        vendor: str,
        session_id: str,
        target: Target,
        *,
        if_match: int | None,
        idempotency_key: str | None,
        options: RequestOptions,
    ) -> VoiceSession:
        body = AddParticipantRequest.from_dict({"target": target.model_dump()})
        return await self._send(
            add_participant,
            VoiceSession,
            options,
            vendor,
            session_id,
            body=body,
            if_match=_if_match(if_match),
            idempotency_key=_key(idempotency_key),
        )

    async def remove_participant(
        self,
        vendor: str,
        session_id: str,
        participant_id: str,
        *,
        if_match: int | None,
        options: RequestOptions,
    ) -> VoiceSession:
        return await self._send(
            remove_participant,
            VoiceSession,
            options,
            vendor,
            session_id,
            participant_id,
            if_match=_if_match(if_match),
        )

    async def send_dtmf(
        self,
        vendor: str,
        session_id: str,
        participant_id: str,
        digits: str,
        *,
        idempotency_key: str | None,
        options: RequestOptions,
    ) -> DtmfSent:
        return await self._send(
            send_dtmf,
            DtmfSent,
            options,
            vendor,
            session_id,
            participant_id,
            body=DtmfRequest(digits=digits),
            idempotency_key=_key(idempotency_key),
        )

    async def start_recording(
        self,
        vendor: str,
        session_id: str,
        *,
        if_match: int | None,
        idempotency_key: str | None,
        options: RequestOptions,
    ) -> VoiceSession:
        return await self._send(
            start_recording,
            VoiceSession,
            options,
            vendor,
            session_id,
            if_match=_if_match(if_match),
            idempotency_key=_key(idempotency_key),
        )

    async def stop_recording(
        self,
        vendor: str,
        session_id: str,
        recording_id: str,
        *,
        if_match: int | None,
        idempotency_key: str | None,
        options: RequestOptions,
    ) -> VoiceSession:
        return await self._send(
            stop_recording,
            VoiceSession,
            options,
            vendor,
            session_id,
            recording_id,
            if_match=_if_match(if_match),
            idempotency_key=_key(idempotency_key),
        )

    # Invites and realtime

    async def my_invites(self, options: RequestOptions) -> list[Invite]:
        """Every pending invite of the user, page after page."""
        return await self._invites(list_my_invites, options)

    async def vendor_invites(self, vendor: str, options: RequestOptions) -> list[Invite]:
        """Every pending invite from the vendor, page after page."""
        return await self._invites(list_vendor_invites, options, vendor)

    async def _invites(
        self, module: ModuleType, options: RequestOptions, *args: Any
    ) -> list[Invite]:
        found: list[Invite] = []
        cursor: str | Unset = UNSET
        while True:
            page = await self._send(
                module, _InviteList, options, *args, limit=PAGE_SIZE, cursor=cursor
            )
            found += page.invites
            if page.next_cursor is None:
                return found
            cursor = page.next_cursor

    async def set_presence(self, vendor: str, status: str, options: RequestOptions) -> Presence:
        body = PresencePut.from_dict({"status": status})
        return await self._send(put_my_presence, Presence, options, vendor, body=body)

    async def list_presence(self, vendor: str, options: RequestOptions) -> list[Presence]:
        """Every member's presence, page after page."""
        found: list[Presence] = []
        cursor: str | Unset = UNSET
        while True:
            page = await self._send(
                list_presence, _PresenceList, options, vendor, limit=PAGE_SIZE, cursor=cursor
            )
            found += page.presence
            if page.next_cursor is None:
                return found
            cursor = page.next_cursor

    async def realtime_grant(self, vendor: str | None, options: RequestOptions) -> RealtimeGrant:
        if vendor is None:
            return await self._send(get_realtime_grant, RealtimeGrant, options)
        return await self._send(get_vendor_realtime_grant, RealtimeGrant, options, vendor)


def _retry_after(response: httpx.Response | None) -> float | None:
    if response is None:
        return None
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds()
        except (TypeError, ValueError):
            return None
    return seconds if 0 <= seconds <= _MAX_RETRY_AFTER_S else None
