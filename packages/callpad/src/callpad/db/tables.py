"""The schema, as SQLAlchemy Core tables. Alembic migrations create exactly this."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

__all__ = [
    "contacts",
    "dispatches",
    "idempotency_keys",
    "invites",
    "media_jobs",
    "media_webhooks",
    "members",
    "metadata",
    "outbox",
    "presence",
    "session_users",
    "sessions",
    "team_members",
    "teams",
    "vendors",
]

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class _Json(sa.TypeDecorator[Any]):
    """JSON; JSONB on PostgreSQL, whose dialect is imported only when one is used (it
    is a large part of a server's start-up on SQLite)."""

    impl = sa.JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import JSONB

            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(sa.JSON())


Json = _Json()


class Timestamp(sa.TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite as on PostgreSQL."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a Timestamp column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


vendors = sa.Table(
    "vendors",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("slug", sa.String(64), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("ring_timeout_s", sa.Float, nullable=False),
    sa.Column("created_at", Timestamp(), nullable=False),
    # Whether LiveKit's room_finished ends the vendor's sessions; null: the deployment's
    # default (CALLPAD_LIVEKIT_END_SESSIONS_WITH_ROOM).
    sa.Column("end_sessions_with_room", sa.Boolean, nullable=True),
)

members = sa.Table(
    "members",
    metadata,
    sa.Column("vendor_id", sa.ForeignKey("vendors.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.BigInteger, primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("created_at", Timestamp(), nullable=False),
)

contacts = sa.Table(
    "contacts",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("vendor_id", sa.ForeignKey("vendors.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("phone", sa.String(20)),
    sa.Column("user_id", sa.BigInteger),
    sa.Column("created_at", Timestamp(), nullable=False),
    sa.Index("ix_contacts_vendor_id_name_id", "vendor_id", "name", "id"),
)

teams = sa.Table(
    "teams",
    metadata,
    sa.Column("vendor_id", sa.ForeignKey("vendors.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("updated_at", Timestamp(), nullable=False),
    # Dispatch settings (see dispatch/schemas.py TeamPut for their meaning and bounds).
    sa.Column("strategy", sa.String(16), nullable=False, server_default="parallel"),
    sa.Column("ring_order", sa.String(16), nullable=False, server_default="in_order"),
    sa.Column("batch_size", sa.Integer),
    sa.Column("ring_timeout_s", sa.Float),  # None: the vendor's ring timeout
    sa.Column("dispatch_timeout_s", sa.Float, nullable=False, server_default="120"),
    sa.Column("when_unavailable", sa.String(16), nullable=False, server_default="queue"),
    sa.Column("max_queue_wait_s", sa.Float, nullable=False, server_default="300"),
    sa.Column("max_rounds", sa.Integer, nullable=False, server_default="1"),
    sa.Column("max_concurrent_calls", sa.Integer, nullable=False, server_default="1"),
    sa.Column("wrap_up_s", sa.Float, nullable=False, server_default="0"),
    # Round robin: the member position rung last.
    sa.Column("last_rung_position", sa.Integer),
)

team_members = sa.Table(
    "team_members",
    metadata,
    sa.Column("vendor_id", sa.Integer, primary_key=True),
    sa.Column("team", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.BigInteger, primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.ForeignKeyConstraint(
        ["vendor_id", "team"], ["teams.vendor_id", "teams.name"], ondelete="CASCADE"
    ),
)

presence = sa.Table(
    "presence",
    metadata,
    sa.Column("vendor_id", sa.ForeignKey("vendors.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.BigInteger, primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("updated_at", Timestamp(), nullable=False),
    # The end of the member's last answered call (longest-idle order), and the end of its
    # after-call work (not rung before then, unless they set themselves available again).
    sa.Column("idle_since", Timestamp()),
    sa.Column("wrap_up_until", Timestamp()),
)

# When each user was last seen with a realtime connection to any server process's
# embedded hub: the fact processes share to tell that an agent's every connection is gone.
realtime_users = sa.Table(
    "realtime_users",
    metadata,
    sa.Column("user_id", sa.BigInteger, primary_key=True),
    sa.Column("last_seen_at", Timestamp(), nullable=False),
)

# The condition of the live-sessions index; a query uses that index only when it states
# this condition word for word (a bound parameter would not do).
LIVE_SESSION = "state != 'ended'"

# One row per session: indexed columns for queries, the aggregate as one JSON document.
sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("vendor_id", sa.ForeignKey("vendors.id"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("document", Json, nullable=False),
    sa.Column("created_at", Timestamp(), nullable=False),
    sa.Column("updated_at", Timestamp(), nullable=False),
    # The list endpoints' orders (migration 0004): the vendor's sessions newest first, of
    # every state, of one state, and the live ones (a partial index: a vendor's history
    # of ended calls never slows the live list down).
    sa.Index("ix_sessions_vendor_id_created_at_id", "vendor_id", "created_at", "id"),
    sa.Index("ix_sessions_vendor_id_state_created_at_id", "vendor_id", "state", "created_at", "id"),
    sa.Index(
        "ix_sessions_live_vendor_id_created_at_id",
        "vendor_id",
        "created_at",
        "id",
        # Partial on PostgreSQL too (migration 0004): `postgresql_where` here would load
        # PostgreSQL's dialect in every server, a large part of a start-up on SQLite.
        sqlite_where=sa.text(LIVE_SESSION),
    ),
)

# Which users take part in which session, and whether it is still live for them.
session_users = sa.Table(
    "session_users",
    metadata,
    sa.Column("session_id", sa.ForeignKey("sessions.id"), primary_key=True),
    sa.Column("user_id", sa.BigInteger, primary_key=True),
    sa.Column("live", sa.Boolean, nullable=False),
    sa.Index("ix_session_users_user_id_live", "user_id", "live"),
)

# Every ring in progress (app invites and phone legs), for listing and durable expiry.
invites = sa.Table(
    "invites",
    metadata,
    sa.Column("participant_id", sa.String(40), primary_key=True),
    sa.Column("id", sa.String(40), nullable=False, unique=True),
    sa.Column("session_id", sa.ForeignKey("sessions.id"), nullable=False),
    sa.Column("vendor_id", sa.Integer, nullable=False),
    sa.Column("user_id", sa.BigInteger),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("created_at", Timestamp(), nullable=False),
    sa.Column("expires_at", Timestamp(), nullable=False),
    sa.Index("ix_invites_state_expires_at", "state", "expires_at"),
    sa.Index("ix_invites_user_id_state", "user_id", "state"),
)

# Every team dispatch, derived from its session on each save (like `invites`): its timer
# (`due_at`: the dispatch timeout while ringing, the maximum wait while queued) and its
# place in its team's queue.
dispatches = sa.Table(
    "dispatches",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("session_id", sa.ForeignKey("sessions.id"), nullable=False),
    sa.Column("vendor_id", sa.Integer, nullable=False),
    sa.Column("team", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("due_at", Timestamp()),
    sa.Column("queued_at", Timestamp()),
    sa.Column("queue_position", sa.Integer),
    sa.Column("dequeued_at", Timestamp()),
    sa.Index("ix_dispatches_state_due_at", "state", "due_at"),
    sa.Index(
        "ix_dispatches_vendor_id_team_state_queued_at", "vendor_id", "team", "state", "queued_at"
    ),
)

# Media work and media reports, durable so a restart loses neither (reports are applied
# once; a command may run again after a crash: each is safe to repeat, or run at most once).
media_jobs = sa.Table(
    "media_jobs",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("session_id", sa.String(40), nullable=False),
    sa.Column("due_at", Timestamp(), nullable=False),
    sa.Column("body", Json, nullable=False),
    sa.Column("done_at", Timestamp()),
    # How often the job was taken, and why a command's last attempt failed.
    sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("last_error", sa.Text),
    sa.Index("ix_media_jobs_done_at_due_at", "done_at", "due_at"),
)

# Every media webhook applied (LiveKit's event id), so a redelivery changes nothing.
media_webhooks = sa.Table(
    "media_webhooks",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("received_at", Timestamp(), nullable=False),
    sa.Index("ix_media_webhooks_received_at", "received_at"),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("principal", sa.String(40), primary_key=True),
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("status_code", sa.Integer, nullable=False),
    sa.Column("response", Json, nullable=False),
    sa.Column("created_at", Timestamp(), nullable=False),
)

# The transactional outbox: events written with the change they describe.
outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("topic", sa.String(40), nullable=False),
    sa.Column("channels", Json, nullable=False),
    sa.Column("data", Json, nullable=False),
    # True: a fan-out, `data` holding one data per channel (a JSON array in channel order).
    sa.Column("fanned_out", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", Timestamp(), nullable=False),
    sa.Column("published_at", Timestamp()),
    sa.Index("ix_outbox_published_at_id", "published_at", "id"),
)
