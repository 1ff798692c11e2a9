"""HTTP endpoints for sessions and invites (`/api/v1`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncConnection

from ..admin.repository import member_role
from ..admin.service import MANAGER_ROLES
from ..context import utcnow
from ..dependencies import Ctx, CurrentUser
from ..domain import Participant, Session
from ..domain import transitions as t
from ..idempotency import KEY_PATTERN, MAX_KEY_LENGTH, run_mutation
from ..inputs import IF_MATCH_MAX_LENGTH, IF_MATCH_PATTERN, MAX_VERSION, parse_if_match
from ..problems import problem_responses
from . import repository as repo
from . import service
from .schemas import (
    AddParticipantRequest,
    InviteList,
    InviteView,
    RenameRequest,
    SessionList,
    SessionView,
    SessionWithJoin,
    StartSessionRequest,
    VoiceJoinGrant,
)

__all__ = ["router"]

router = APIRouter(tags=["sessions"])

SESSION = "/vendors/{vendor}/sessions/{session_id}"


def _header(name: str, description: str, pattern: str, max_length: int) -> dict[str, Any]:
    """An optional header as OpenAPI documents it. Mutations read `If-Match` and
    `Idempotency-Key` from the request themselves: declared as FastAPI parameters, they
    would be validated on every request for nothing."""
    return {
        "name": name.lower(),
        "in": "header",
        "required": False,
        "description": description,
        "schema": {
            "type": "string",
            "pattern": pattern,
            "maxLength": max_length,
            "title": name,
            "description": description,
        },
    }


IF_MATCH = _header(
    "If-Match",
    "Act only if the session is still at this version; 412 with the current view otherwise. "
    f'A version from 0 to {MAX_VERSION}, as an entity tag ("7", W/"7") or bare (7); '
    "anything else is 422 validation_failed.",
    pattern=IF_MATCH_PATTERN,
    max_length=IF_MATCH_MAX_LENGTH,
)
IDEMPOTENCY_KEY = _header(
    "Idempotency-Key",
    "Retries with the same key return the first response, once applied. "
    f"1 to {MAX_KEY_LENGTH} visible ASCII characters (! to ~, no spaces), a UUID for "
    "instance; anything else is 422 validation_failed.",
    pattern=KEY_PATTERN,
    max_length=MAX_KEY_LENGTH,
)
MUTATION_HEADERS: dict[str, Any] = {"parameters": [IF_MATCH, IDEMPOTENCY_KEY]}
MUTATION_PROBLEMS = problem_responses(400, 403, 404, 409, 412, 413)


def _version(request: Request) -> int | None:
    """The session version named by `If-Match`, if any."""
    if_match = request.headers.get("if-match")
    return None if if_match is None else parse_if_match(if_match)


def _principal(user_id: int) -> str:
    return f"user:{user_id}"


async def _act(
    ctx: Ctx,
    request: Request,
    user_id: int,
    vendor: str,
    session_id: str,
    action: service.Action,
    *,
    render: Callable[[Session, datetime], BaseModel] | None = None,
    status_code: int = 200,
) -> Response:
    """Run `action` as the caller on the session (honouring If-Match) and answer with
    `render` (the session view by default)."""
    expected = _version(request)

    async def run(conn: AsyncConnection, now: datetime) -> Session:
        return await service.mutate(
            ctx, conn, vendor, session_id, user_id, action, now, if_match=expected
        )

    principal = _principal(user_id)
    return await run_mutation(ctx, request, principal, run, render or _view, status_code)


def _view(session: Session, _now: datetime) -> SessionView:
    return SessionView.of(session)


def _with_join(ctx: Ctx, user_id: int) -> Callable[[Session, datetime], SessionWithJoin]:
    """The session and the caller's fresh media grant (for an accepted caller)."""

    def render(session: Session, now: datetime) -> SessionWithJoin:
        grant = service.fresh_join(ctx, session, user_id, now)
        return SessionWithJoin(session=SessionView.of(session), join=VoiceJoinGrant.of(grant))

    return render


def _by_actor(step: service.Step) -> service.Action:
    """Adapt `transitions.x(session, participant_id, now)` to an Action."""

    def action(session: Session, actor: Participant | None, now: datetime) -> Session:
        return step(session, actor.id if actor else "", now)

    return action


@router.post(
    "/vendors/{vendor}/sessions",
    operation_id="start_session",
    status_code=201,
    response_model=SessionWithJoin,
    responses={**MUTATION_PROBLEMS, **problem_responses(503)},
    openapi_extra={"parameters": [IDEMPOTENCY_KEY]},
)
async def start_session(
    vendor: str,
    body: StartSessionRequest,
    request: Request,
    ctx: Ctx,
    user_id: CurrentUser,
) -> Response:
    """Start a session: ring the target; the caller joins at once and gets a join grant.
    A team target rings the team's available agents as its dispatch settings say."""

    async def run(conn: AsyncConnection, now: datetime) -> Session:
        return await service.start(ctx, conn, vendor, user_id, body.target, body.name, now)

    with_join = _with_join(ctx, user_id)

    def render(session: Session, now: datetime) -> SessionWithJoin:
        # A team call with nobody available and `when_unavailable: fail` ends at once.
        if session.end_reason is not None:
            return SessionWithJoin(session=SessionView.of(session), join=None)
        return with_join(session, now)

    return await run_mutation(ctx, request, _principal(user_id), run, render, status_code=201)


@router.get(
    "/vendors/{vendor}/sessions",
    operation_id="list_sessions",
    response_model=SessionList,
    responses=problem_responses(404),
)
async def list_sessions(
    vendor: str,
    ctx: Ctx,
    user_id: CurrentUser,
    status: Literal["live", "ended", "all"] = "live",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> SessionList:
    """The vendor's sessions: all of them for owners and admins, else the caller's own."""
    async with ctx.db.read() as conn:
        found = await service.require_vendor(conn, vendor)
        role = await member_role(conn, found.id, user_id)
        sessions = await repo.list_sessions(
            conn,
            vendor_id=found.id,
            user_id=None if role in MANAGER_ROLES else user_id,
            status=status,
            limit=limit,
        )
    return SessionList(sessions=[SessionView.of(s) for s in sessions])


@router.get(
    SESSION,
    operation_id="get_session",
    response_model=SessionView,
    responses=problem_responses(404),
)
async def get_session(vendor: str, session_id: str, ctx: Ctx, user_id: CurrentUser) -> SessionView:
    """One session the caller takes part in, or administers."""
    async with ctx.db.read() as conn:
        return SessionView.of(await service.get_visible(conn, vendor, session_id, user_id))


@router.patch(
    SESSION,
    operation_id="rename_session",
    response_model=SessionView,
    responses=MUTATION_PROBLEMS,
    openapi_extra={"parameters": [IF_MATCH]},
)
async def rename_session(
    vendor: str,
    session_id: str,
    body: RenameRequest,
    request: Request,
    ctx: Ctx,
    user_id: CurrentUser,
) -> Response:
    """Rename the session (hosts)."""

    def action(session: Session, actor: Participant | None, now: datetime) -> Session:
        return t.rename(session, actor.id if actor else "", body.name, now)

    return await _act(ctx, request, user_id, vendor, session_id, action)


@router.post(
    SESSION + "/participants/{participant_id}/accept",
    operation_id="accept_invite",
    response_model=SessionWithJoin,
    responses=MUTATION_PROBLEMS,
    openapi_extra=MUTATION_HEADERS,
)
async def accept_invite(
    vendor: str,
    session_id: str,
    participant_id: str,
    request: Request,
    ctx: Ctx,
    user_id: CurrentUser,
) -> Response:
    """Answer an invite. Exactly one of several racing accepts wins; the others get 409."""
    action = service.own_invite(participant_id, user_id, t.accept)
    render = _with_join(ctx, user_id)
    return await _act(ctx, request, user_id, vendor, session_id, action, render=render)


@router.post(
    SESSION + "/participants/{participant_id}/reject",
    operation_id="reject_invite",
    response_model=SessionView,
    responses=MUTATION_PROBLEMS,
    openapi_extra=MUTATION_HEADERS,
)
async def reject_invite(
    vendor: str,
    session_id: str,
    participant_id: str,
    request: Request,
    ctx: Ctx,
    user_id: CurrentUser,
) -> Response:
    """Decline an invite."""
    action = service.own_invite(participant_id, user_id, t.reject)
    return await _act(ctx, request, user_id, vendor, session_id, action)


@router.post(
    SESSION + "/join",
    operation_id="join_session",
    response_model=VoiceJoinGrant,
    responses=problem_responses(404, 409),
)
async def join_session(
    vendor: str, session_id: str, ctx: Ctx, user_id: CurrentUser
) -> VoiceJoinGrant:
    """A fresh media grant for the caller's accepted participant."""
    async with ctx.db.read() as conn:
        session = await service.get_visible(conn, vendor, session_id, user_id)
    return VoiceJoinGrant.of(service.fresh_join(ctx, session, user_id, utcnow()))


def _simple(name: str, step: service.Step, summary: str) -> None:
    async def endpoint(
        vendor: str,
        session_id: str,
        request: Request,
        ctx: Ctx,
        user_id: CurrentUser,
    ) -> Response:
        return await _act(ctx, request, user_id, vendor, session_id, _by_actor(step))

    endpoint.__doc__ = summary
    router.add_api_route(
        f"{SESSION}/{name}",
        endpoint,
        methods=["POST"],
        operation_id=f"{name}_session",
        response_model=SessionView,
        responses=MUTATION_PROBLEMS,
        openapi_extra=MUTATION_HEADERS,
        name=f"{name}_session",
    )


_simple("leave", t.leave, "Leave the session; it ends when fewer than two remain.")
_simple("cancel", t.cancel, "Hang up while ringing (the initiator): the session ends cancelled.")
_simple("end", t.end, "End the session for everyone (hosts).")
_simple("hold", t.hold, "Put the session on hold: held parties neither hear nor are heard (hosts).")
_simple("unhold", t.unhold, "Take the session off hold (hosts).")


@router.post(
    SESSION + "/participants",
    operation_id="add_participant",
    response_model=SessionView,
    responses=MUTATION_PROBLEMS,
    openapi_extra=MUTATION_HEADERS,
)
async def add_participant(
    vendor: str,
    session_id: str,
    body: AddParticipantRequest,
    request: Request,
    ctx: Ctx,
    user_id: CurrentUser,
) -> Response:
    """Ring another party into the session (hosts): a member, a customer, a contact, a phone."""
    expected = _version(request)

    async def run(conn: AsyncConnection, now: datetime) -> Session:
        return await service.add_participant(
            ctx, conn, vendor, session_id, user_id, body.target, now, if_match=expected
        )

    return await run_mutation(ctx, request, _principal(user_id), run, _view)


@router.delete(
    SESSION + "/participants/{participant_id}",
    operation_id="remove_participant",
    response_model=SessionView,
    responses=MUTATION_PROBLEMS,
    openapi_extra={"parameters": [IF_MATCH]},
)
async def remove_participant(
    vendor: str,
    session_id: str,
    participant_id: str,
    request: Request,
    ctx: Ctx,
    user_id: CurrentUser,
) -> Response:
    """Remove a participant, or stop ringing them (hosts)."""

    def action(session: Session, actor: Participant | None, now: datetime) -> Session:
        return t.remove_participant(session, actor.id if actor else "", participant_id, now)

    return await _act(ctx, request, user_id, vendor, session_id, action)


@router.post(
    SESSION + "/recordings",
    operation_id="start_recording",
    response_model=SessionView,
    status_code=201,
    responses=MUTATION_PROBLEMS,
    openapi_extra=MUTATION_HEADERS,
)
async def start_recording(
    vendor: str,
    session_id: str,
    request: Request,
    ctx: Ctx,
    user_id: CurrentUser,
) -> Response:
    """Start recording the session (hosts); `starting` until the egress reports it active."""
    recording_id = service.new_id("rec")

    def action(session: Session, actor: Participant | None, now: datetime) -> Session:
        return t.start_recording(session, actor.id if actor else "", recording_id, now)

    return await _act(ctx, request, user_id, vendor, session_id, action, status_code=201)


@router.post(
    SESSION + "/recordings/{recording_id}/stop",
    operation_id="stop_recording",
    response_model=SessionView,
    responses=MUTATION_PROBLEMS,
    openapi_extra=MUTATION_HEADERS,
)
async def stop_recording(
    vendor: str,
    session_id: str,
    recording_id: str,
    request: Request,
    ctx: Ctx,
    user_id: CurrentUser,
) -> Response:
    """Stop a recording (hosts)."""

    def action(session: Session, actor: Participant | None, now: datetime) -> Session:
        return t.stop_recording(session, actor.id if actor else "", recording_id, now)

    return await _act(ctx, request, user_id, vendor, session_id, action)


@router.get("/me/sessions", operation_id="list_my_sessions", response_model=SessionList)
async def list_my_sessions(
    ctx: Ctx,
    user_id: CurrentUser,
    status: Literal["live", "ended", "all"] = "live",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> SessionList:
    """The caller's sessions across every vendor."""
    async with ctx.db.read() as conn:
        sessions = await repo.list_sessions(
            conn, vendor_id=None, user_id=user_id, status=status, limit=limit
        )
    return SessionList(sessions=[SessionView.of(s) for s in sessions])


@router.get("/me/invites", operation_id="list_my_invites", response_model=InviteList)
async def list_my_invites(ctx: Ctx, user_id: CurrentUser) -> InviteList:
    """The caller's pending invites across every vendor, oldest first."""
    return await _invites(ctx, user_id, None)


@router.get(
    "/vendors/{vendor}/invites",
    operation_id="list_vendor_invites",
    response_model=InviteList,
    responses=problem_responses(404),
)
async def list_vendor_invites(vendor: str, ctx: Ctx, user_id: CurrentUser) -> InviteList:
    """The caller's pending invites from this vendor, oldest first."""
    return await _invites(ctx, user_id, vendor)


async def _invites(ctx: Ctx, user_id: int, vendor: str | None) -> InviteList:
    async with ctx.db.read() as conn:
        vendor_id = (await service.require_vendor(conn, vendor)).id if vendor else None
        pending = await repo.pending_invites(conn, user_id, vendor_id)
    views = []
    for session, participant_id in pending:
        participant = session.participant(participant_id)
        assert participant is not None
        views.append(InviteView.of(session, participant))
    return InviteList(invites=views)
