"""Taking channels away from a user at once, when their vendor membership changes.

A grant's token names its channels and stays valid until it expires, so a removed member
(or an owner demoted to agent, who loses the vendor feed) would keep reading until then.
The membership change writes a revocation into the outbox, in its own transaction; every
relay hands it to its publisher instead of publishing it:

- each embedded hub (every process) closes that user's connections reading a revoked
  channel with 3014 and, until the token TTL has passed, answers 109 to a `connect`
  whose token was issued before the change and names a revoked channel: the client
  fetches a new grant, which the grant endpoint refuses or narrows;
- in Centrifugo mode, Centrifugo disconnects the user (3014) through its server API.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .outbox import OutboxEvent, OutboxRow

__all__ = ["REVOKE_TOPIC", "revocation", "revoked_user"]

# An outbox topic that is an instruction to the publishers, never a publication.
REVOKE_TOPIC = "realtime.revoke"


def revocation(user_id: int, before: Iterable[str], after: Iterable[str]) -> OutboxEvent | None:
    """The event taking from `user_id` the channels of `before` not in `after`, if any."""
    kept = set(after)
    lost = tuple(channel for channel in before if channel not in kept)
    if not lost:
        return None
    data: dict[str, Any] = {"user": str(user_id)}
    return OutboxEvent(REVOKE_TOPIC, data, lost)


def revoked_user(row: OutboxRow) -> str | None:
    """The user whose channels (`row.channels`) the row revokes; None for a publication."""
    if row.topic != REVOKE_TOPIC:
        return None
    return str(row.payload()["data"]["user"])
