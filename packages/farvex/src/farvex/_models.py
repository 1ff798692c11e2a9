"""The SDK's typed views of the API: sessions, participants, invites, grants, targets.

Immutable pydantic models parsed from the API's JSON (the shapes of openapi/callpad.json).
The store hands these out; replacing, never mutating, is how it changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, NotRequired, TypeAlias, TypedDict, TypeVar

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Capability",
    "ConnectionStatus",
    "ContactTarget",
    "ContactTargetDict",
    "CustomerTarget",
    "CustomerTargetDict",
    "Direction",
    "Dispatch",
    "DispatchAttempt",
    "DispatchReason",
    "DispatchState",
    "DispatchStrategy",
    "DtmfSent",
    "EndReason",
    "HostStartInput",
    "Invite",
    "Inviter",
    "Participant",
    "ParticipantKind",
    "ParticipantState",
    "PhoneTarget",
    "PhoneTargetDict",
    "Presence",
    "PresenceStatus",
    "RealtimeGrant",
    "Recording",
    "RecordingState",
    "RingOrder",
    "Role",
    "SessionRoute",
    "SessionState",
    "SessionWithJoin",
    "SipLegOperation",
    "SipLegState",
    "StartInput",
    "StateReason",
    "Target",
    "TargetInput",
    "TeamTarget",
    "TeamTargetDict",
    "TelephonyLeg",
    "VendorUserTarget",
    "VendorUserTargetDict",
    "VoiceJoinGrant",
    "VoiceSession",
    "parse_target",
]


class SessionState(StrEnum):
    RINGING = "ringing"
    ACTIVE = "active"
    ON_HOLD = "on_hold"
    ENDED = "ended"


class EndReason(StrEnum):
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    MISSED = "missed"
    ENDED_BY_HOST = "ended_by_host"
    FAILED = "failed"
    NO_AGENTS_AVAILABLE = "no_agents_available"


class ParticipantKind(StrEnum):
    USER = "user"
    PHONE = "phone"


class Role(StrEnum):
    HOST = "host"
    AGENT = "agent"
    CUSTOMER = "customer"
    GUEST = "guest"


class ParticipantState(StrEnum):
    INVITED = "invited"
    ACCEPTED = "accepted"
    LEFT = "left"
    REMOVED = "removed"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


class StateReason(StrEnum):
    DECLINED = "declined"
    BUSY = "busy"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"
    ANSWERED_ELSEWHERE = "answered_elsewhere"
    FAILED = "failed"
    REMOVED = "removed"
    HUNG_UP = "hung_up"


class Capability(StrEnum):
    """What a participant may do now; `VoiceSession.participants[i].capabilities`."""

    ACCEPT_INVITE = "accept_invite"
    REJECT_INVITE = "reject_invite"
    LEAVE_SESSION = "leave_session"
    CANCEL_SESSION = "cancel_session"
    END_SESSION = "end_session"
    HOLD_SESSION = "hold_session"
    UNHOLD_SESSION = "unhold_session"
    START_RECORDING = "start_recording"
    STOP_RECORDING = "stop_recording"
    ADD_PARTICIPANT = "add_participant"
    REMOVE_PARTICIPANT = "remove_participant"
    RENAME_SESSION = "rename_session"
    SEND_DTMF = "send_dtmf"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INTERNAL = "internal"


class SipLegState(StrEnum):
    DIALING = "dialing"
    RINGING = "ringing"
    ANSWERED = "answered"
    FAILED = "failed"
    ENDED = "ended"


class RecordingState(StrEnum):
    STARTING = "starting"
    ACTIVE = "active"
    STOPPED = "stopped"
    FAILED = "failed"


class DispatchStrategy(StrEnum):
    PARALLEL = "parallel"
    SEQUENTIAL = "sequential"


class RingOrder(StrEnum):
    IN_ORDER = "in_order"
    ROUND_ROBIN = "round_robin"
    LONGEST_IDLE = "longest_idle"


class DispatchState(StrEnum):
    RINGING = "ringing"
    QUEUED = "queued"
    RESOLVED = "resolved"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class DispatchReason(StrEnum):
    """Why a dispatch closed."""

    ANSWERED = "answered"
    CALLER_CANCELLED = "caller_cancelled"
    SESSION_ENDED = "session_ended"
    DISPATCH_TIMEOUT = "dispatch_timeout"
    QUEUE_TIMEOUT = "queue_timeout"
    NO_ANSWER = "no_answer"
    NO_AGENTS_AVAILABLE = "no_agents_available"


class ConnectionStatus(StrEnum):
    """The realtime connection: `client.status`, and the `status` event."""

    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"


E = TypeVar("E", bound=StrEnum)

# A value of a closed set the server may grow: parsed as the enum when this version knows
# it, kept as the plain string otherwise, so a newer server never makes an update fail to
# parse. Compare with the enum members (`state is SessionState.ACTIVE`, or `==`).
Open: TypeAlias = Annotated[E | str, Field(union_mode="left_to_right")]


class _View(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class SipLegOperation(_View):
    """Telephony work of a phone participant."""

    kind: Literal["sip_leg"] = "sip_leg"
    state: Open[SipLegState]
    phone: str
    error: str | None = None


class TelephonyLeg(_View):
    """A phone leg of a session, derived from its participants' `operations`."""

    participant_id: str
    state: Open[SipLegState]
    phone: str
    error: str | None = None


class Participant(_View):
    id: str
    kind: Open[ParticipantKind]
    role: Open[Role]
    state: Open[ParticipantState]
    state_reason: Open[StateReason] | None = None
    user_id: int | None = None
    phone: str | None = None
    contact_id: str | None = None
    capabilities: tuple[Open[Capability], ...] = ()
    operations: tuple[SipLegOperation, ...] = ()
    connected: bool = False
    invited_by: str | None = None
    dispatch_id: str | None = None
    invited_at: datetime
    accepted_at: datetime | None = None
    ended_at: datetime | None = None
    expires_at: datetime | None = None

    @property
    def is_live(self) -> bool:
        """Invited or accepted: still part of the call."""
        return self.state in (ParticipantState.INVITED, ParticipantState.ACCEPTED)


class Recording(_View):
    id: str
    state: Open[RecordingState]
    started_by: str
    started_at: datetime
    stopped_at: datetime | None = None
    error: str | None = None

    @property
    def is_live(self) -> bool:
        return self.state in (RecordingState.STARTING, RecordingState.ACTIVE)


class DispatchAttempt(_View):
    """One agent a dispatch rang: when, in which round, and how it ended."""

    participant_id: str
    user_id: int | None = None
    round: int
    rung_at: datetime
    ended_at: datetime | None = None
    state: Open[ParticipantState]
    state_reason: Open[StateReason] | None = None


class Dispatch(_View):
    """A team fan-out (ring group): ringing, queued (with the caller's place and the
    estimated wait), then resolved (`resolved_participant_id` answered), cancelled or
    expired (`reason` says why)."""

    id: str
    team: str
    strategy: Open[DispatchStrategy]
    ring_order: Open[RingOrder] = RingOrder.IN_ORDER
    state: Open[DispatchState]
    reason: Open[DispatchReason] | None = None
    round: int = 1
    attempts: tuple[DispatchAttempt, ...] = ()
    resolved_participant_id: str | None = None
    queue_position: int | None = None
    estimated_wait_s: float | None = None
    queued_at: datetime | None = None
    expires_at: datetime | None = None
    created_at: datetime
    ended_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        """Ringing agents, or waiting in the team's queue."""
        return self.state in (DispatchState.RINGING, DispatchState.QUEUED)


class SessionRoute(_View):
    """Where the call came from and what it was aimed at (SessionRouteContext)."""

    direction: Open[Direction]
    initiator_user_id: int
    initiator_participant_id: str
    target: Mapping[str, Any]
    team: str | None = None
    dispatch_id: str | None = None


class VoiceSession(_View):
    """One call, as the server last described it (`version` orders the descriptions)."""

    id: str
    vendor: str
    name: str
    state: Open[SessionState]
    version: int
    route: SessionRoute
    room: str
    participants: tuple[Participant, ...] = ()
    dispatches: tuple[Dispatch, ...] = ()
    recordings: tuple[Recording, ...] = ()
    created_at: datetime
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    end_reason: Open[EndReason] | None = None

    def participant(self, participant_id: str) -> Participant | None:
        return next((p for p in self.participants if p.id == participant_id), None)

    def participants_of(self, user_id: int) -> tuple[Participant, ...]:
        return tuple(p for p in self.participants if p.user_id == user_id)

    def participant_of(self, user_id: int) -> Participant | None:
        """The user's place in the session: a live participant first, then the latest
        (the rule the server uses to pick who acts for a user)."""
        mine = self.participants_of(user_id)
        live = [p for p in mine if p.is_live]
        candidates = live or list(mine)
        return candidates[-1] if candidates else None

    @property
    def telephony_legs(self) -> tuple[TelephonyLeg, ...]:
        return tuple(
            TelephonyLeg(participant_id=p.id, state=op.state, phone=op.phone, error=op.error)
            for p in self.participants
            for op in p.operations
            if op.kind == "sip_leg"
        )

    @property
    def live_recording(self) -> Recording | None:
        return next((r for r in self.recordings if r.is_live), None)

    @property
    def is_ended(self) -> bool:
        return self.state is SessionState.ENDED


class VoiceJoinGrant(_View):
    """A LiveKit access token for one participant in the session's room."""

    url: str
    token: str
    room: str
    participant_id: str
    expires_at: datetime


class SessionWithJoin(_View):
    """What `start` and `accept` answer: the session and the caller's media grant."""

    session: VoiceSession
    join: VoiceJoinGrant | None = None


class DtmfSent(_View):
    """What `send_dtmf` answers: the digits are on their way to the phone leg."""

    participant_id: str
    digits: str


class Inviter(_View):
    participant_id: str | None = None
    user_id: int | None = None


class Invite(_View):
    """A pending app invite for the current user: accept or reject it by `session_id` and
    `participant_id`.

    It names its session rather than embedding it (a team call rings hundreds of agents
    at once): `session_name`, the `caller`, the `team` of a dispatch and the invited
    `participant` (with its capabilities) are what an app shows to decide. The session
    itself reaches the app once the invite is accepted (or, for a direct invite, on the
    user's channel as for any participant)."""

    id: str
    session_id: str
    session_version: int
    session_name: str
    participant_id: str
    vendor: str
    caller: Inviter
    inviter: Inviter
    dispatch_id: str | None = None
    team: str | None = None
    created_at: datetime
    expires_at: datetime
    participant: Participant


class PresenceStatus(StrEnum):
    """Whether a member takes calls: only `available` members are rung by team calls."""

    AVAILABLE = "available"
    AWAY = "away"
    OFFLINE = "offline"


class Presence(_View):
    """A member's presence in a vendor; `wrap_up_until` is the end of their after-call
    work (not rung before then unless they set themselves available)."""

    vendor: str
    user_id: int
    status: Open[PresenceStatus]
    updated_at: datetime
    wrap_up_until: datetime | None = None


class RealtimeGrant(_View):
    url: str
    token: str
    channels: tuple[str, ...]
    expires_at: datetime
    member_of: tuple[str, ...] = ()


# Targets: as models, or as plain dicts of the same shape.


class _Target(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class VendorUserTarget(_Target):
    """Ring one of the vendor's members in their app."""

    type: Literal["vendor_user"] = "vendor_user"
    user_id: int


class CustomerTarget(_Target):
    """Ring a customer in their app (host clients)."""

    type: Literal["customer"] = "customer"
    user_id: int


class ContactTarget(_Target):
    """Ring an address-book contact (host clients)."""

    type: Literal["contact"] = "contact"
    contact_id: str


class PhoneTarget(_Target):
    """Dial an E.164 phone number (host clients)."""

    type: Literal["phone"] = "phone"
    phone: str


class TeamTarget(_Target):
    """Ring a team: its available agents, as the team's dispatch settings say."""

    type: Literal["team"] = "team"
    team: str


Target = Annotated[
    VendorUserTarget | CustomerTarget | ContactTarget | PhoneTarget | TeamTarget,
    Field(discriminator="type"),
]


class VendorUserTargetDict(TypedDict):
    type: Literal["vendor_user"]
    user_id: int


class CustomerTargetDict(TypedDict):
    type: Literal["customer"]
    user_id: int


class ContactTargetDict(TypedDict):
    type: Literal["contact"]
    contact_id: str


class PhoneTargetDict(TypedDict):
    type: Literal["phone"]
    phone: str


class TeamTargetDict(TypedDict):
    type: Literal["team"]
    team: str


TargetInput = (
    VendorUserTarget
    | CustomerTarget
    | ContactTarget
    | PhoneTarget
    | TeamTarget
    | VendorUserTargetDict
    | CustomerTargetDict
    | ContactTargetDict
    | PhoneTargetDict
    | TeamTargetDict
)


class StartInput(TypedDict):
    """`session_client.sessions.start(**input)`: a customer calls a vendor's member or
    one of its teams."""

    vendor: str
    target: VendorUserTarget | VendorUserTargetDict | TeamTarget | TeamTargetDict
    name: NotRequired[str]


class HostStartInput(TypedDict):
    """`host_client.sessions.start(**input)`: the host's vendor rings anyone."""

    target: TargetInput
    name: NotRequired[str]


class _TargetBox(BaseModel):
    target: Target


def parse_target(target: TargetInput) -> Target:
    """A target model from a model or a typed dict; raises pydantic's ValidationError."""
    if isinstance(
        target, VendorUserTarget | CustomerTarget | ContactTarget | PhoneTarget | TeamTarget
    ):
        return target
    if not isinstance(target, Mapping):
        raise TypeError(f"a target is a target model or a dict, not {type(target).__name__}")
    return _TargetBox.model_validate({"target": dict(target)}).target
