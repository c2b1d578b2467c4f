"""How many copies of an image's data are streaming into other stores (copy-image).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "image",
        sa.Column("copies_in_progress", sa.Integer, nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_column("image", "copies_in_progress")
