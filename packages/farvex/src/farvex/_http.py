"""The HTTP calls the clients make, through the generated layer in `_generated/`.

The generated functions build each request (path, method, headers, body) from
openapi/callpad.json. This module adds what the contract does not say: the bearer token
fetched before every request, problem responses raised as `CallpadError` (and
`on_unauthorized` on a 401), transport failures raised as `CallpadConnectionError`, and
the JSON parsed into the SDK's own models.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine, Generator
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from ._errors import CallpadConnectionError, CallpadError, CallpadTimeoutError
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
    start_recording,
    start_session,
    stop_recording,
    unhold_session,
)
from ._generated.client import Client as GeneratedClient
from ._generated.models import (
    AddParticipantRequest,
    ListMySessionsStatus,
    ListSessionsStatus,
    RenameRequest,
    StartSessionRequest,
)
from ._generated.types import UNSET, Response
from ._models import (
    Invite,
    RealtimeGrant,
    SessionWithJoin,
    Target,
    VoiceJoinGrant,
    VoiceSession,
)

__all__ = ["Auth", "HttpApi"]

logger = logging.getLogger("farvex")

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Auth:
    """How the SDK authenticates as the signed-in user.

    `get_access_token` returns a bearer token (sync or async); it is called before every
    API request and whenever realtime needs a fresh grant, so it may mint, cache or
    refresh as the app likes. `on_unauthorized` is called after any 401 answer.
    """

    get_access_token: Callable[[], str | Awaitable[str]]
    on_unauthorized: Callable[[], Awaitable[None] | None] | None = None


async def _resolve(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


class _BearerAuth(httpx.Auth):
    def __init__(self, auth: Auth) -> None:
        self._auth = auth

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        raise RuntimeError("farvex is async only")  # pragma: no cover

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await _resolve(self._auth.get_access_token())
        request.headers["Authorization"] = f"Bearer {token}"
        yield request


class _SessionList(BaseModel):
    sessions: list[VoiceSession]


class _InviteList(BaseModel):
    invites: list[Invite]


class HttpApi:
    """One method per API call the SDK makes; each returns the SDK's models."""

    def __init__(
        self,
        api_url: str,
        auth: Auth,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 30.0,
    ) -> None:
        self._auth = auth
        self._http = httpx.AsyncClient(
            base_url=api_url,
            auth=_BearerAuth(auth),
            timeout=timeout,
            transport=transport,
            event_hooks={"response": [self._raise]},
        )
        self._generated = GeneratedClient(base_url=api_url)
        self._generated.set_async_httpx_client(self._http)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _raise(self, response: httpx.Response) -> None:
        if response.status_code < 400:
            return
        await response.aread()
        try:
            body = response.json()
        except ValueError:
            body = None
        error = CallpadError.from_problem(response.status_code, body, response.reason_phrase)
        if response.status_code == 401 and self._auth.on_unauthorized is not None:
            try:
                await _resolve(self._auth.on_unauthorized())
            except Exception:
                logger.exception("farvex: on_unauthorized raised")
        raise error

    async def _call(self, call: Coroutine[Any, Any, Response[Any]], model: type[M]) -> M:
        try:
            response = await call
        except httpx.TimeoutException as exc:
            raise CallpadTimeoutError(f"The API did not answer in time: {exc!r}") from exc
        except httpx.TransportError as exc:
            raise CallpadConnectionError(f"The API could not be reached: {exc!r}") from exc
        return model.model_validate(json.loads(response.content))

    # Sessions

    async def start(
        self, vendor: str, target: Target, name: str, idempotency_key: str | None
    ) -> SessionWithJoin:
        body = StartSessionRequest.from_dict({"target": target.model_dump(), "name": name})
        call = start_session.asyncio_detailed(
            vendor,
            client=self._generated,
            body=body,
            idempotency_key=idempotency_key if idempotency_key is not None else UNSET,
        )
        return await self._call(call, SessionWithJoin)

    async def get(self, vendor: str, session_id: str) -> VoiceSession:
        call = get_session.asyncio_detailed(vendor, session_id, client=self._generated)
        return await self._call(call, VoiceSession)

    async def list_vendor_sessions(
        self, vendor: str, status: str = "live", limit: int = 200
    ) -> list[VoiceSession]:
        call = list_sessions.asyncio_detailed(
            vendor, client=self._generated, status=ListSessionsStatus(status), limit=limit
        )
        return (await self._call(call, _SessionList)).sessions

    async def list_my_sessions(self, status: str = "live", limit: int = 200) -> list[VoiceSession]:
        call = list_my_sessions.asyncio_detailed(
            client=self._generated, status=ListMySessionsStatus(status), limit=limit
        )
        return (await self._call(call, _SessionList)).sessions

    async def accept(self, vendor: str, session_id: str, participant_id: str) -> SessionWithJoin:
        call = accept_invite.asyncio_detailed(
            vendor, session_id, participant_id, client=self._generated
        )
        return await self._call(call, SessionWithJoin)

    async def reject(self, vendor: str, session_id: str, participant_id: str) -> VoiceSession:
        call = reject_invite.asyncio_detailed(
            vendor, session_id, participant_id, client=self._generated
        )
        return await self._call(call, VoiceSession)

    async def join(self, vendor: str, session_id: str) -> VoiceJoinGrant:
        call = join_session.asyncio_detailed(vendor, session_id, client=self._generated)
        return await self._call(call, VoiceJoinGrant)

    async def rename(self, vendor: str, session_id: str, name: str) -> VoiceSession:
        call = rename_session.asyncio_detailed(
            vendor, session_id, client=self._generated, body=RenameRequest(name=name)
        )
        return await self._call(call, VoiceSession)

    async def simple(self, action: str, vendor: str, session_id: str) -> VoiceSession:
        """leave, cancel, end, hold, unhold: a POST with no body answering the session."""
        module = {
            "leave": leave_session,
            "cancel": cancel_session,
            "end": end_session,
            "hold": hold_session,
            "unhold": unhold_session,
        }[action]
        call = module.asyncio_detailed(vendor, session_id, client=self._generated)
        return await self._call(call, VoiceSession)

    async def add_participant(self, vendor: str, session_id: str, target: Target) -> VoiceSession:
        body = AddParticipantRequest.from_dict({"target": target.model_dump()})
        call = add_participant.asyncio_detailed(
            vendor, session_id, client=self._generated, body=body
        )
        return await self._call(call, VoiceSession)

    async def remove_participant(
        self, vendor: str, session_id: str, participant_id: str
    ) -> VoiceSession:
        call = remove_participant.asyncio_detailed(
            vendor, session_id, participant_id, client=self._generated
        )
        return await self._call(call, VoiceSession)

    async def start_recording(self, vendor: str, session_id: str) -> VoiceSession:
        call = start_recording.asyncio_detailed(vendor, session_id, client=self._generated)
        return await self._call(call, VoiceSession)

    async def stop_recording(self, vendor: str, session_id: str, recording_id: str) -> VoiceSession:
        call = stop_recording.asyncio_detailed(
            vendor, session_id, recording_id, client=self._generated
        )
        return await self._call(call, VoiceSession)

    # Invites and realtime

    async def my_invites(self) -> list[Invite]:
        call = list_my_invites.asyncio_detailed(client=self._generated)
        return (await self._call(call, _InviteList)).invites

    async def vendor_invites(self, vendor: str) -> list[Invite]:
        call = list_vendor_invites.asyncio_detailed(vendor, client=self._generated)
        return (await self._call(call, _InviteList)).invites

    async def realtime_grant(self, vendor: str | None) -> RealtimeGrant:
        if vendor is None:
            call = get_realtime_grant.asyncio_detailed(client=self._generated)
        else:
            call = get_vendor_realtime_grant.asyncio_detailed(vendor, client=self._generated)
        return await self._call(call, RealtimeGrant)
