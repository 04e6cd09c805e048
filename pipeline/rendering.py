"""How the pipeline has its e-mails and the contract written, without knowing how: the shell
hands a `Renderer` (mailer.outbound's `MailWriter`) to the store, and each unit of work carries
it. So the domain never imports the mail edge; a test may hand it another."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from pipeline.store.models import Order

RENDERER = "renderer"  # its key in a session's `info`


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


class Renderer(Protocol):
    def email(self, kind: str, context: dict[str, Any]) -> RenderedEmail:
        """The e-mail of this template kind: subject, plain text and escaped HTML."""
        ...

    def contract(self, order: Order, context: dict[str, Any], day: date) -> bytes:
        """The order's contract, pre-filled, as a PDF dated `day`."""
        ...


class NoRenderer(RuntimeError):
    """A unit of work was asked to write an e-mail but its store was handed no renderer."""


def renderer_of(session: Session) -> Renderer:
    renderer: Renderer | None = session.info.get(RENDERER)
    if renderer is None:
        raise NoRenderer("this store was given no renderer: Store(..., renderer=MailWriter())")
    return renderer
