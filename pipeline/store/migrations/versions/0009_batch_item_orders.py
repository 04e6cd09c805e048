"""batch_item_orders: the orders a batch item touched, kept as rows, not left in its text

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "batch_item_orders",
        sa.Column("batch_item_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_item_id"],
            ["batch_items.id"],
            name=op.f("fk_batch_item_orders_batch_item_id_batch_items"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_batch_item_orders_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("batch_item_id", "order_id", name=op.f("pk_batch_item_orders")),
    )
    with op.batch_alter_table("batch_item_orders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_batch_item_orders_order_id"), ["order_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("batch_item_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_batch_item_orders_order_id"))
    op.drop_table("batch_item_orders")
