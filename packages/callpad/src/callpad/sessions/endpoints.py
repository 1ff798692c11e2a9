"""HTTP endpoints for sessions and invites (`/api/v1`): each translates one request into
one `service` use case and its result into a response."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..clock import utcnow
from ..dependencies import Ctx, CurrentUser
from ..domain import MediaCommand, Session
from ..mutations import (
    IDEMPOTENCY_KEY,
    IF_MATCH,
    MUTATION_HEADERS,
    if_match_version,
    run_mutation,
    user_principal,
)
from ..pagination import CursorParam, LimitParam, next_page, time_key
from ..problems import problem_responses
from . import service
from .repository import PendingInvite
from .schemas import (
    AddParticipantRequest,
    DtmfRequest,
    DtmfSent,
    InviteList,
    InviteView,
    RenameRequest,
    SessionList,
    SessionView,
    SessionWithJoin,
    StartSessionRequest,
    VoiceJoinGrant,
)
from .service import SessionResult

__all__ = ["router"]

router = APIRouter(tags=["sessions"])

SESSION = "/vendors/{vendor}/sessions/{session_id}"
MUTATION_PROBLEMS = problem_responses(400, 403, 404, 409, 412, 413)
ListStatusQuery = Literal["live", "ended", "all"]


def _view(result: SessionResult, _now: datetime) -> SessionView:
    return result.view


def _with_join(ctx: Ctx, user_id: int) -> Callable[[SessionResult, datetime], SessionWithJoin]:
    """The session and the caller's fresh media grant (for an accepted caller)."""

    def render(result: SessionResult, now: datetime) -> SessionWithJoin:
        grant = service.join_grant(ctx, result.session, user_id, now)
        return SessionWithJoin(session=result.view, join=VoiceJoinGrant.of(grant))

    return render


@router.post(
    "/vendors/{vendor}/sessions",
    operation_id="start_session",
    status_code=201,
    response_model=SessionWithJoin,
    responses={**MUTATION_PROBLEMS, **problem_responses(503)},
    openapi_extra={"parameters": [IDEMPOTENCY_KEY]},
)
async def start_session(
    vendor: str, body: StartSessionRequest, request: Request, ctx: Ctx, user_id: CurrentUser
) -> Response:
    """Start a session: ring the target; the caller joins at once and gets a join grant.
    A team target rings the team's available agents as its dispatch settings say."""
    with_join = _with_join(ctx, user_id)

    def render(result: SessionResult, now: datetime) -> SessionWithJoin:
        # A team call with nobody available and `when_unavailable: fail` ends at once.
        if result.session.end_reason is not None:
            return SessionWithJoin(session=result.view, join=None)
        return with_join(result, now)

    return await run_mutation(
        ctx,
        request,
        user_principal(user_id),
        lambda conn, now: service.start_session(
            ctx, conn, vendor, user_id, body.target, body.name, now
        ),
        render,
        status_code=201,
    )


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
    status: ListStatusQuery = "live",
    limit: LimitParam = 50,
    cursor: CursorParam = None,
) -> SessionList:
    """The vendor's sessions, newest first: all of them for owners and admins, else the
    caller's own. Page on with `cursor=next_cursor`."""
    after = time_key(cursor)
    async with ctx.db.read() as conn:
        sessions = await service.list_sessions(conn, vendor, user_id, status, limit + 1, after)
    return _session_page(sessions, limit)


def _session_page(sessions: list[Session], limit: int) -> SessionList:
    page, next_cursor = next_page(sessions, limit, lambda s: (s.created_at, s.id))
    return SessionList(sessions=[SessionView.of(s) for s in page], next_cursor=next_cursor)


def _invite_page(rows: list[PendingInvite], limit: int) -> InviteList:
    # The cursor follows the rows read, so a row skipped below never shortens the list.
    page, next_cursor = next_page(rows, limit, lambda row: (row.created_at, row.participant_id))
    invites = [InviteView.of(r.session, p) for r in page if (p := r.participant) is not None]
    return InviteList(invites=invites, next_cursor=next_cursor)


@router.get(
    SESSION,
    operation_id="get_session",
    response_model=SessionView,
    responses=problem_responses(404),
)
async def get_session(vendor: str, session_id: str, ctx: Ctx, user_id: CurrentUser) -> SessionView:
    """One session the caller takes part in, or administers."""
    async with ctx.db.read() as conn:
        return SessionView.of(await service.get_session(conn, vendor, session_id, user_id))


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
    if_match = if_match_version(request)
    return await run_mutation(
        ctx,
        request,
        user_principal(user_id),
        lambda conn, now: service.rename_session(
            ctx, conn, vendor, session_id, user_id, body.name, now, if_match=if_match
        ),
        _view,
    )


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
    if_match = if_match_version(request)
    return await run_mutation(
        ctx,
        request,
        user_principal(user_id),
        lambda conn, now: service.accept_invite(
            ctx, conn, vendor, session_id, participant_id, user_id, now, if_match=if_match
        ),
        _with_join(ctx, user_id),
    )


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
    if_match = if_match_version(request)
    return await run_mutation(
        ctx,
        request,
        user_principal(user_id),
        lambda conn, now: service.reject_invite(
            ctx, conn, vendor, session_id, participant_id, user_id, now, if_match=if_match
        ),
        _view,
    )


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
        grant = await service.join_session(ctx, conn, vendor, session_id, user_id, utcnow())
    return VoiceJoinGrant.of(grant)


@router.post(
    SESSION + "/leave",
    operation_id="leave_session",
    response_model=SessionView,
    responses=MUTATION_PROBLEMS,
    openapi_extra=MUTATION_HEADERS,
)
async def leave_session(
    vendor: str, session_id: str, request: Request, ctx: Ctx, user_id: CurrentUser
) -> Response:
    """Leave the session; it ends when fewer than two remain."""
    if_match = if_match_version(request)
    return await run_mutation(
        ctx,
        request,
        user_principal(user_id),
        lambda conn, now: service.leave_session(
            ctx, conn, vendor, session_id, user_id, now, if_match=if_match
        ),
        _view,
    )


@router.post(
    SESSION + "/cancel",
    operation_id="cancel_session",
    response_model=SessionView,
    responses=MUTATION_PROBLEMS,
    openapi_extra=MUTATION_HEADERS,
)
async def cancel_session(
    vendor: str, session_id: str, request: Request, ctx: Ctx, user_id: CurrentUser
) -> Response:
    """Hang up while ringing (the initiator): the session ends cancelled."""
    if_match = if_match_version(request)
    return await run_mutation(
        ctx,
        request,
        user_principal(user_id),
        lambda conn, now: service.cancel_session(
            ctx, conn, vendor, session_id, user_id, now, if_match=if_match
        ),
        _view,
    )


@router.post(
    SESSION + "/end",
    operation_id="end_session",
    response_model=SessionView,
    responses=MUTATION_PROBLEMS,
    openapi_extra=MUTATION_HEADERS,
)
async def end_session(
    vendor: str, session_id: str, request: Request, ctx: Ctx, user_id: CurrentUser
) -> Response:
    """End the session for everyone (hosts)."""
    if_match = if_match_version(request)
    return await run_mutation(
        ctx,
        request,
        user_principal(user_id),
        lambda conn, now: service.end_session(
            ctx, conn, vendor, session_id, user_id, now, if_match=if_match
        ),
        _view,
    )


@router.post(
    SESSION + "/hold",
    operation_id="hold_session",
    response_model=SessionView,
    responses=MUTATION_PROBLEMS,
    openapi_extra=MUTATION_HEADERS,
)
async def hold_session(
    vendor: str, session_id: str, request: Request, ctx: Ctx, user_id: CurrentUser
) -> Response:
    """Put the session on hold: held parties neither hear nor are heard (hosts)."""
    if_match = if_match_version(request)
    return await run_mutation(
        ctx,
        request,
        user_principal(user_id),
        lambda conn, now: service.hold_session(
            ctx, conn, vendor, session_id, user_id, now, if_match=if_match
        ),
        _view,
    )


@router.post(
    SESSION + "/unhold",
    operation_id="unhold_session",
    response_model=SessionView,
    responses=MUTATION_PROBLEMS,
    openapi_extra=MUTATION_HEADERS,
)
async def unhold_session(
    vendor: str, session_id: str, request: Request, ctx: Ctx, user_id: CurrentUser
) -> Response:
    """Take the session off hold (hosts)."""
    if_match = if_match_version(request)
    return await run_mutation(
        ctx,
        request,
        user_principal(user_id),
        lambda conn, now: service.unhold_session(
            ctx, conn, vendor, session_id, user_id, now, if_match=if_match
        ),
        _view,
    )


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
    if_match = if_match_version(request)
    return await run_mutation(
        ctx,
        request,
        user_principal(user_id),
        lambda conn, now: service.add_participant(
            ctx, conn, vendor, session_id, user_id, body.target, now, if_match=if_match
        ),
        _view,
    )


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
    if_match = if_match_version(request)
    return await run_mutation(
        ctx,
        request,
        user_principal(user_id),
        lambda conn, now: service.remove_participant(
            ctx, conn, vendor, session_id, participant_id, user_id, now, if_match=if_match
        ),
        _view,
    )


@router.post(
    SESSION + "/participants/{participant_id}/dtmf",
    operation_id="send_dtmf",
    response_model=DtmfSent,
    status_code=202,
    responses=MUTATION_PROBLEMS,
    openapi_extra={"parameters": [IDEMPOTENCY_KEY]},
)
async def send_dtmf(
    vendor: str,
    session_id: str,
    participant_id: str,
    body: DtmfRequest,
    request: Request,
    ctx: Ctx,
    user_id: CurrentUser,
) -> Response:
    """Press keys on an answered phone leg (DTMF: `0-9*#A-D`), for phone menus, extensions
    and PINs (hosts and agents, while the call is active). 202: they are sent in order
    through the media server; nothing in the session changes."""

    def sent(command: MediaCommand, _now: datetime) -> DtmfSent:
        return DtmfSent(participant_id=participant_id, digits=body.digits)

    return await run_mutation(
        ctx,
        request,
        user_principal(user_id),
        lambda conn, now: service.send_dtmf(
            ctx, conn, vendor, session_id, participant_id, user_id, body.digits, now
        ),
        sent,
        status_code=202,
    )


@router.post(
    SESSION + "/recordings",
    operation_id="start_recording",
    response_model=SessionView,
    status_code=201,
    responses=MUTATION_PROBLEMS,
    openapi_extra=MUTATION_HEADERS,
)
async def start_recording(
    vendor: str, session_id: str, request: Request, ctx: Ctx, user_id: CurrentUser
) -> Response:
    """Start recording the session (hosts); `starting` until the egress reports it active."""
    if_match = if_match_version(request)
    return await run_mutation(
        ctx,
        request,
        user_principal(user_id),
        lambda conn, now: service.start_recording(
            ctx, conn, vendor, session_id, user_id, now, if_match=if_match
        ),
        _view,
        status_code=201,
    )


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
    if_match = if_match_version(request)
    return await run_mutation(
        ctx,
        request,
        user_principal(user_id),
        lambda conn, now: service.stop_recording(
            ctx, conn, vendor, session_id, recording_id, user_id, now, if_match=if_match
        ),
        _view,
    )


@router.get("/me/sessions", operation_id="list_my_sessions", response_model=SessionList)
async def list_my_sessions(
    ctx: Ctx,
    user_id: CurrentUser,
    status: ListStatusQuery = "live",
    limit: LimitParam = 50,
    cursor: CursorParam = None,
) -> SessionList:
    """The caller's sessions across every vendor, newest first. Page on with
    `cursor=next_cursor`."""
    after = time_key(cursor)
    async with ctx.db.read() as conn:
        sessions = await service.list_my_sessions(conn, user_id, status, limit + 1, after)
    return _session_page(sessions, limit)


@router.get("/me/invites", operation_id="list_my_invites", response_model=InviteList)
async def list_my_invites(
    ctx: Ctx, user_id: CurrentUser, limit: LimitParam = 50, cursor: CursorParam = None
) -> InviteList:
    """The caller's pending invites across every vendor, oldest first. Page on with
    `cursor=next_cursor`."""
    after = time_key(cursor)
    async with ctx.db.read() as conn:
        rows = await service.pending_invites(conn, user_id, None, limit + 1, after)
    return _invite_page(rows, limit)


@router.get(
    "/vendors/{vendor}/invites",
    operation_id="list_vendor_invites",
    response_model=InviteList,
    responses=problem_responses(404),
)
async def list_vendor_invites(
    vendor: str,
    ctx: Ctx,
    user_id: CurrentUser,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
) -> InviteList:
    """The caller's pending invites from this vendor, oldest first. Page on with
    `cursor=next_cursor`."""
    after = time_key(cursor)
    async with ctx.db.read() as conn:
        rows = await service.pending_invites(conn, user_id, vendor, limit + 1, after)
    return _invite_page(rows, limit)
