"""Streams and history, without sockets: offsets, recovery, the history command's
selection, and history bounded by size and by time (a `now` passed in, never a sleep)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from typing import Any

import orjson
from callpad.realtime.hub import Hub, HubConfig
from callpad.realtime.hub.streams import AT, OFFSET, Stream, Streams, protocol_int
from callpad.realtime.protocol import ErrorCode, encode

from testsupport.api import eventually

CHANNEL = "user:#7"
TTL_S = 60.0


class Reader:
    """A subscriber that keeps what it is sent."""

    def __init__(self) -> None:
        self.frames: list[str] = []

    def send(self, frame: str) -> None:
        self.frames.append(frame)


def published(streams: Streams, count: int, now: float = 0.0) -> Stream:
    for i in range(1, count + 1):
        streams.publish(CHANNEL, f'{{"n":{i}}}', f"outbox-{i}", now)
    stream = streams.get(CHANNEL)
    assert stream is not None
    return stream


def decoded(result: dict[str, Any] | ErrorCode) -> Any:
    assert not isinstance(result, ErrorCode), result
    return orjson.loads(encode(result))


def test_offsets_count_from_one_and_a_known_key_is_not_appended_twice() -> None:
    streams = Streams(size=10, ttl_s=TTL_S)
    stream = published(streams, 3)
    assert [p[OFFSET] for p in stream.history] == [1, 2, 3]
    again, publication = streams.publish(CHANNEL, '{"n":2}', "outbox-2", 1.0)
    assert again is stream
    assert publication is None
    assert stream.keys["outbox-2"] == 2
    assert stream.offset == 3


def test_history_keeps_the_newest_size_publications() -> None:
    streams = Streams(size=2, ttl_s=TTL_S)
    stream = published(streams, 5)
    assert [p[OFFSET] for p in stream.history] == [4, 5]
    assert set(stream.keys) == {"outbox-4", "outbox-5"}  # a trimmed key may come back
    assert stream.since(3) == list(stream.history)
    assert stream.since(2) is None
    assert stream.since(5) == []


def test_a_subscribe_without_recovery_is_positioned_at_the_top() -> None:
    stream = published(Streams(size=10, ttl_s=TTL_S), 2)
    assert decoded(stream.subscribe_result({})) == {
        "recoverable": True,
        "positioned": True,
        "epoch": stream.epoch,
        "offset": 2,
    }
    empty = Stream("user:#8")
    assert "offset" not in decoded(empty.subscribe_result({}))  # zero values are omitted


def test_recovery_returns_what_was_missed_in_order() -> None:
    stream = published(Streams(size=10, ttl_s=TTL_S), 3)
    result = decoded(stream.subscribe_result({"recover": True, "epoch": stream.epoch, "offset": 1}))
    assert result["recovered"] is True
    assert result["was_recovering"] is True
    assert result["offset"] == 1
    assert result["publications"] == [
        {"data": {"n": 2}, "offset": 2},
        {"data": {"n": 3}, "offset": 3},
    ]
    # The offset may come as a protobuf-JSON string; a missing one is 0.
    as_string = {"recover": True, "epoch": stream.epoch, "offset": "2"}
    assert decoded(stream.subscribe_result(as_string))["publications"] == [
        {"data": {"n": 3}, "offset": 3}
    ]
    from_start = decoded(stream.subscribe_result({"recover": True, "epoch": stream.epoch}))
    assert [p["offset"] for p in from_start["publications"]] == [1, 2, 3]


def test_an_unrecoverable_position_answers_the_top_or_112_when_asked() -> None:
    stream = published(Streams(size=2, ttl_s=TTL_S), 5)
    lost = {"recover": True, "epoch": stream.epoch, "offset": 1}
    result = decoded(stream.subscribe_result(lost))
    assert "recovered" not in result  # false: omitted, as a zero value
    assert result["was_recovering"] is True
    assert result["offset"] == 5
    assert "publications" not in result
    assert stream.subscribe_result({**lost, "flag": 2}) == ErrorCode.UNRECOVERABLE_POSITION
    other_epoch = {"recover": True, "epoch": "other", "offset": 5}
    assert decoded(stream.subscribe_result(other_epoch))["offset"] == 5
    assert stream.subscribe_result({**other_epoch, "flag": 3}) == ErrorCode.UNRECOVERABLE_POSITION


def test_the_history_command_selects_limits_and_reverses() -> None:
    stream = published(Streams(size=10, ttl_s=TTL_S), 4)

    def offsets(params: dict[str, Any]) -> list[int]:
        result = decoded(stream.history_result(params))
        assert result["epoch"] == stream.epoch
        assert result["offset"] == 4
        return [p["offset"] for p in result.get("publications", [])]

    assert offsets({"limit": 0}) == []  # the position only
    assert offsets({"limit": -1}) == [1, 2, 3, 4]
    assert offsets({"limit": 2}) == [1, 2]
    assert offsets({"limit": 2, "reverse": True}) == [4, 3]
    assert offsets({"limit": -1, "since": {"epoch": stream.epoch, "offset": 2}}) == [3, 4]
    assert offsets({"limit": 1, "since": {"epoch": stream.epoch, "offset": "1"}}) == [2]
    wrong_epoch = {"limit": -1, "since": {"epoch": "other", "offset": 2}}
    assert stream.history_result(wrong_epoch) == ErrorCode.UNRECOVERABLE_POSITION


def test_history_past_what_is_kept_is_unrecoverable() -> None:
    stream = published(Streams(size=2, ttl_s=TTL_S), 4)
    gone = {"limit": -1, "since": {"epoch": stream.epoch, "offset": 1}}
    assert stream.history_result(gone) == ErrorCode.UNRECOVERABLE_POSITION
    empty = Stream("user:#8")
    assert decoded(empty.history_result({"limit": -1})) == {"epoch": empty.epoch}


def test_protocol_integers_are_numbers_or_ascii_decimal_strings_in_64_bits() -> None:
    assert protocol_int(7) == protocol_int("7") == 7
    assert protocol_int(2**64 - 1) == 2**64 - 1
    assert protocol_int(2**64) is None
    assert protocol_int("18446744073709551616") is None
    assert protocol_int("\u0667") is None  # ARABIC-INDIC DIGIT SEVEN: decimal, not ASCII
    assert protocol_int(-1) is None
    assert protocol_int(-1, signed=True) == -1
    assert protocol_int(2**63, signed=True) is None
    assert protocol_int(True) is None
    assert protocol_int(1.0) is None
    assert protocol_int("") is None


def test_history_leaves_on_time_though_the_channel_is_never_published_to_again() -> None:
    streams = Streams(size=1000, ttl_s=TTL_S)
    for n in range(100):
        streams.publish(f"vendor:v{n}", '{"n":1}', None, now=float(n % 10))
    stream = published(streams, 3, now=5.0)
    streams.expire(now=TTL_S - 1)
    assert len(streams) == 101
    streams.expire(now=TTL_S + 4.5)  # publications made at 0 .. 4 are due
    assert len(streams) == 51
    assert [p[OFFSET] for p in stream.history] == [1, 2, 3]  # made at 5: not yet
    streams.expire(now=TTL_S + 10)
    assert len(streams) == 0  # no history and no subscribers: forgotten
    assert streams.get(CHANNEL) is None
    assert not stream.history and not stream.keys


def test_a_stream_with_subscribers_keeps_its_position_after_its_history_expires() -> None:
    streams = Streams(size=1000, ttl_s=TTL_S)
    stream = published(streams, 2)
    reader = Reader()
    stream.subscribers.add(reader)
    streams.expire(now=TTL_S)
    assert streams.get(CHANNEL) is stream
    assert not stream.history
    assert (stream.offset, stream.since(2)) == (2, [])  # a reader at the top still recovers
    stream.subscribers.discard(reader)
    streams.release(stream)
    assert streams.get(CHANNEL) is None


def test_an_entry_trimmed_by_size_does_not_hold_the_stream_past_its_newest_ttl() -> None:
    streams = Streams(size=2, ttl_s=TTL_S)
    for at in (0.0, 10.0, 20.0):
        streams.publish(CHANNEL, "1", None, now=at)
    streams.expire(now=TTL_S + 10)  # the entry made at 0 left by size; the one at 10 is due
    stream = streams.get(CHANNEL)
    assert stream is not None
    assert [p[AT] for p in stream.history] == [20.0]
    streams.expire(now=TTL_S + 20)
    assert len(streams) == 0


def test_the_hub_forgets_idle_channels_by_its_clock() -> None:
    now = 1000.0
    hub = Hub(HubConfig(secret="", history_ttl_s=TTL_S), clock=lambda: now)
    for n in range(1000):
        hub.publish(f"user:#{n}", {"n": n}, key=f"outbox-{n}")
    assert hub.history("user:#5") == [(1, {"n": 5})]
    now += TTL_S
    hub.streams.expire(hub.now())  # what the ticker does every tick
    assert len(hub.streams) == 0
    assert hub.history("user:#5") == []
    assert hub.position("user:#5").offset == 0
    assert hub.publish("user:#5", {"n": 5}, key="outbox-5") == 1  # a new stream


def test_without_history_a_publication_is_only_delivered() -> None:
    streams = Streams(size=0, ttl_s=TTL_S)
    stream, publication = streams.publish(CHANNEL, "1", "outbox-1", now=0.0)
    assert publication is not None and publication[OFFSET] == stream.offset == 1
    assert not stream.history and not stream.keys
    assert len(streams) == 0  # nobody reads it: nothing is kept
    read = streams.open(CHANNEL, now=1.0)
    read.subscribers.add(Reader())
    streams.publish(CHANNEL, "2", None, now=1.0)
    assert streams.get(CHANNEL) is read  # kept for its reader, without history


async def test_the_ticker_sleeps_while_nothing_is_due_and_wakes_for_a_publication() -> None:
    """An idle hub does not tick; history published while it sleeps still leaves on time."""
    hub = Hub(HubConfig(secret="", history_ttl_s=0.05, ping_interval_s=0.04))
    passes = 0
    check = hub.check_connections

    def counted() -> float | None:
        nonlocal passes
        passes += 1
        return check()

    hub.check_connections = counted  # type: ignore[method-assign]
    ticker = asyncio.create_task(hub.run())
    try:
        await asyncio.sleep(0.3)  # 30 of the old 0.01 s ticks
        assert passes == 1  # the first pass found nothing due
        hub.publish(CHANNEL, {"n": 1}, key="outbox-1")
        assert hub.history(CHANNEL) == [(1, {"n": 1})]
        await eventually(lambda: len(hub.streams) == 0)
        assert hub.history(CHANNEL) == []
    finally:
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker


def test_history_is_invisible_to_full_garbage_collections() -> None:
    # A 200-agent team call adds 400 entries that live for the TTL: were they tracked, every
    # full collection would walk them (the p99 of team calls was such collections).
    streams = Streams(size=100, ttl_s=TTL_S)
    stream, publication = streams.publish(CHANNEL, '{"n":1}', "outbox-1", now=0.0)
    assert publication is not None
    gc.collect()
    assert not any(gc.is_tracked(p) for p in stream.history)
