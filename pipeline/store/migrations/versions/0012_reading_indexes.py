"""Indexes for what ops read on a store of years: an order's payments, the day's payments and
review items for the nightly report, the orders paid or sent papers since a moment

`payments (status, decided_at)` replaces `payments (status)`: the same lookups by status, and
the report's payments confirmed on a day.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ADDED: dict[str, tuple[str, list[str]]] = {
    "ix_payment_orders_order_id": ("payment_orders", ["order_id"]),
    "ix_payments_status_decided_at": ("payments", ["status", "decided_at"]),
    "ix_payments_due_by": ("payments", ["due_by"]),
    "ix_review_items_created_at": ("review_items", ["created_at"]),
    "ix_order_events_at": ("order_events", ["at"]),
    "ix_messages_received_at": ("messages", ["received_at"]),
    "ix_orders_imported_at": ("orders", ["imported_at"]),
}


def upgrade() -> None:
    for name, (table, columns) in ADDED.items():
        op.create_index(name, table, columns)
    op.drop_index("ix_payments_status", table_name="payments")


def downgrade() -> None:
    op.create_index("ix_payments_status", "payments", ["status"])
    for name, (table, _columns) in ADDED.items():
        op.drop_index(name, table_name=table)
