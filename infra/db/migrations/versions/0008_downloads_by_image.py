"""An index of the downloads of each image, for its history (`?include=downloads`).

Downloads are recorded on one-event streams of their own (`image.data_sent`), with the image's
id in their data; this partial index finds them by that id, in log order.

`IF NOT EXISTS`: on a large PostgreSQL log an operator may build it beforehand with
`CREATE INDEX CONCURRENTLY` under the same name and definition, so that this migration does not
hold up appends while it builds (see docs/operations.md).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# As in infra/db/audit_log.py at the time of this migration (frozen here on purpose).
_DOWNLOADED_IMAGE = {
    "postgresql": "(data ->> 'image_id')",
    "sqlite": "json_extract(data, '$.image_id')",
}


def upgrade() -> None:
    key = _DOWNLOADED_IMAGE[op.get_bind().dialect.name]
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_event_data_sent_image_id"
        f" ON event ({key}, position) WHERE event_type = 'image.data_sent'"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_event_data_sent_image_id")
