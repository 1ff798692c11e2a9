"""outbox.fanned_out: a fan-out row says it is one

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30

A fan-out row (one topic, a different data for each channel) stores its data as a JSON
array in channel order; until now readers told it from an event, whose data is an
object, by the data's type. The rows already written are marked here from that same
type, so unpublished fan-outs in an upgraded database are still split on publication.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("fanned_out", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    if op.get_context().dialect.name == "postgresql":
        is_array = "jsonb_typeof(data) = 'array'"
    else:
        is_array = "json_type(data) = 'array'"
    outbox = sa.table("outbox", sa.column("fanned_out", sa.Boolean()))
    op.execute(outbox.update().where(sa.text(is_array)).values(fanned_out=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("fanned_out")
