"""vendors.end_sessions_with_room: whether LiveKit's room_finished ends a vendor's sessions

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

Null (every existing vendor) means the deployment's default,
CALLPAD_LIVEKIT_END_SESSIONS_WITH_ROOM.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("vendors", schema=None) as batch_op:
        batch_op.add_column(sa.Column("end_sessions_with_room", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("vendors", schema=None) as batch_op:
        batch_op.drop_column("end_sessions_with_room")
