"""The renderer the shell hands to the pipeline: Jinja2 templates and the reportlab contract
(each loaded when first used: a command that writes no e-mail does not pay for them)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.rendering import RenderedEmail
    from pipeline.store.models import Order


class MailWriter:
    """pipeline.rendering.Renderer, by mailer.outbound's templates and contract."""

    def email(self, kind: str, context: dict[str, Any]) -> RenderedEmail:
        from mailer.outbound.render import render

        return render(kind, context)

    def contract(self, order: Order, context: dict[str, Any], day: date) -> bytes:
        from mailer.outbound.contract import contract_pdf

        return contract_pdf(order, context, day)
