"""The metadata definitions views: namespaces, their objects, properties, tags and resource
type associations, and the resource types.

Empty at first: no event of the log before this version makes any of them.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

NAME = sa.String(80)


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    json = postgresql.JSONB() if postgres else sa.JSON()
    timestamp = sa.DateTime(timezone=True)

    def made() -> list[sa.Column[Any]]:
        """When a row was made and changed, and where its making sits in the log."""
        return [
            sa.Column("created_at", timestamp, nullable=False),
            sa.Column("updated_at", timestamp, nullable=False),
            sa.Column("position", sa.BigInteger, nullable=False),
        ]

    op.create_table(
        "metadef_namespace",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("namespace", NAME, nullable=False),
        sa.Column("display_name", NAME),
        sa.Column("description", sa.Text),
        sa.Column("visibility", sa.String(32), nullable=False),
        sa.Column("protected", sa.Boolean, nullable=False),
        sa.Column("owner", sa.String(255)),
        *made(),
        sa.Column("version", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_metadef_namespace"),
    )
    op.create_index("ix_metadef_namespace_namespace", "metadef_namespace", ["namespace"])
    op.create_index(
        "ix_metadef_namespace_created_at_position", "metadef_namespace", ["created_at", "position"]
    )
    op.create_table(
        "metadef_object",
        sa.Column("namespace_id", sa.Uuid, nullable=False),
        sa.Column("name", NAME, nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("required", json, nullable=False),
        sa.Column("properties", json, nullable=False),
        *made(),
        sa.PrimaryKeyConstraint("namespace_id", "name", name="pk_metadef_object"),
    )
    op.create_table(
        "metadef_property",
        sa.Column("namespace_id", sa.Uuid, nullable=False),
        sa.Column("name", NAME, nullable=False),
        sa.Column("attributes", json, nullable=False),
        sa.PrimaryKeyConstraint("namespace_id", "name", name="pk_metadef_property"),
    )
    op.create_table(
        "metadef_tag",
        sa.Column("namespace_id", sa.Uuid, nullable=False),
        sa.Column("name", NAME, nullable=False),
        *made(),
        sa.Column("ordinal", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("namespace_id", "name", name="pk_metadef_tag"),
    )
    op.create_table(
        "metadef_resource_type_association",
        sa.Column("namespace_id", sa.Uuid, nullable=False),
        sa.Column("name", NAME, nullable=False),
        sa.Column("prefix", NAME),
        sa.Column("properties_target", NAME),
        *made(),
        sa.PrimaryKeyConstraint(
            "namespace_id", "name", name="pk_metadef_resource_type_association"
        ),
    )
    op.create_index(
        "ix_metadef_resource_type_association_name",
        "metadef_resource_type_association",
        ["name"],
    )
    op.create_table(
        "metadef_resource_type",
        sa.Column("name", NAME, nullable=False),
        sa.Column("created_at", timestamp, nullable=False),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_metadef_resource_type"),
    )


def downgrade() -> None:
    for table in (
        "metadef_resource_type",
        "metadef_resource_type_association",
        "metadef_tag",
        "metadef_property",
        "metadef_object",
        "metadef_namespace",
    ):
        op.drop_table(table)
