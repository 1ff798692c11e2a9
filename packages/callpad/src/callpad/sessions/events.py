"""Which realtime events a session change produces, and on whose channels."""

from __future__ import annotations

from ..domain import ParticipantState, Session, SessionState, invite_changes, invite_id
from ..realtime.channels import agent_channel, user_channel, vendor_feed
from ..realtime.outbox import OutboxEvent, OutboxFanOut
from .schemas import InviteView, SessionView

__all__ = ["session_audience", "session_events"]


def session_audience(session: Session) -> set[int]:
    """The users who receive the session itself: those with a live participant other than
    a team call still ringing them. An agent rung by a dispatch gets the small invite
    events only until they accept: a team call rings hundreds, and each change of the
    session would otherwise reach every one of them."""
    if session.end_reason is not None:
        return set()
    return {
        p.user_id
        for p in session.participants
        if p.user_id is not None
        and p.is_live
        and not (p.state is ParticipantState.INVITED and p.dispatch_id is not None)
    }


def session_events(
    before: Session | None, after: Session, view: SessionView
) -> list[OutboxEvent | OutboxFanOut]:
    """Events for the change `before -> after`; `view` is `after`'s (the caller answers
    with it too).

    Every user in the session's audience before or after (`session_audience`) gets
    `session.upsert`; those no longer in it get `session.remove` after it. Members of the
    vendor (as they were when invited) are reached on their vendor-scoped channel, everyone
    else on their global user channel. The vendor feed sees every change. Invite
    recipients get the small `session.invite.upsert` / `.remove`: consecutive ones of a
    topic go in one fan-out (`fan_out`), a team call's hundreds in one outbox row.
    """
    members = {p.user_id for p in after.participants if p.member}

    def channel(user_id: int) -> str:
        return agent_channel(after.vendor, user_id) if user_id in members else user_channel(user_id)

    was_live = session_audience(before) if before else set()
    is_live = session_audience(after)
    feed = vendor_feed(after.vendor)
    view_data = view.model_dump(mode="json")
    # By id, once: a team call opens or closes hundreds of rings in one change.
    people = {p.id: p for p in after.participants}
    dumped = {d["id"]: d for d in view_data["participants"]}
    teams = {d.id: d.team for d in after.dispatches}
    events = [
        OutboxEvent(
            "session.upsert", view_data, (*sorted(channel(u) for u in was_live | is_live), feed)
        )
    ]
    for change in invite_changes(before, after):
        if change.user_id is None:
            continue  # phone legs have no app to notify
        participant = people[change.participant_id]
        if change.opened:
            inviter = people.get(participant.invited_by) if participant.invited_by else None
            team = teams.get(participant.dispatch_id) if participant.dispatch_id else None
            data = InviteView.data_of(
                after, participant, dumped[participant.id], inviter=inviter, team=team
            )
            events.append(OutboxEvent("session.invite.upsert", data, (channel(change.user_id),)))
        else:
            data = {
                "invite_id": invite_id(change.participant_id),
                "session_id": after.id,
                "participant_id": change.participant_id,
                "state": str(change.state),
                # Why it closed: `answered_elsewhere` for a dispatch's siblings, ...
                "state_reason": participant.state_reason,
            }
            events.append(OutboxEvent("session.invite.remove", data, (channel(change.user_id),)))
    gone = sorted(channel(u) for u in was_live - is_live)
    if after.state is SessionState.ENDED:
        gone.append(feed)
    if gone:
        data = {"session_id": after.id, "version": after.version}
        events.append(OutboxEvent("session.remove", data, tuple(gone)))
    return fan_out(events)


def fan_out(events: list[OutboxEvent]) -> list[OutboxEvent | OutboxFanOut]:
    """`events` with each run of two or more single-channel events of one topic, each on
    a channel of its own, as one fan-out: the order on every channel stays the same."""
    grouped: list[OutboxEvent | OutboxFanOut] = []
    run: list[OutboxEvent] = []
    in_run: set[str] = set()

    def close_run() -> None:
        if len(run) > 1:
            grouped.append(OutboxFanOut(run[0].topic, tuple((e.channels[0], e.data) for e in run)))
        else:
            grouped.extend(run)
        run.clear()
        in_run.clear()

    for event in events:
        if len(event.channels) != 1:
            close_run()
            grouped.append(event)
            continue
        channel = event.channels[0]
        if run and (event.topic != run[0].topic or channel in in_run):
            close_run()
        run.append(event)
        in_run.add(channel)
    close_run()
    return grouped
