"""The session aggregate: plain, immutable data. No I/O anywhere in `callpad.domain`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

__all__ = [
    "ROOM_PREFIX",
    "Attempt",
    "Capability",
    "Direction",
    "Dispatch",
    "DispatchPolicy",
    "DispatchReason",
    "DispatchState",
    "DispatchStrategy",
    "EndReason",
    "Invitee",
    "Participant",
    "ParticipantKind",
    "ParticipantState",
    "Recording",
    "RecordingFile",
    "RecordingState",
    "RingOrder",
    "Role",
    "Route",
    "Session",
    "SessionState",
    "SipLeg",
    "SipLegState",
    "StateReason",
    "WhenUnavailable",
]


# A session's media room is named ROOM_PREFIX + its id.
ROOM_PREFIX = "callpad-"


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
    # A team call whose team had nobody available, with `when_unavailable: fail`.
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
    """One closed set of reasons for app and phone legs alike."""

    DECLINED = "declined"
    BUSY = "busy"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"
    ANSWERED_ELSEWHERE = "answered_elsewhere"
    FAILED = "failed"
    REMOVED = "removed"
    HUNG_UP = "hung_up"


class Capability(StrEnum):
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
    """Who is rung first: member order, the member after the last one rung, or the member
    idle the longest."""

    IN_ORDER = "in_order"
    ROUND_ROBIN = "round_robin"
    LONGEST_IDLE = "longest_idle"


class WhenUnavailable(StrEnum):
    QUEUE = "queue"
    FAIL = "fail"


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


@dataclass(frozen=True, slots=True)
class SipLeg:
    """Telephony work for a phone participant (`operations[]` in the view)."""

    state: SipLegState
    phone: str
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Participant:
    id: str
    kind: ParticipantKind
    role: Role
    state: ParticipantState
    invited_at: datetime
    user_id: int | None = None
    phone: str | None = None
    contact_id: str | None = None
    state_reason: StateReason | None = None
    expires_at: datetime | None = None
    accepted_at: datetime | None = None
    ended_at: datetime | None = None
    invited_by: str | None = None
    dispatch_id: str | None = None
    sip_leg: SipLeg | None = None
    connected: bool = False
    # A member of the session's vendor when invited: reached on the vendor-scoped channel.
    member: bool = False
    # The party's connections to the media room (LiveKit participant sids) that joined and
    # have not left, and those that left: a sid never comes back, so joins and leaves
    # give the same result in whatever order they are reported.
    room_sids: frozenset[str] = frozenset()
    left_sids: frozenset[str] = frozenset()
    # When the party first joined the media room.
    connected_at: datetime | None = None

    @property
    def is_live(self) -> bool:
        return self.state in (ParticipantState.INVITED, ParticipantState.ACCEPTED)


@dataclass(frozen=True, slots=True)
class RecordingFile:
    """A finished recording's audio: `format` is its media type (`audio/wav`)."""

    duration_s: float
    size_bytes: int
    format: str


@dataclass(frozen=True, slots=True)
class Recording:
    id: str
    state: RecordingState
    started_by: str
    started_at: datetime
    stopped_at: datetime | None = None
    error: str | None = None
    # The audio file, once the recorder or egress has finished writing it.
    file: RecordingFile | None = None

    @property
    def is_live(self) -> bool:
        return self.state in (RecordingState.STARTING, RecordingState.ACTIVE)


@dataclass(frozen=True, slots=True)
class DispatchPolicy:
    """A team's dispatch settings, copied into each dispatch when it starts (a settings
    change never alters a call already ringing)."""

    strategy: DispatchStrategy = DispatchStrategy.PARALLEL
    ring_order: RingOrder = RingOrder.IN_ORDER
    batch_size: int | None = None  # parallel: ring this many at a time; None = everyone
    ring_timeout_s: float = 30.0  # per attempt
    dispatch_timeout_s: float = 120.0  # how long the team is rung before giving up
    when_unavailable: WhenUnavailable = WhenUnavailable.QUEUE
    max_queue_wait_s: float = 300.0
    max_rounds: int = 1  # passes over the team before the call is missed
    max_concurrent_calls: int = 1  # sessions (live or ringing) an agent may be in at once
    wrap_up_s: float = 0.0  # after-call work: not rung for this long after a call

    @property
    def step_size(self) -> int | None:
        """How many agents one step rings: one (sequential), a batch, or all (None)."""
        return 1 if self.strategy is DispatchStrategy.SEQUENTIAL else self.batch_size


@dataclass(frozen=True, slots=True)
class Attempt:
    """One agent rung by a dispatch: the participant holds when and how it ended."""

    participant_id: str
    round: int


@dataclass(frozen=True, slots=True)
class Dispatch:
    """A ring group: a team rung for this session until one agent answers."""

    id: str
    team: str
    policy: DispatchPolicy
    state: DispatchState
    created_at: datetime
    requested_by: str  # the participant whose call or escalation rings the team
    attempts: tuple[Attempt, ...] = ()
    round: int = 1
    # When the current phase gives up: ringing (dispatch timeout) or queued (max wait).
    deadline: datetime | None = None
    queued_at: datetime | None = None
    queue_position: int | None = None
    estimated_wait_s: float | None = None
    winner_participant_id: str | None = None
    reason: DispatchReason | None = None
    ended_at: datetime | None = None

    @property
    def strategy(self) -> DispatchStrategy:
        return self.policy.strategy

    @property
    def is_open(self) -> bool:
        return self.state in (DispatchState.RINGING, DispatchState.QUEUED)

    @property
    def participant_ids(self) -> tuple[str, ...]:
        return tuple(a.participant_id for a in self.attempts)


@dataclass(frozen=True, slots=True)
class Route:
    """SessionRouteContext: where the call came from and what it was aimed at."""

    direction: Direction
    initiator_user_id: int
    initiator_participant_id: str
    target: dict[str, object]
    team: str | None = None
    dispatch_id: str | None = None


@dataclass(frozen=True, slots=True)
class Invitee:
    """A resolved start or add-participant target: who to ring, and as what."""

    kind: ParticipantKind
    role: Role
    user_id: int | None = None
    phone: str | None = None
    contact_id: str | None = None
    member: bool = False


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    vendor: str
    name: str
    version: int
    route: Route
    room: str
    created_at: datetime
    participants: tuple[Participant, ...] = ()
    dispatches: tuple[Dispatch, ...] = ()
    recordings: tuple[Recording, ...] = ()
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    end_reason: EndReason | None = None
    on_hold: bool = False
    ring_timeout_s: float = field(default=30.0)
    # When the first party started sending audio into the room, and when the room closed.
    first_audio_at: datetime | None = None
    room_closed_at: datetime | None = None
    # Participants by id, built at the first lookup: a team call's session has hundreds,
    # and views and dispatch steps look each of them up.
    _participants_by_id: dict[str, Participant] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    @property
    def state(self) -> SessionState:
        """Derived, never set: ringing until two parties accept, then active/on_hold, ended."""
        if self.end_reason is not None:
            return SessionState.ENDED
        if self.answered_at is None:
            return SessionState.RINGING
        return SessionState.ON_HOLD if self.on_hold else SessionState.ACTIVE

    def dispatch(self, dispatch_id: str) -> Dispatch | None:
        return next((d for d in self.dispatches if d.id == dispatch_id), None)

    @property
    def open_dispatches(self) -> tuple[Dispatch, ...]:
        return tuple(d for d in self.dispatches if d.is_open)

    def participant(self, participant_id: str) -> Participant | None:
        index = self._participants_by_id
        if index is None:
            index = {p.id: p for p in self.participants}
            object.__setattr__(self, "_participants_by_id", index)
        return index.get(participant_id)

    def participants_of_user(self, user_id: int) -> tuple[Participant, ...]:
        return tuple(p for p in self.participants if p.user_id == user_id)

    def acting_participant(self, user_id: int) -> Participant | None:
        """The user's place in the session: a live participant first, then the latest."""
        mine = self.participants_of_user(user_id)
        live = [p for p in mine if p.is_live]
        candidates = live or list(mine)
        return candidates[-1] if candidates else None

    @property
    def accepted(self) -> tuple[Participant, ...]:
        return tuple(p for p in self.participants if p.state is ParticipantState.ACCEPTED)

    @property
    def invited(self) -> tuple[Participant, ...]:
        return tuple(p for p in self.participants if p.state is ParticipantState.INVITED)

    def is_held(self, participant: Participant) -> bool:
        """On hold, every party but the hosts neither hears nor is heard."""
        return self.on_hold and participant.role is not Role.HOST

    @property
    def live_recording(self) -> Recording | None:
        return next((r for r in self.recordings if r.is_live), None)

    def users(self) -> dict[int, bool]:
        """Each app user taking part, and whether the session is live for them: it has
        not ended and one of their participants is live."""
        ended = self.end_reason is not None
        live: dict[int, bool] = {}
        for p in self.participants:
            if p.user_id is not None:
                live[p.user_id] = live.get(p.user_id, False) or (p.is_live and not ended)
        return live

    def live_users(self) -> set[int]:
        """The users for whom the session is live."""
        return {user_id for user_id, live in self.users().items() if live}


def invite_id(participant_id: str) -> str:
    """An invite is named after the participant it rings: `par_x` is rung by `inv_x`."""
    return "inv_" + participant_id.removeprefix("par_")
