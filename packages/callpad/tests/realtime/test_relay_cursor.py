"""The embedded relay's cursor, alone: where reading resumes, how long a gap holds it, and
which skipped ids are still swept for. (The relay against real databases is in
test_relay_order.py and test_relay_late_rows.py.)"""

from __future__ import annotations

from callpad.realtime.cursor import MAX_SKIPPED, SKIPPED_TTL_S, RelayCursor

GAP_S = 10.0


def test_consecutive_ids_move_the_cursor_at_once() -> None:
    cursor = RelayCursor(4, GAP_S)
    cursor.published([5, 6, 7])
    cursor.advance(now=0.0)
    assert cursor.position == 7
    assert cursor.ahead == 0
    assert not cursor.skipped


def test_a_gap_holds_the_cursor_until_the_timeout_then_is_skipped() -> None:
    cursor = RelayCursor(0, GAP_S)
    cursor.published([1, 3, 4])  # 2 is in flight
    cursor.advance(now=100.0)
    assert cursor.position == 1
    assert cursor.ahead == 2
    assert not cursor.is_new(3)
    cursor.advance(now=100.0 + GAP_S - 0.1)
    assert cursor.position == 1  # still waiting for 2
    cursor.advance(now=100.0 + GAP_S)
    assert cursor.position == 4
    assert list(cursor.skipped) == [2]


def test_a_gap_filled_in_time_is_not_skipped() -> None:
    cursor = RelayCursor(0, GAP_S)
    cursor.published([2])
    cursor.advance(now=0.0)
    cursor.published([1])
    cursor.advance(now=1.0)
    assert cursor.position == 2
    assert not cursor.skipped
    cursor.published([4])
    cursor.advance(now=2.0)  # a new gap starts its own timeout
    cursor.advance(now=2.0 + GAP_S - 0.1)
    assert cursor.position == 2


def test_a_skipped_id_published_late_is_no_longer_swept_for() -> None:
    cursor = RelayCursor(0, GAP_S)
    cursor.published([3])
    cursor.advance(now=0.0)
    cursor.advance(now=GAP_S)
    assert list(cursor.skipped) == [1, 2]
    assert cursor.is_new(2)
    cursor.published([2])  # the late commit, found by the sweep
    assert list(cursor.skipped) == [1]
    assert cursor.position == 3


def test_without_a_gap_timeout_the_cursor_never_waits() -> None:
    cursor = RelayCursor(0, 0.0)  # SQLite: no id commits late
    cursor.published([2])
    cursor.advance(now=0.0)
    assert cursor.position == 2


def test_skipped_ids_are_looked_for_a_bounded_time_and_number() -> None:
    cursor = RelayCursor(0, GAP_S)
    cursor.published([MAX_SKIPPED + 11])
    cursor.advance(now=0.0)  # the gap starts
    cursor.advance(now=GAP_S)  # and times out: ids 1 .. MAX_SKIPPED + 10 are skipped
    assert cursor.position == MAX_SKIPPED + 11
    cursor.forget(now=GAP_S + 1)
    assert list(cursor.skipped) == list(range(11, MAX_SKIPPED + 11))  # the newest
    cursor.forget(now=GAP_S + SKIPPED_TTL_S - 1)
    assert len(cursor.skipped) == MAX_SKIPPED
    cursor.forget(now=GAP_S + SKIPPED_TTL_S)
    assert not cursor.skipped
