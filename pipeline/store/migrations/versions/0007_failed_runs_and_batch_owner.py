"""messages.failed_runs (poison messages end in quarantine); batches.owner (a batch whose
process died is found and marked abandoned); batch_items.item_ref indexed (a drop-folder
problem is reported once)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("failed_runs", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
    # Failures from before the count: left to ops (`batches rerun`), not retried months late.
    op.execute("UPDATE messages SET failed_runs = 1000 WHERE outcome = 'failed'")
    with op.batch_alter_table("batches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner", sa.String(length=300), nullable=True))
    with op.batch_alter_table("batch_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_batch_items_item_ref"), ["item_ref"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("batch_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_batch_items_item_ref"))
    with op.batch_alter_table("batches", schema=None) as batch_op:
        batch_op.drop_column("owner")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("failed_runs")
