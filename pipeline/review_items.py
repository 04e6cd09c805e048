"""Opening a review item: the one place that writes one, whether reading a message or
confirming a held payment found something a human must decide."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from pipeline.rules.matching import ReviewReason
from pipeline.rules.statuses import ReviewStatus
from pipeline.store.models import ReviewItem


def open_review(
    session: Session,
    reason: ReviewReason,
    detail: str,
    *,
    now: datetime,
    batch_id: int | None,
    message_id: int | None,
    document_id: int | None = None,
    payment_id: int | None = None,
    proposed_order_id: int | None = None,
) -> ReviewItem:
    item = ReviewItem(
        reason=reason.value,
        detail=detail,
        status=ReviewStatus.OPEN,
        message_id=message_id,
        document_id=document_id,
        payment_id=payment_id,
        proposed_order_id=proposed_order_id,
        created_at=now,
        batch_id=batch_id,
    )
    session.add(item)
    return item
