"""CHECK constraints: each status column (and orders.order_type) holds only the values of its
enum in pipeline/rules/statuses.py

The values are written out here, not read from the enums: this revision stays what it was when
a later one changes them. Every value pecflow has ever written is among them, so no row needs
changing first.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ALLOWED: dict[tuple[str, str], tuple[str, ...]] = {
    ("orders", "order_type"): ("acquisto", "rinnovo"),
    ("batches", "status"): ("running", "succeeded", "failed", "abandoned"),
    ("messages", "outcome"): (
        "received",
        "failed",
        "processed",
        "review",
        "ignored",
        "quarantined",
    ),
    ("payments", "status"): ("review", "duplicate", "scheduled", "confirmed", "rejected"),
    ("review_items", "status"): ("open", "resolved", "rejected"),
    ("outbox", "status"): ("pending", "sending", "sent", "failed", "unsure"),
}


def upgrade() -> None:
    for (table, column), values in ALLOWED.items():
        listed = ", ".join(f"'{value}'" for value in values)
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_check_constraint(
                op.f(f"ck_{table}_{column}"), f"{column} IN ({listed})"
            )


def downgrade() -> None:
    for table, column in reversed(ALLOWED):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f"ck_{table}_{column}"), type_="check")
