"""media webhooks: the LiveKit event ids already applied

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('media_webhooks',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_media_webhooks'))
    )
    with op.batch_alter_table('media_webhooks', schema=None) as batch_op:
        batch_op.create_index('ix_media_webhooks_received_at', ['received_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('media_webhooks', schema=None) as batch_op:
        batch_op.drop_index('ix_media_webhooks_received_at')
    op.drop_table('media_webhooks')
