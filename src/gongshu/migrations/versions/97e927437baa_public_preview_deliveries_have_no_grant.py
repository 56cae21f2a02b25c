"""public preview deliveries have no grant

Revision ID: 97e927437baa
Revises: 60a71c3b02cb
Create Date: 2026-12-07 02:27:22.929923
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '97e927437baa'
down_revision = '60a71c3b02cb'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # the portal's public preview of an open entry is a delivery under no stored grant
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.alter_column('grant_id',
               existing_type=sa.INTEGER(),
               nullable=True)



def downgrade() -> None:
    # the public previews have no grant to point at: they cannot stay
    op.execute("DELETE FROM deliveries WHERE grant_id IS NULL")
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.alter_column('grant_id',
               existing_type=sa.INTEGER(),
               nullable=False)

