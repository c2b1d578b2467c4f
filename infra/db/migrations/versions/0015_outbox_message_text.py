"""The notifications outbox keeps each message as the JSON text it was made as.

Nothing ever looks inside a stored message: it is written once and sent as read. On
PostgreSQL, as `jsonb`, each was parsed into its binary form on the way in (about half the
outbox insert's cost on the server) and printed back on the way out. Rows already
waiting keep their content (the text `jsonb` prints). SQLite stored the text already: its
column is left as it is.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE notification ALTER COLUMN message TYPE text USING message::text")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE notification ALTER COLUMN message TYPE jsonb USING message::jsonb")
