"""Indexes for what ops read on a store of years: an order's payments, the day's payments and
review items for the nightly report, the orders paid or sent papers since a moment

Two replace an index on a status alone, doing its work too: `payments (status, decided_at)`
(and the report's payments confirmed on a day), `orders (state, id)` (and a page of a state's
orders in code order, which PostgreSQL otherwise reads along the primary key, through the
other states).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
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
    "ix_orders_state_id": ("orders", ["state", "id"]),
}
REPLACED: dict[str, tuple[str, list[str]]] = {
    "ix_payments_status": ("payments", ["status"]),
    "ix_orders_state": ("orders", ["state"]),
}


def upgrade() -> None:
    for name, (table, columns) in ADDED.items():
        op.create_index(name, table, columns)
    for name, (table, _columns) in REPLACED.items():
        op.drop_index(name, table_name=table)


def downgrade() -> None:
    for name, (table, columns) in REPLACED.items():
        op.create_index(name, table, columns)
    for name, (table, _columns) in ADDED.items():
        op.drop_index(name, table_name=table)
