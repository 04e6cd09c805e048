"""fulfilment (ready, user-id, expiry), sealed outbox rows, provisioned mailboxes, incidents

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ready_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("user_id", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("expires_on", sa.Date(), nullable=True))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sealed", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "provisioned_mailboxes",
        sa.Column("mailbox", sa.String(length=320), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_provisioned_mailboxes_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("mailbox", name=op.f("pk_provisioned_mailboxes")),
        sa.UniqueConstraint("user_id", name=op.f("uq_provisioned_mailboxes_user_id")),
    )
    op.create_index(
        op.f("ix_provisioned_mailboxes_order_id"),
        "provisioned_mailboxes",
        ["order_id"],
        unique=False,
    )
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("alerted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    op.create_index(op.f("ix_incidents_kind"), "incidents", ["kind"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_incidents_kind"), table_name="incidents")
    op.drop_table("incidents")
    op.drop_index(op.f("ix_provisioned_mailboxes_order_id"), table_name="provisioned_mailboxes")
    op.drop_table("provisioned_mailboxes")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("sealed")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("expires_on")
        batch_op.drop_column("user_id")
        batch_op.drop_column("ready_at")
