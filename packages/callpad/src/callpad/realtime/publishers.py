"""Where the relay publishes: the embedded hub, or a real Centrifugo over its HTTP API.

A publisher gets outbox rows in id order and puts each row's `{topic, data}` on each of the
row's channels (a fan-out row's own data on each), keyed by the outbox id so that a
retried row is not appended twice (a fan-out names each channel once).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from .hub import Hub
from .outbox import OutboxRow
from .protocol import Disconnect
from .revocations import revoked_user

__all__ = ["CentrifugoPublisher", "HubPublisher", "Publisher", "publication_key"]


def publication_key(outbox_id: int) -> str:
    """The idempotency key of an outbox row's publications (per channel, as in Centrifugo)."""
    return f"outbox-{outbox_id}"


class Publisher(Protocol):
    # True when the publisher is the single shared sink (Centrifugo): rows are then claimed
    # and marked published by whichever process publishes them. False for the embedded
    # hub: every process publishes every row to its own hub.
    shared: bool

    async def publish(self, rows: Sequence[OutboxRow]) -> None: ...

    async def close(self) -> None: ...


class HubPublisher:
    """Publishes into this process's hub: synchronous, cannot fail half-way through a row."""

    shared = False

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    async def publish(self, rows: Sequence[OutboxRow]) -> None:
        with self.hub.corked():
            for row in rows:
                self.publish_now(row)

    def publish_now(self, row: OutboxRow) -> None:
        user = revoked_user(row)
        if user is not None:
            self.hub.revoke(user, row.channels)
            return
        key = publication_key(row.id)
        for channel, text in row.publications():
            self.hub.publish(channel, text, key=key)

    async def close(self) -> None:
        return None


class CentrifugoPublisher:
    """One `POST {api_url}/batch` per relay batch, through the `cent` library."""

    shared = True

    def __init__(self, api_url: str, api_key: str, timeout_s: float = 10.0) -> None:
        from cent import AsyncClient

        self._client = AsyncClient(api_url.rstrip("/"), api_key, timeout=timeout_s)

    async def publish(self, rows: Sequence[OutboxRow]) -> None:
        from cent import BatchRequest, PublishRequest

        requests: list[Any] = []
        for row in rows:
            user = revoked_user(row)
            if user is not None:
                requests.append(self._disconnect(user))
                continue
            requests.extend(
                PublishRequest(
                    channel=channel, data=payload, idempotency_key=publication_key(row.id)
                )
                for channel, payload in row.payloads()
            )
        if not requests:
            return
        # Sequential (not parallel) so each channel receives its rows in outbox order.
        # `cent` raises on a transport error or an error in any reply.
        await self._client.batch(BatchRequest(requests=requests, parallel=False))

    async def connected_channels(self, channels: Sequence[str]) -> set[str]:
        """The channels with at least one client now, from Centrifugo's presence (on in
        the `agent` namespace of docs/centrifugo/config.json): one batch per 1,000."""
        from cent import BatchRequest, PresenceStatsRequest, PresenceStatsResult

        connected: set[str] = set()
        for start in range(0, len(channels), 1000):
            chunk = channels[start : start + 1000]
            requests: list[Any] = [PresenceStatsRequest(channel=c) for c in chunk]
            result = await self._client.batch(BatchRequest(requests=requests, parallel=True))
            replies = zip(chunk, result.replies, strict=True)
            connected.update(
                c for c, r in replies if isinstance(r, PresenceStatsResult) and r.num_clients
            )
        return connected

    @staticmethod
    def _disconnect(user: str) -> Any:
        """A revocation: Centrifugo cannot take token channels from a connection, so every
        connection of the user is closed with 3014; clients drop their token and fetch a
        new grant, which no longer names the revoked channels (see revocations.py)."""
        from cent import Disconnect as DisconnectCode
        from cent import DisconnectRequest

        code = Disconnect.STATE_INVALIDATED
        return DisconnectRequest(
            user=user, disconnect=DisconnectCode(code=code, reason=code.reason)
        )

    async def close(self) -> None:
        await self._client.close()
