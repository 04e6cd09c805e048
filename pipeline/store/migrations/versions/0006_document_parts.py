"""documents: one row per part of a file (first and last page), for PDFs holding several

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("first_page", sa.Integer(), nullable=False, server_default=sa.text("1"))
        )
        batch_op.add_column(sa.Column("last_page", sa.Integer(), nullable=True))
        batch_op.drop_constraint("uq_documents_message_id", type_="unique")
        batch_op.create_unique_constraint(
            "uq_documents_message_id", ["message_id", "part_index", "first_page"]
        )


def downgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_constraint("uq_documents_message_id", type_="unique")
        batch_op.create_unique_constraint("uq_documents_message_id", ["message_id", "part_index"])
        batch_op.drop_column("last_page")
        batch_op.drop_column("first_page")
