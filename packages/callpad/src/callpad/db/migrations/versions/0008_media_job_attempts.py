"""media_jobs.attempts and last_error: a command is leased, retried and given up

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30

A media command now runs outside any transaction: taking it counts an attempt and leases
it (it falls due again if the process that took it never says how it went), and a failed
attempt is retried with backoff, keeping its error, until it is given up.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("media_jobs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("media_jobs", schema=None) as batch_op:
        batch_op.drop_column("last_error")
        batch_op.drop_column("attempts")
