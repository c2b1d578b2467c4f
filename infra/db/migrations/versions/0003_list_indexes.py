"""Indexes for listing: one per sort key (with the tie-breakers), tags, checksums, properties.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# As in catalog/projections/images.py at the time of this migration (frozen here on purpose).
_NULL_AS = {"name": "''", "container_format": "''", "disk_format": "''", "size": "0"}
_SORT_KEYS = ("name", "status", "container_format", "disk_format", "size", "updated_at")


def _sort_expression(key: str) -> sa.ColumnElement[object]:
    column: sa.ColumnElement[object] = sa.column(key)
    if key in _NULL_AS:
        return sa.func.coalesce(column, sa.literal_column(_NULL_AS[key]))
    return column


def upgrade() -> None:
    for key in _SORT_KEYS:
        op.create_index(
            f"ix_image_sort_{key}",
            "image",
            [_sort_expression(key), sa.column("created_at"), sa.column("id")],
        )
    op.create_index("ix_image_checksum", "image", ["checksum"])
    op.create_index("ix_image_tag_tag", "image_tag", ["tag"])
    if op.get_bind().dialect.name == "postgresql":
        op.create_index(
            "ix_image_properties",
            "image",
            ["properties"],
            postgresql_using="gin",
            postgresql_ops={"properties": "jsonb_path_ops"},
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_image_properties", "image")
    op.drop_index("ix_image_tag_tag", "image_tag")
    op.drop_index("ix_image_checksum", "image")
    for key in reversed(_SORT_KEYS):
        op.drop_index(f"ix_image_sort_{key}", "image")
