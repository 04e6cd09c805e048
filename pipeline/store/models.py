"""The tables. Every row a later stage needs to explain itself later is kept here."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from parsers.codes import order_code
from pipeline.rules.export_columns import AMOUNT_DIGITS, TEXT_LENGTHS
from pipeline.rules.statuses import (
    BatchStatus,
    MessageOutcome,
    OrderType,
    OutboxStatus,
    PaymentStatus,
    ReviewStatus,
    Role,
)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (which keeps no zone) too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pecflow stores aware times only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Money = Numeric(12, 2)
Timestamp = UtcDateTime()


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


def _portal_text(column: str) -> String:
    return String(TEXT_LENGTHS[column])


def _portal_amount(column: str) -> Numeric:
    return Numeric(*AMOUNT_DIGITS[column])


def _one_of(column: str, values: type[StrEnum]) -> CheckConstraint:
    """The column holds only its enum's values; NAMING names it ck_<table>_<column>, as the
    migration that adds it does."""
    listed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({listed})", name=column)


class Order(Base):
    """An order as the portal exported it, plus the state pecflow owns."""

    __tablename__ = "orders"
    __table_args__ = (
        # A state's orders in code order: a page of them (orders list --state, --ready) reads
        # that state's alone, the counts by state only the index.
        Index("ix_orders_state_id", "state", "id"),
        _one_of("order_type", OrderType),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    order_type: Mapped[str] = mapped_column(_portal_text("order_type"))
    product: Mapped[str] = mapped_column(_portal_text("product"))
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    customer_category: Mapped[str | None] = mapped_column(_portal_text("customer_category"))
    last_name: Mapped[str | None] = mapped_column(_portal_text("last_name"))
    first_name: Mapped[str | None] = mapped_column(_portal_text("first_name"))
    sex: Mapped[str | None] = mapped_column(_portal_text("sex"))
    birth_date: Mapped[date | None] = mapped_column(Date)
    tax_code: Mapped[str | None] = mapped_column(_portal_text("tax_code"))
    birth_municipality: Mapped[str | None] = mapped_column(_portal_text("birth_municipality"))
    birth_province: Mapped[str | None] = mapped_column(_portal_text("birth_province"))
    citizenship: Mapped[str | None] = mapped_column(_portal_text("citizenship"))
    email: Mapped[str] = mapped_column(_portal_text("email"))
    phone: Mapped[str | None] = mapped_column(_portal_text("phone"))
    mobile: Mapped[str | None] = mapped_column(_portal_text("mobile"))
    mailbox: Mapped[str] = mapped_column(_portal_text("mailbox"))
    mailbox_option_2: Mapped[str | None] = mapped_column(_portal_text("mailbox_option_2"))
    mailbox_option_3: Mapped[str | None] = mapped_column(_portal_text("mailbox_option_3"))
    mailbox_description: Mapped[str | None] = mapped_column(_portal_text("mailbox_description"))
    payment_method: Mapped[str] = mapped_column(_portal_text("payment_method"))
    net_amount: Mapped[Decimal] = mapped_column(_portal_amount("net_amount"))
    vat_rate: Mapped[Decimal] = mapped_column(_portal_amount("vat_rate"))
    total_amount: Mapped[Decimal] = mapped_column(_portal_amount("total_amount"))
    payment_status: Mapped[str] = mapped_column(_portal_text("payment_status"))
    # pecflow's own fields: never written by an import.
    state: Mapped[str] = mapped_column(String(32))
    state_changed_at: Mapped[datetime] = mapped_column(Timestamp)
    export_fingerprint: Mapped[str] = mapped_column(String(64))
    # The hash of the export's row as last read (its values before checking): a re-import
    # of the same row skips the checks (null until an import reads the order's row).
    export_row_hash: Mapped[str | None] = mapped_column(String(64))
    # Indexed: the nightly report looks for the orders imported paid since a moment.
    imported_at: Mapped[datetime] = mapped_column(Timestamp, index=True)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)
    # When a paid new mailbox first had a signed contract and a valid identity document.
    ready_at: Mapped[datetime | None] = mapped_column(Timestamp)
    # The provider's user-id of the mailbox, set when it is activated.
    user_id: Mapped[str | None] = mapped_column(String(200))
    # Until when the mailbox is paid: set on activation and on renewal.
    expires_on: Mapped[date | None] = mapped_column(Date)

    events: Mapped[list[OrderEvent]] = relationship(
        back_populates="order", order_by="OrderEvent.id"
    )

    @property
    def code(self) -> str:
        return order_code(self.id)


class Batch(Base):
    """One run of a job; a rerun points at the batch it retries."""

    __tablename__ = "batches"
    __table_args__ = (_one_of("status", BatchStatus),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    started_at: Mapped[datetime] = mapped_column(Timestamp)
    ended_at: Mapped[datetime | None] = mapped_column(Timestamp)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"))
    actor: Mapped[str] = mapped_column(String(64))
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    # The process running it (see pipeline/liveness.py): how a batch left running by a
    # process that died is told from one still at work.
    owner: Mapped[str | None] = mapped_column(String(300))

    items: Mapped[list[BatchItem]] = relationship(back_populates="batch", order_by="BatchItem.id")


class BatchItem(Base):
    """What one batch did to one message, order or e-mail."""

    __tablename__ = "batch_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), index=True)
    item_type: Mapped[str] = mapped_column(String(16))
    # Indexed: whether a file in the drop folder was already reported is asked on every run.
    item_ref: Mapped[str] = mapped_column(String(500), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(Timestamp)

    batch: Mapped[Batch] = relationship(back_populates="items")
    # The orders it touched (a payment may pay several): read from here, never from `detail`.
    touched: Mapped[list[BatchItemOrder]] = relationship(
        cascade="all, delete-orphan", order_by="BatchItemOrder.order_id"
    )


class BatchItemOrder(Base):
    """An order a batch item touched."""

    __tablename__ = "batch_item_orders"

    batch_item_id: Mapped[int] = mapped_column(ForeignKey("batch_items.id"), primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), primary_key=True, index=True)


class Message(Base):
    """One ingested message (or dropped file), archived raw before anything else."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("source", "source_id"),
        # What waits to be filed on the server, asked on every poll: a range, not a scan.
        Index("ix_messages_source_acked", "source", "acked_at"),
        _one_of("outcome", MessageOutcome),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    source_id: Mapped[str] = mapped_column(String(500))
    message_id_header: Mapped[str | None] = mapped_column(String(998), index=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    raw_format: Mapped[str] = mapped_column(String(8))
    # Indexed: the papers that arrived since a moment (the report), retention's old messages.
    received_at: Mapped[datetime] = mapped_column(Timestamp, index=True)
    ingested_at: Mapped[datetime] = mapped_column(Timestamp)
    sender: Mapped[str | None] = mapped_column(String(998))
    subject: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    processed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    # When the source was told the outcome (moved or flagged on the IMAP server).
    acked_at: Mapped[datetime | None] = mapped_column(Timestamp)
    facts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # When the retention purge deleted its raw bytes and its documents' from the archive.
    archive_purged_at: Mapped[datetime | None] = mapped_column(Timestamp)
    # Runs in a row whose reading or deciding of it failed; at the limit it is quarantined.
    failed_runs: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    documents: Mapped[list[Document]] = relationship(
        back_populates="message", order_by="Document.id"
    )


class MailboxState(Base):
    """How far a mailbox folder has been read; reset when its UIDVALIDITY changes."""

    __tablename__ = "mailbox_state"

    folder: Mapped[str] = mapped_column(String(500), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


class Document(Base):
    """One part or attachment of a message, with what could be read from it."""

    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("message_id", "part_index", "first_page"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    part_index: Mapped[int] = mapped_column(Integer)
    # A file holding several documents (a contract and an identity document scanned together)
    # is one row per part: its pages, first to last. A file of one document: 1 and None.
    first_page: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    last_page: Mapped[int | None] = mapped_column(Integer)
    filename: Mapped[str | None] = mapped_column(String(255))
    declared_type: Mapped[str | None] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    subtype: Mapped[str | None] = mapped_column(String(32))  # bonifico, patente, ...
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    # What the document says of itself: barcodes, an identity document's expiry.
    facts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    text_method: Mapped[str] = mapped_column(String(16))
    text_confidence: Mapped[float | None]
    text: Mapped[str | None] = mapped_column(Text)
    pages: Mapped[int | None] = mapped_column(Integer)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)

    message: Mapped[Message] = relationship(back_populates="documents")


class Payment(Base):
    """The facts of one receipt and what was decided about them."""

    __tablename__ = "payments"
    __table_args__ = (
        # By status (open, scheduled), and the report's confirmed on a day.
        Index("ix_payments_status_decided_at", "status", "decided_at"),
        _one_of("status", PaymentStatus),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"), unique=True)
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    amount: Mapped[Decimal | None] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    execution_date: Mapped[date | None] = mapped_column(Date)
    value_date: Mapped[date | None] = mapped_column(Date)
    payer: Mapped[str | None] = mapped_column(String(300))
    beneficiary: Mapped[str | None] = mapped_column(String(300))
    iban: Mapped[str | None] = mapped_column(String(34))
    cro: Mapped[str | None] = mapped_column(String(15))
    trn: Mapped[str | None] = mapped_column(String(35))
    causale: Mapped[str | None] = mapped_column(Text)
    codes: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(Timestamp)
    not_before: Mapped[datetime | None] = mapped_column(Timestamp)
    # Indexed: the report's payments due on a day.
    due_by: Mapped[datetime | None] = mapped_column(Timestamp, index=True)
    decided_at: Mapped[datetime | None] = mapped_column(Timestamp)

    allocations: Mapped[list[PaymentOrder]] = relationship(back_populates="payment")


class PaymentOrder(Base):
    """Which orders a payment pays, and how much of it each takes."""

    __tablename__ = "payment_orders"

    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), primary_key=True)
    # Indexed: an order's payments (the key leads with the payment).
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), primary_key=True, index=True)
    amount: Mapped[Decimal] = mapped_column(Money)

    payment: Mapped[Payment] = relationship(back_populates="allocations")


class OrderEvent(Base):
    """The audit trail: every state change, written with the change."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    # Indexed: the orders paid since a moment (the report).
    at: Mapped[datetime] = mapped_column(Timestamp, index=True)
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str] = mapped_column(String(32))
    cause: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(64))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))

    order: Mapped[Order] = relationship(back_populates="events")


class ReviewItem(Base):
    """Something a human must decide, with the reason pecflow would not."""

    __tablename__ = "review_items"
    __table_args__ = (
        Index("ix_review_items_status_created", "status", "created_at"),
        Index("ix_review_items_created_at", "created_at"),  # the report's items of a day
        UniqueConstraint("message_id", "document_id", "reason", name="uq_review_items_source"),
        _one_of("status", ReviewStatus),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reason: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    proposed_order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"))
    resolution: Mapped[str | None] = mapped_column(Text)
    resolved_order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolved_at: Mapped[datetime | None] = mapped_column(Timestamp)


class OutboxMessage(Base):
    """A customer e-mail, rendered when decided and sent once by the sender."""

    __tablename__ = "outbox"
    __table_args__ = (_one_of("status", OutboxStatus),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(48))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(998))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    message_id_header: Mapped[str] = mapped_column(String(998))
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    next_attempt_at: Mapped[datetime | None] = mapped_column(Timestamp)
    # Set when a send starts: a row still `sending` after a crash may or may not have gone out.
    attempted_at: Mapped[datetime | None] = mapped_column(Timestamp)
    sent_at: Mapped[datetime | None] = mapped_column(Timestamp)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"))
    # The bodies are encrypted (they hold a password) and are wiped once sent.
    sealed: Mapped[bool] = mapped_column(Boolean, default=False)

    attachments: Mapped[list[OutboxAttachment]] = relationship(order_by="OutboxAttachment.id")


class OutboxAttachment(Base):
    """A file sent with an outbox e-mail; with a content_id it is shown inside the HTML."""

    __tablename__ = "outbox_attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(255))
    content_id: Mapped[str | None] = mapped_column(String(255))
    data: Mapped[bytes] = mapped_column(LargeBinary)


class ProvisionedMailbox(Base):
    """A mailbox the local provisioner created: its password only as a scrypt hash."""

    __tablename__ = "provisioned_mailboxes"

    mailbox: Mapped[str] = mapped_column(String(320), primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    user_id: Mapped[str] = mapped_column(String(200), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class Incident(Base):
    """Something ops must hear about once (IMAP unreachable, batches failing), open until
    it clears; the alert e-mail is keyed by the incident, not by the poll that saw it."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    opened_at: Mapped[datetime] = mapped_column(Timestamp)
    last_seen_at: Mapped[datetime] = mapped_column(Timestamp)
    closed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    count: Mapped[int] = mapped_column(Integer)  # consecutive bad runs seen
    detail: Mapped[str | None] = mapped_column(Text)
    alerted_at: Mapped[datetime | None] = mapped_column(Timestamp)


class User(Base):
    """Someone who may log in to the web console. `password_changed_at` is also the sessions'
    stamp: a new password or a disabled account ends every session made before it."""

    __tablename__ = "users"
    __table_args__ = (_one_of("role", Role),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    password_changed_at: Mapped[datetime] = mapped_column(Timestamp)
