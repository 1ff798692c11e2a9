"""The embedded-mode relay's position in the outbox: which ids are handled, which are
still awaited, which were given up on. Pure: the relay reads rows and tells the cursor what
it published; the cursor decides where reading resumes and which ids to sweep for.

Every id <= `position` is handled. Ids above it already published wait in `seen` until
the ids below them arrive. An id missing below one already published may belong to a
transaction still in flight (PostgreSQL assigns ids at insert, not at commit): the cursor
waits for it up to `gap_timeout_s`, then passes it and remembers it as skipped, for
`skipped_ttl_s` and at most `max_skipped` ids, so a late commit is still swept up.
"""

from __future__ import annotations

from collections.abc import Iterable, KeysView

__all__ = ["MAX_SKIPPED", "SKIPPED_TTL_S", "RelayCursor"]

# How long a skipped id is looked for. A transaction that commits later than this has held
# its locks for minutes; its events still reach processes that had not marked them.
SKIPPED_TTL_S = 600.0
MAX_SKIPPED = 1_000


class RelayCursor:
    def __init__(
        self,
        position: int,
        gap_timeout_s: float,
        *,
        skipped_ttl_s: float = SKIPPED_TTL_S,
        max_skipped: int = MAX_SKIPPED,
    ) -> None:
        self.position = position
        self.gap_timeout_s = gap_timeout_s
        self.skipped_ttl_s = skipped_ttl_s
        self.max_skipped = max_skipped
        self._seen: set[int] = set()  # ids > position already published
        self._skipped: dict[int, float] = {}  # ids <= position passed unseen -> when (in order)
        self._stalled_since: float | None = None

    @property
    def skipped(self) -> KeysView[int]:
        """Ids the cursor passed without seeing them, oldest first."""
        return self._skipped.keys()

    @property
    def ahead(self) -> int:
        """How many ids above `position` are already published."""
        return len(self._seen)

    def is_new(self, outbox_id: int) -> bool:
        """Not already published above the position (rows read at or below it come from
        the sweep: skipped ids, or rows nobody marked)."""
        return outbox_id not in self._seen

    def published(self, ids: Iterable[int]) -> None:
        for outbox_id in ids:
            if outbox_id > self.position:
                self._seen.add(outbox_id)
            else:
                self._skipped.pop(outbox_id, None)

    def advance(self, now: float) -> None:
        """Move past every id handled in a row; past a gap once it is `gap_timeout_s` old."""
        seen = self._seen
        while self.position + 1 in seen:
            self.position += 1
            seen.discard(self.position)
        if not seen:
            self._stalled_since = None
            return
        # Ids missing below one already published: in flight, or rolled back.
        if self._stalled_since is None:
            self._stalled_since = now
        if now - self._stalled_since >= self.gap_timeout_s:
            first_seen = min(seen)
            self._skipped.update(dict.fromkeys(range(self.position + 1, first_seen), now))
            self.position = first_seen - 1
            self._stalled_since = None
            self.advance(now)

    def forget(self, now: float) -> None:
        """Stop looking for skipped ids after `skipped_ttl_s`, and beyond `max_skipped`."""
        skipped = self._skipped
        while skipped:
            oldest, since = next(iter(skipped.items()))
            if now - since < self.skipped_ttl_s and len(skipped) <= self.max_skipped:
                return
            del skipped[oldest]
