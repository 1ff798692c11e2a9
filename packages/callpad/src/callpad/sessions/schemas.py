"""The HTTP shapes of sessions, invites and join grants, and how domain data becomes them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from ..domain import (
    Capability,
    Direction,
    Dispatch,
    DispatchReason,
    DispatchState,
    DispatchStrategy,
    EndReason,
    Participant,
    ParticipantKind,
    ParticipantState,
    RecordingState,
    RingOrder,
    Role,
    Session,
    SessionState,
    SipLegState,
    StateReason,
    capabilities,
    invite_id,
)
from ..inputs import TEAM_PATTERN, RequestModel, UserId
from ..media.grants import JoinGrant

__all__ = [
    "AddParticipantRequest",
    "ContactTarget",
    "CustomerTarget",
    "DispatchAttemptView",
    "DispatchView",
    "DtmfRequest",
    "DtmfSent",
    "InviteView",
    "ParticipantView",
    "PhoneTarget",
    "RenameRequest",
    "SessionList",
    "SessionView",
    "SessionWithJoin",
    "StartSessionRequest",
    "Target",
    "TeamTarget",
    "VendorUserTarget",
    "VoiceJoinGrant",
]


class VendorUserTarget(RequestModel):
    """Ring one of the vendor's members in their app."""

    type: Literal["vendor_user"]
    user_id: UserId


class CustomerTarget(RequestModel):
    """Ring a customer (any Callpad user) in their app. Vendor members only."""

    type: Literal["customer"]
    user_id: UserId


class ContactTarget(RequestModel):
    """Ring an address-book contact: in their app if it names a user id, else their phone."""

    type: Literal["contact"]
    contact_id: str = Field(min_length=1, max_length=40)


class PhoneTarget(RequestModel):
    """Dial a phone number (E.164) through the media layer."""

    type: Literal["phone"]
    phone: str = Field(min_length=1, max_length=32, examples=["+12025550100"])


class TeamTarget(RequestModel):
    """Ring a team: its available agents, as the team's dispatch settings say."""

    type: Literal["team"]
    team: str = Field(pattern=TEAM_PATTERN, examples=["support"])


Target = Annotated[
    VendorUserTarget | CustomerTarget | ContactTarget | PhoneTarget | TeamTarget,
    Field(discriminator="type"),
]


class StartSessionRequest(RequestModel):
    target: Target
    name: str = Field(default="", max_length=200)


class AddParticipantRequest(RequestModel):
    target: Target


class RenameRequest(RequestModel):
    name: str = Field(max_length=200)


DTMF_DIGITS = r"^[0-9*#A-D]{1,64}$"


class DtmfRequest(RequestModel):
    digits: str = Field(
        pattern=DTMF_DIGITS,
        description="The keys to press, in order: `0`-`9`, `*`, `#`, `A`-`D` (1 to 64).",
        examples=["1234#"],
    )


class DtmfSent(BaseModel):
    """The digits are on their way to the phone leg (sent once, even if the request is
    retried with the same Idempotency-Key)."""

    participant_id: str
    digits: str


class SipLegOperation(BaseModel):
    kind: Literal["sip_leg"] = "sip_leg"
    state: SipLegState
    phone: str
    error: str | None = None


class ParticipantView(BaseModel):
    id: str
    kind: ParticipantKind
    role: Role
    state: ParticipantState
    state_reason: StateReason | None
    user_id: int | None
    phone: str | None
    contact_id: str | None
    capabilities: list[Capability]
    operations: list[SipLegOperation]
    connected: bool = Field(description="In the media room now (from LiveKit's webhooks).")
    connected_at: datetime | None = Field(
        default=None, description="When the party first joined the media room."
    )
    invited_by: str | None
    dispatch_id: str | None
    invited_at: datetime
    accepted_at: datetime | None
    ended_at: datetime | None
    expires_at: datetime | None

    @classmethod
    def of(cls, session: Session, p: Participant) -> ParticipantView:
        # Built from the domain's own typed values: nothing to validate (and a team call's
        # view holds hundreds).
        leg = p.sip_leg
        return cls.model_construct(
            id=p.id,
            kind=p.kind,
            role=p.role,
            state=p.state,
            state_reason=p.state_reason,
            user_id=p.user_id,
            phone=p.phone,
            contact_id=p.contact_id,
            capabilities=sorted(capabilities(session, p)),
            operations=[SipLegOperation(state=leg.state, phone=leg.phone, error=leg.error)]
            if leg
            else [],
            connected=p.connected,
            connected_at=p.connected_at,
            invited_by=p.invited_by,
            dispatch_id=p.dispatch_id,
            invited_at=p.invited_at,
            accepted_at=p.accepted_at,
            ended_at=p.ended_at,
            expires_at=p.expires_at,
        )


class RecordingView(BaseModel):
    id: str
    state: RecordingState
    started_by: str
    started_at: datetime
    stopped_at: datetime | None
    error: str | None
    duration_s: float | None = Field(
        default=None, description="The audio's length, once its file is written."
    )
    size_bytes: int | None = Field(default=None, description="The audio file's size.")
    format: str | None = Field(
        default=None,
        description="The audio file's media type (`audio/wav`); download it from "
        "`GET .../recordings/{recording_id}/audio`.",
    )


class DispatchAttemptView(BaseModel):
    """One agent rung by the dispatch: when, in which round, and how it ended."""

    participant_id: str
    user_id: int | None
    round: int
    rung_at: datetime
    ended_at: datetime | None
    state: ParticipantState
    state_reason: StateReason | None


class DispatchView(BaseModel):
    """A team fan-out (ring group): who was rung, the winner, the queue place."""

    id: str
    team: str
    strategy: DispatchStrategy
    ring_order: RingOrder
    state: DispatchState
    reason: DispatchReason | None
    round: int
    attempts: list[DispatchAttemptView]
    resolved_participant_id: str | None
    queue_position: int | None
    estimated_wait_s: float | None
    queued_at: datetime | None
    expires_at: datetime | None
    created_at: datetime
    ended_at: datetime | None

    @classmethod
    def of(cls, session: Session, d: Dispatch) -> DispatchView:
        attempts = []
        for a in d.attempts:
            p = session.participant(a.participant_id)
            assert p is not None
            attempts.append(
                DispatchAttemptView.model_construct(
                    participant_id=p.id,
                    user_id=p.user_id,
                    round=a.round,
                    rung_at=p.invited_at,
                    ended_at=p.ended_at,
                    state=p.state,
                    state_reason=p.state_reason,
                )
            )
        return cls.model_construct(
            id=d.id,
            team=d.team,
            strategy=d.policy.strategy,
            ring_order=d.policy.ring_order,
            state=d.state,
            reason=d.reason,
            round=d.round,
            attempts=attempts,
            resolved_participant_id=d.winner_participant_id,
            queue_position=d.queue_position,
            estimated_wait_s=d.estimated_wait_s,
            queued_at=d.queued_at,
            expires_at=d.deadline,
            created_at=d.created_at,
            ended_at=d.ended_at,
        )


class RouteView(BaseModel):
    """SessionRouteContext."""

    direction: Direction
    initiator_user_id: int
    initiator_participant_id: str
    target: dict[str, Any]
    team: str | None
    dispatch_id: str | None


class SessionView(BaseModel):
    id: str
    vendor: str
    name: str
    state: SessionState
    version: int
    route: RouteView
    room: str
    participants: list[ParticipantView]
    dispatches: list[DispatchView]
    recordings: list[RecordingView]
    created_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    end_reason: EndReason | None
    first_audio_at: datetime | None = Field(
        default=None, description="When the first party started sending audio into the room."
    )

    @classmethod
    def of(cls, s: Session) -> SessionView:
        r = s.route
        return cls(
            id=s.id,
            vendor=s.vendor,
            name=s.name,
            state=s.state,
            version=s.version,
            route=RouteView(
                direction=r.direction,
                initiator_user_id=r.initiator_user_id,
                initiator_participant_id=r.initiator_participant_id,
                target=dict(r.target),
                team=r.team,
                dispatch_id=r.dispatch_id,
            ),
            room=s.room,
            participants=[ParticipantView.of(s, p) for p in s.participants],
            dispatches=[DispatchView.of(s, d) for d in s.dispatches],
            recordings=[
                RecordingView(
                    id=x.id,
                    state=x.state,
                    started_by=x.started_by,
                    started_at=x.started_at,
                    stopped_at=x.stopped_at,
                    error=x.error,
                    duration_s=x.file.duration_s if x.file else None,
                    size_bytes=x.file.size_bytes if x.file else None,
                    format=x.file.format if x.file else None,
                )
                for x in s.recordings
            ],
            created_at=s.created_at,
            answered_at=s.answered_at,
            ended_at=s.ended_at,
            end_reason=s.end_reason,
            first_audio_at=s.first_audio_at,
        )


class VoiceJoinGrant(BaseModel):
    """A LiveKit access token for the caller's participant in the session's room."""

    url: str
    token: str
    room: str
    participant_id: str
    expires_at: datetime

    @classmethod
    def of(cls, grant: JoinGrant) -> VoiceJoinGrant:
        return cls(
            url=grant.url,
            token=grant.token,
            room=grant.room,
            participant_id=grant.participant_id,
            expires_at=grant.expires_at,
        )


class SessionWithJoin(BaseModel):
    session: SessionView
    join: VoiceJoinGrant | None


class SessionList(BaseModel):
    sessions: list[SessionView]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next page; null on the last page."
    )


class Inviter(BaseModel):
    participant_id: str | None
    user_id: int | None


class InviteView(BaseModel):
    """A pending app invite, for its recipient: what an app needs to ring and decide.

    It names the session rather than embedding it: a team call rings hundreds of agents,
    and each would otherwise receive every other agent's participant. An agent who
    accepts receives the session (in the answer and on their channel) from then on."""

    id: str
    session_id: str
    session_version: int = Field(
        description="The session's `version` when this invite was described: an app that "
        "holds a newer view of the session trusts that instead."
    )
    session_name: str
    participant_id: str
    vendor: str
    caller: Inviter = Field(description="Who started the session (its initiator).")
    inviter: Inviter = Field(description="Who rang this participant.")
    dispatch_id: str | None
    team: str | None = Field(description="The team whose dispatch rings this invite, if any.")
    created_at: datetime
    expires_at: datetime
    participant: ParticipantView = Field(
        description="The invited participant, with its `capabilities` (`accept`, `reject`)."
    )

    @classmethod
    def of(
        cls,
        session: Session,
        p: Participant,
        *,
        view: ParticipantView | None = None,
        inviter: Participant | None = None,
    ) -> InviteView:
        """The invite of `p`. A change that rings hundreds at once passes `p`'s view and
        inviter, looked up once for all of them, instead of searching the session for
        each."""
        if inviter is None and p.invited_by:
            inviter = session.participant(p.invited_by)
        dispatch = session.dispatch(p.dispatch_id) if p.dispatch_id else None
        assert p.expires_at is not None
        caller, invited_by = _invite_parties(session, p, inviter)
        return cls.model_construct(
            **_invite_ids(session, p, dispatch.team if dispatch else None),
            caller=Inviter.model_construct(**caller),
            inviter=Inviter.model_construct(**invited_by),
            created_at=p.invited_at,
            expires_at=p.expires_at,
            participant=view or ParticipantView.of(session, p),
        )

    @classmethod
    def data_of(
        cls,
        session: Session,
        p: Participant,
        participant: dict[str, Any],
        inviter: Participant | None,
        team: str | None,
    ) -> dict[str, Any]:
        """`of(session, p).model_dump(mode="json")`, built from `participant`, the view of
        `p` already dumped with the session's, without a model per invite: a team call
        rings hundreds at once. Its times are the participant's, dumped there."""
        caller, invited_by = _invite_parties(session, p, inviter)
        return {
            **_invite_ids(session, p, team),
            "caller": caller,
            "inviter": invited_by,
            "created_at": participant["invited_at"],
            "expires_at": participant["expires_at"],
            "participant": participant,
        }


# What `InviteView.of` and `InviteView.data_of` share: the invite's names and parties.
def _invite_ids(session: Session, p: Participant, team: str | None) -> dict[str, Any]:
    return {
        "id": invite_id(p.id),
        "session_id": session.id,
        "session_version": session.version,
        "session_name": session.name,
        "participant_id": p.id,
        "vendor": session.vendor,
        "dispatch_id": p.dispatch_id,
        "team": team,
    }


def _invite_parties(
    session: Session, p: Participant, inviter: Participant | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The caller (the session's initiator) and who rang `p`, as `Inviter` fields."""
    route = session.route
    caller = {"participant_id": route.initiator_participant_id, "user_id": route.initiator_user_id}
    invited_by = {"participant_id": p.invited_by, "user_id": inviter.user_id if inviter else None}
    return caller, invited_by


class InviteList(BaseModel):
    invites: list[InviteView]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next page; null on the last page."
    )
