"""Which realtime events a session change produces, and on whose channels."""

from __future__ import annotations

import orjson

from ..domain import Session, SessionState, invite_changes, invite_id
from ..realtime.channels import agent_channel, user_channel, vendor_feed
from ..realtime.outbox import OutboxEvent
from .schemas import InviteView, SessionView

__all__ = ["session_events"]


def session_events(before: Session | None, after: Session) -> list[OutboxEvent]:
    """Events for the change `before -> after`.

    Every user for whom the session was or is live gets `session.upsert`; those for whom it
    no longer is get `session.remove` after it. Members of the vendor (as they were when
    invited) are reached on their vendor-scoped channel, everyone else on their global user
    channel. The vendor feed sees every change. Invite recipients get
    `session.invite.upsert` / `.remove`.
    """
    members = {p.user_id for p in after.participants if p.member}

    def channel(user_id: int) -> str:
        return agent_channel(after.vendor, user_id) if user_id in members else user_channel(user_id)

    was_live, is_live = (before.live_users() if before else set()), after.live_users()
    feed = vendor_feed(after.vendor)
    view = SessionView.of(after)
    view_data = view.model_dump(mode="json")
    events = [
        OutboxEvent(
            "session.upsert", view_data, (*sorted(channel(u) for u in was_live | is_live), feed)
        )
    ]
    session_json: orjson.Fragment | None = None
    for change in invite_changes(before, after):
        if change.user_id is None:
            continue  # phone legs have no app to notify
        participant = after.participant(change.participant_id)
        assert participant is not None
        if change.opened:
            # The session inside is serialized once for all of a change's invites (a team
            # call rings hundreds at once), as a fragment the JSON encoder copies as is.
            if session_json is None:
                session_json = orjson.Fragment(orjson.dumps(view_data))
            invite = InviteView.of(after, participant, view)
            data = {**invite.model_dump(mode="json", exclude={"session"}), "session": session_json}
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
    return events
