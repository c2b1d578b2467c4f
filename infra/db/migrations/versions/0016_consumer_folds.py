"""The folds a consumer keeps of its streams, when it has more streams than it keeps in memory.

Empty at first: a fold is written when its consumer pushes it out of memory.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consumer_fold",
        sa.Column("consumer", sa.String(100), nullable=False),
        sa.Column("stream_id", sa.Uuid, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("consumer", "stream_id", name="pk_consumer_fold"),
    )


def downgrade() -> None:
    op.drop_table("consumer_fold")
