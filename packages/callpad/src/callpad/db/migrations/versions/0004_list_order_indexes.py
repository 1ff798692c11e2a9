"""indexes serving the list endpoints' order (cursor pagination)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30

The vendor's unfiltered session list (`status=all`) sorted every session of the vendor
with its JSON document for one page; `(vendor_id, created_at, id)` hands the page over in
order. Each state's list gets `id` as its tie-break, the live list a partial index (a
history of ended calls never slows it), and contacts their `(name, id)` order.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

LIVE = "state != 'ended'"  # as the query states it (callpad.db.tables.LIVE_SESSION)


def upgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_sessions_vendor_id_state_created_at")
        batch_op.create_index(
            "ix_sessions_vendor_id_state_created_at_id", ["vendor_id", "state", "created_at", "id"]
        )
        batch_op.create_index("ix_sessions_vendor_id_created_at_id", ["vendor_id", "created_at", "id"])
        batch_op.create_index(
            "ix_sessions_live_vendor_id_created_at_id",
            ["vendor_id", "created_at", "id"],
            sqlite_where=sa.text(LIVE),
            postgresql_where=sa.text(LIVE),
        )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index("ix_contacts_vendor_id")
        batch_op.create_index("ix_contacts_vendor_id_name_id", ["vendor_id", "name", "id"])


def downgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index("ix_contacts_vendor_id_name_id")
        batch_op.create_index("ix_contacts_vendor_id", ["vendor_id"])
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_sessions_live_vendor_id_created_at_id")
        batch_op.drop_index("ix_sessions_vendor_id_created_at_id")
        batch_op.drop_index("ix_sessions_vendor_id_state_created_at_id")
        batch_op.create_index(
            "ix_sessions_vendor_id_state_created_at", ["vendor_id", "state", "created_at"]
        )
