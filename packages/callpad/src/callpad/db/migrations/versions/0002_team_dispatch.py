"""team dispatch: team settings, presence availability, the dispatches index

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("teams") as batch:
        batch.add_column(sa.Column("strategy", sa.String(16), nullable=False, server_default="parallel"))
        batch.add_column(sa.Column("ring_order", sa.String(16), nullable=False, server_default="in_order"))
        batch.add_column(sa.Column("batch_size", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("ring_timeout_s", sa.Float(), nullable=True))
        batch.add_column(sa.Column("dispatch_timeout_s", sa.Float(), nullable=False, server_default="120"))
        batch.add_column(sa.Column("when_unavailable", sa.String(16), nullable=False, server_default="queue"))
        batch.add_column(sa.Column("max_queue_wait_s", sa.Float(), nullable=False, server_default="300"))
        batch.add_column(sa.Column("max_rounds", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("max_concurrent_calls", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("wrap_up_s", sa.Float(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("last_rung_position", sa.Integer(), nullable=True))
    with op.batch_alter_table("presence") as batch:
        batch.add_column(sa.Column("idle_since", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("wrap_up_until", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "dispatches",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("session_id", sa.String(40), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("team", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("queue_position", sa.Integer(), nullable=True),
        sa.Column("dequeued_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name=op.f("fk_dispatches_session_id_sessions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispatches")),
    )
    op.create_index("ix_dispatches_state_due_at", "dispatches", ["state", "due_at"])
    op.create_index(
        "ix_dispatches_vendor_id_team_state_queued_at",
        "dispatches",
        ["vendor_id", "team", "state", "queued_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_dispatches_vendor_id_team_state_queued_at", table_name="dispatches")
    op.drop_index("ix_dispatches_state_due_at", table_name="dispatches")
    op.drop_table("dispatches")
    with op.batch_alter_table("presence") as batch:
        batch.drop_column("wrap_up_until")
        batch.drop_column("idle_since")
    with op.batch_alter_table("teams") as batch:
        for column in (
            "last_rung_position",
            "wrap_up_s",
            "max_concurrent_calls",
            "max_rounds",
            "max_queue_wait_s",
            "when_unavailable",
            "dispatch_timeout_s",
            "ring_timeout_s",
            "batch_size",
            "ring_order",
            "strategy",
        ):
            batch.drop_column(column)
