"""How the last rebuild of the views went, for the server's metrics to report.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rebuild_progress",
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("phase", sa.String(200), nullable=False),
        sa.Column("replayed", sa.BigInteger, nullable=False),
        sa.Column("total", sa.BigInteger, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_rebuild_progress"),
    )


def downgrade() -> None:
    op.drop_table("rebuild_progress")
