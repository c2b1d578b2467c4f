"""The notifications outbox keys each notification by what it is about: an image, a task or a
metadata definitions namespace (`subject_id`, formerly `image_id`). Rows kept are about images,
and their key stays what it was.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


# A rename in place on both databases (SQLite has RENAME COLUMN): the table, its rows and its
# constraints stay as they are.


def upgrade() -> None:
    with op.batch_alter_table("notification", recreate="never") as table:
        table.alter_column("image_id", new_column_name="subject_id")


def downgrade() -> None:
    with op.batch_alter_table("notification", recreate="never") as table:
        table.alter_column("subject_id", new_column_name="image_id")
