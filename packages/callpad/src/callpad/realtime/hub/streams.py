"""Channels as streams: offsets, epochs, bounded history, recovery. No I/O, no clock of its
own: every method that ages history takes `now` (monotonic seconds).

    Streams     every channel with history or subscribers; `expire(now)` drops history
                past its TTL on time and forgets streams nobody reads any more
    Stream      one channel: epoch, offset, history (oldest first), subscribers
    Publication one entry of a stream's history (a plain tuple)
"""

from __future__ import annotations

import heapq
import itertools
import secrets
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final, Protocol

from ..protocol import ErrorCode, RawJson, dumps

__all__ = [
    "AT",
    "DATA",
    "OFFSET",
    "Publication",
    "Stream",
    "Streams",
    "Subscriber",
    "protocol_int",
    "pub_frame",
]

FLAG_REJECT_UNRECOVERED = 2  # subscribe `flag` bit: answer 112 rather than recovered=false
_UINT64_MAX = 2**64 - 1


class Subscriber(Protocol):
    def send(self, frame: str) -> None: ...


# One entry of a stream's history: (offset, the publication's JSON text, embedded raw in
# frames, its idempotency key, when it was published). A plain tuple, not a class: the
# garbage collector stops tracking a tuple of atomic values after its first young
# collection, while history holds one per channel per event for its TTL (400 for a
# 200-agent team call); as tracked objects they made every full collection longer.
Publication = tuple[int, str, str | None, float]
# Its fields, by position.
OFFSET: Final = 0
DATA: Final = 1
KEY: Final = 2
AT: Final = 3


def pub_frame(publication: Publication) -> str:
    """The publication as the protocol's `pub` object."""
    return f'{{"data":{publication[DATA]},"offset":{publication[OFFSET]}}}'


# The history of every stream that has none: a deque costs ~700 bytes even empty, and
# most streams (one per connected user's own channel) hold none most of the time.
# `maxlen=0`: were anything appended to it by mistake, it would not be shared.
_NO_HISTORY: deque[Publication] = deque(maxlen=0)


class Stream:
    __slots__ = (
        "channel",
        "channel_json",
        "epoch",
        "expiry_scheduled",
        "history",
        "keys",
        "offset",
        "subscribers",
    )

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.channel_json = dumps(channel)
        self.epoch = secrets.token_hex(4)
        self.offset = 0
        self.history: deque[Publication] = _NO_HISTORY
        self.keys: dict[str, int] = {}  # idempotency key -> offset, for what is in history
        self.subscribers: set[Subscriber] = set()
        self.expiry_scheduled = False

    def append(self, data: str, key: str | None, now: float) -> Publication:
        self.offset += 1
        publication = (self.offset, data, key, now)
        if self.history is _NO_HISTORY:
            self.history = deque()
        self.history.append(publication)
        if key is not None:
            self.keys[key] = self.offset
        return publication

    def trim(self, size: int, ttl_s: float, now: float) -> None:
        history = self.history
        while history and (len(history) > size or now - history[0][AT] >= ttl_s):
            dropped_key = history.popleft()[KEY]
            if dropped_key is not None:
                self.keys.pop(dropped_key, None)
        if not history:
            self.history = _NO_HISTORY

    def since(self, offset: int) -> list[Publication] | None:
        """Every publication after `offset`, or None when some of them left history."""
        if offset >= self.offset:
            return []
        if not self.history or self.history[0][OFFSET] > offset + 1:
            return None
        start = offset + 1 - self.history[0][OFFSET]
        return [self.history[i] for i in range(start, len(self.history))]

    def subscribe_result(self, params: Mapping[str, Any]) -> dict[str, Any] | ErrorCode:
        """The reply to a subscribe (or a connect's server-side subscription) with `params`
        (`recover`, `epoch`, `offset`, `flag`), history already trimmed."""
        result: dict[str, Any] = {"recoverable": True, "positioned": True, "epoch": self.epoch}
        result["offset"] = self.offset
        if params.get("recover"):
            result["was_recovering"] = True
            offset = protocol_int(params.get("offset")) or 0
            missed = self.since(offset) if params.get("epoch") == self.epoch else None
            if missed is not None:
                result["recovered"] = True
                result["offset"] = offset
                if missed:
                    result["publications"] = [RawJson(pub_frame(p)) for p in missed]
            elif (protocol_int(params.get("flag")) or 0) & FLAG_REJECT_UNRECOVERED:
                return ErrorCode.UNRECOVERABLE_POSITION
        if not result["offset"]:
            del result["offset"]
        return result

    def history_result(self, params: Mapping[str, Any]) -> dict[str, Any] | ErrorCode:
        """The reply to `history {limit, since?, reverse?}`: limit 0 is the position only,
        -1 (or any negative) everything in history."""
        since = params.get("since")
        selected: list[Publication]
        if isinstance(since, dict):
            missed = (
                self.since(protocol_int(since.get("offset")) or 0)
                if since.get("epoch") == self.epoch
                else None
            )
            if missed is None:
                return ErrorCode.UNRECOVERABLE_POSITION
            selected = missed
        else:
            selected = list(self.history)
        if params.get("reverse"):
            selected.reverse()
        limit = protocol_int(params.get("limit"), signed=True) or 0
        if limit >= 0:
            selected = selected[:limit]
        result: dict[str, Any] = {"epoch": self.epoch}
        if self.offset:
            result["offset"] = self.offset
        if selected:
            result["publications"] = [RawJson(pub_frame(p)) for p in selected]
        return result


class Streams:
    """Every stream that holds history or has subscribers, with its history bounded by
    `size` and `ttl_s`.

    A stream's history is trimmed on time: `expire(now)` visits only the streams whose
    oldest publication is due (a heap keyed by that time), so a channel that is never
    published to again still loses its history, and a stream with neither history nor
    subscribers is forgotten (a later publication starts a new epoch, as after any loss
    of history).
    """

    def __init__(self, size: int, ttl_s: float) -> None:
        self.size = size
        self.ttl_s = ttl_s
        self._streams: dict[str, Stream] = {}
        self._due: list[tuple[float, int, Stream]] = []  # (oldest publication + ttl, _, stream)
        self._order = itertools.count()
        # Called with the time of an expiry that became the earliest (the hub's ticker).
        self.on_earliest_expiry: Callable[[float], None] = _ignore

    def __len__(self) -> int:
        return len(self._streams)

    def __iter__(self) -> Iterator[Stream]:
        return iter(self._streams.values())

    def get(self, channel: str) -> Stream | None:
        return self._streams.get(channel)

    def open(self, channel: str, now: float) -> Stream:
        """The channel's stream, created when missing, its history trimmed to `now`."""
        stream = self._streams.get(channel)
        if stream is None:
            stream = self._streams[channel] = Stream(channel)
        else:
            stream.trim(self.size, self.ttl_s, now)
        return stream

    def publish(
        self, channel: str, data: str, key: str | None, now: float
    ) -> tuple[Stream, Publication | None]:
        """Append to the channel's stream. A `key` already in its history is not appended
        again (no publication is returned: its offset is `stream.keys[key]`)."""
        stream = self.open(channel, now)
        if key is not None and key in stream.keys:
            return stream, None
        publication = stream.append(data, key, now)
        stream.trim(self.size, self.ttl_s, now)
        if not stream.history:
            self.release(stream)  # history_size 0: nothing to keep unless someone reads it
        elif not stream.expiry_scheduled:
            self._schedule(stream)
        return stream, publication

    def release(self, stream: Stream) -> None:
        """Forget `stream` if nothing keeps it: no history, no subscribers."""
        idle = not stream.history and not stream.subscribers
        if idle and self._streams.get(stream.channel) is stream:
            del self._streams[stream.channel]

    def expire(self, now: float) -> None:
        """Drop the history older than `ttl_s`, and streams left with nothing."""
        due = self._due
        while due and due[0][0] <= now:
            _, _, stream = heapq.heappop(due)
            stream.expiry_scheduled = False
            stream.trim(self.size, self.ttl_s, now)
            if stream.history:
                self._schedule(stream)  # its new oldest publication
            else:
                self.release(stream)

    def next_expiry(self) -> float | None:
        """When `expire` next has something to do."""
        return self._due[0][0] if self._due else None

    def _schedule(self, stream: Stream) -> None:
        stream.expiry_scheduled = True
        entry = (stream.history[0][AT] + self.ttl_s, next(self._order), stream)
        heapq.heappush(self._due, entry)
        if self._due[0] is entry:
            self.on_earliest_expiry(entry[0])


def _ignore(_at: float) -> None:
    pass


def protocol_int(value: Any, *, signed: bool = False) -> int | None:
    """An integer field as the protocol's JSON sends it: a number or, for 64-bit fields,
    a decimal string (protobuf JSON). Out of the 64-bit range, or anything else: None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        if not (value.isascii() and value.isdigit()) or len(value) > 20:
            return None
        value = int(value)
    if not isinstance(value, int):
        return None
    if signed:
        return value if -(2**63) <= value < 2**63 else None
    return value if 0 <= value <= _UINT64_MAX else None
