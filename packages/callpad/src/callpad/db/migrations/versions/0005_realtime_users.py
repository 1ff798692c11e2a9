"""realtime_users: when each user was last seen connected to an embedded hub

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30

Hub connections belong to one process; every process writes the users connected to it
here, so any process can tell that an agent's every connection has been gone for the
offline grace period (`CALLPAD_PRESENCE_OFFLINE_GRACE_S`).
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "realtime_users",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id"),
    )


def downgrade() -> None:
    op.drop_table("realtime_users")
