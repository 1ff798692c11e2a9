"""Client events: their names and payloads, delivery, and the events derived from versions.

Handlers are registered with `client.on(name, handler)` and run one at a time, in the order
the changes happened, on a delivery task the client owns (so a handler may await client
calls). A handler may be a function or a coroutine function. One that raises is logged
on the `farvex` logger and delivery goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias, get_args

from ._errors import InvalidRequestError
from ._models import (
    ConnectionStatus,
    Dispatch,
    DispatchState,
    Invite,
    Participant,
    ParticipantState,
    Presence,
    Recording,
    RecordingState,
    VoiceSession,
)

__all__ = [
    "EVENT_NAMES",
    "DispatchChanged",
    "Emitter",
    "Event",
    "EventName",
    "InviteReceived",
    "InviteRemoved",
    "ParticipantChanged",
    "PresenceChanged",
    "RecordingChanged",
    "SessionRemoved",
    "SessionUpdated",
    "StatusChanged",
    "derived_events",
    "session_id_of",
]

logger = logging.getLogger("farvex")

EventName = Literal[
    "status",
    "session.updated",
    "session.removed",
    "invite.received",
    "invite.removed",
    "participant.invited",
    "participant.accepted",
    "participant.declined",
    "participant.withdrawn",
    "participant.left",
    "participant.removed",
    "dispatch.started",
    "dispatch.resolved",
    "dispatch.cancelled",
    "recording.started",
    "recording.stopped",
    "presence.updated",
]
EVENT_NAMES: tuple[EventName, ...] = get_args(EventName)


@dataclass(frozen=True, slots=True)
class StatusChanged:
    """`status`: the realtime connection moved."""

    status: ConnectionStatus
    previous: ConnectionStatus


@dataclass(frozen=True, slots=True)
class SessionUpdated:
    """`session.updated`: a newer version of a session; `previous` is what the store held."""

    session: VoiceSession
    previous: VoiceSession | None


@dataclass(frozen=True, slots=True)
class SessionRemoved:
    """`session.removed`: the session left the store (ended, or no longer yours)."""

    session_id: str
    version: int
    session: VoiceSession | None


@dataclass(frozen=True, slots=True)
class InviteReceived:
    """`invite.received`: a new pending invite for the current user."""

    invite: Invite


@dataclass(frozen=True, slots=True)
class InviteRemoved:
    """`invite.removed`: the invite is no longer pending. `state` is the participant's new
    state (`accepted`, `declined`, `withdrawn`, ...) or `expired` when the SDK dropped it
    locally at its `expires_at`; `reason` says why, when known (`answered_elsewhere`,
    `timeout`, `cancelled`, ...: the participant's `state_reason`). `session` is the
    newest view of the session known when the invite was removed (it may have left the
    store by the time the handler runs), or None when the app never held it (an agent
    rung by a team call receives the session only once they accept)."""

    invite_id: str
    session_id: str
    participant_id: str
    state: str
    invite: Invite | None
    reason: str | None = None
    session: VoiceSession | None = None


@dataclass(frozen=True, slots=True)
class ParticipantChanged:
    """`participant.*`: a participant reached the state the event names."""

    session: VoiceSession
    participant: Participant
    previous: Participant | None


@dataclass(frozen=True, slots=True)
class DispatchChanged:
    """`dispatch.*`: a team fan-out started (ringing or queued), resolved (an agent
    answered), or was cancelled (the caller hung up) or expired (`dispatch.cancelled`
    with `dispatch.state` `expired`)."""

    session: VoiceSession
    dispatch: Dispatch


@dataclass(frozen=True, slots=True)
class PresenceChanged:
    """`presence.updated`: a member of the host client's vendor changed their presence
    (available, away, offline); `previous` is what the client held."""

    presence: Presence
    previous: Presence | None


@dataclass(frozen=True, slots=True)
class RecordingChanged:
    """`recording.started` (it became active) / `recording.stopped` (stopped or failed)."""

    session: VoiceSession
    recording: Recording


Event: TypeAlias = (
    StatusChanged
    | SessionUpdated
    | SessionRemoved
    | InviteReceived
    | InviteRemoved
    | ParticipantChanged
    | DispatchChanged
    | RecordingChanged
    | PresenceChanged
)
Handler: TypeAlias = Callable[[Any], Awaitable[None] | None]

_PARTICIPANT_EVENTS: dict[ParticipantState | str, EventName] = {
    ParticipantState.INVITED: "participant.invited",
    ParticipantState.ACCEPTED: "participant.accepted",
    ParticipantState.DECLINED: "participant.declined",
    ParticipantState.WITHDRAWN: "participant.withdrawn",
    ParticipantState.LEFT: "participant.left",
    ParticipantState.REMOVED: "participant.removed",
}
# A dispatch that expires (timed out, nobody answered or available) is announced as
# `dispatch.cancelled` too: the dispatch's `state` and `reason` say which it was.
_DISPATCH_CLOSED: dict[DispatchState | str, EventName] = {
    DispatchState.RESOLVED: "dispatch.resolved",
    DispatchState.CANCELLED: "dispatch.cancelled",
    DispatchState.EXPIRED: "dispatch.cancelled",
}
_RECORDING_DONE = (RecordingState.STOPPED, RecordingState.FAILED)


def derived_events(
    previous: VoiceSession | None, current: VoiceSession
) -> list[tuple[EventName, Event]]:
    """Participant, dispatch and recording events between two versions of a session.

    A session seen for the first time is a snapshot: its participants' history is unknown,
    so only its started dispatches and active recordings are announced.
    """
    return [
        *(_participant_events(previous, current) if previous is not None else []),
        *_dispatch_events(previous, current),
        *_recording_events(previous, current),
    ]


def _participant_events(
    previous: VoiceSession, current: VoiceSession
) -> list[tuple[EventName, Event]]:
    events: list[tuple[EventName, Event]] = []
    for p in current.participants:
        before = previous.participant(p.id)
        name = _PARTICIPANT_EVENTS.get(p.state)  # None: a state this version does not know
        if name is not None and (before is None or before.state != p.state):
            events.append((name, ParticipantChanged(current, p, before)))
    return events


def _dispatch_events(
    previous: VoiceSession | None, current: VoiceSession
) -> list[tuple[EventName, Event]]:
    events: list[tuple[EventName, Event]] = []
    for d in current.dispatches:
        old_d = next((x for x in previous.dispatches if x.id == d.id), None) if previous else None
        if old_d is None and (d.is_open or previous is not None):
            events.append(("dispatch.started", DispatchChanged(current, d)))
        # A dispatch first seen in a change was open before it, if only within it.
        was_open = old_d.is_open if old_d is not None else previous is not None
        closed = _DISPATCH_CLOSED.get(d.state)  # None: open, or a state this version lacks
        if was_open and closed is not None:
            events.append((closed, DispatchChanged(current, d)))
    return events


def _recording_events(
    previous: VoiceSession | None, current: VoiceSession
) -> list[tuple[EventName, Event]]:
    events: list[tuple[EventName, Event]] = []
    for r in current.recordings:
        old_r = next((x for x in previous.recordings if x.id == r.id), None) if previous else None
        was = old_r.state if old_r else None
        if r.state is RecordingState.ACTIVE and was is not RecordingState.ACTIVE:
            events.append(("recording.started", RecordingChanged(current, r)))
        elif r.state in _RECORDING_DONE and was not in _RECORDING_DONE and previous is not None:
            events.append(("recording.stopped", RecordingChanged(current, r)))
    return events


def session_id_of(event: Event) -> str | None:
    """The session an event is about (None for `status` and `presence.updated`)."""
    if isinstance(event, SessionRemoved | InviteRemoved):
        return event.session_id
    if isinstance(event, InviteReceived):
        return event.invite.session_id
    if isinstance(event, StatusChanged | PresenceChanged):
        return None
    return event.session.id


@dataclass(frozen=True, slots=True)
class _Subscription:
    handler: Handler
    session_id: str | None


class Emitter:
    """Named handlers and one owned task that delivers events to them in order."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[_Subscription]] = {}
        self._queue: asyncio.Queue[tuple[str, Event]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def on(
        self, name: str, handler: Handler, *, session_id: str | None = None
    ) -> Callable[[], None]:
        if name not in EVENT_NAMES:
            raise InvalidRequestError(f"unknown event {name!r}; one of: {', '.join(EVENT_NAMES)}")
        if session_id is not None and name in ("status", "presence.updated"):
            raise InvalidRequestError(f"`{name}` is not a session's event")
        self._handlers.setdefault(name, []).append(_Subscription(handler, session_id))
        return lambda: self.off(name, handler)

    def off(self, name: str, handler: Handler) -> None:
        handlers = self._handlers.get(name, [])
        for subscription in [s for s in handlers if s.handler == handler]:
            handlers.remove(subscription)

    def emit(self, name: EventName, event: Event) -> None:
        if self._closed or not self._handlers.get(name):
            return
        self._queue.put_nowait((name, event))
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._deliver(), name="farvex-events"
            )

    async def drain(self) -> None:
        """Wait until every event emitted so far was handled."""
        if self._task is not None and not self._task.done():
            await self._queue.join()

    async def aclose(self) -> None:
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _deliver(self) -> None:
        while True:
            name, event = await self._queue.get()
            try:
                for subscription in list(self._handlers.get(name, ())):
                    if subscription.session_id not in (None, session_id_of(event)):
                        continue
                    try:
                        result = subscription.handler(event)
                        if inspect.isawaitable(result):
                            await result
                    except asyncio.CancelledError:
                        raise
                    except Exception:
                        logger.exception("farvex: a %r handler raised", name)
            finally:
                self._queue.task_done()
