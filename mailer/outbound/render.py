"""Customer e-mails from Jinja2 templates: subject, plain text and escaped HTML."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from pipeline.rendering import RenderedEmail
from pipeline.rules.money import format_eur, format_percent

# What the customer is asked for, by document kind.
PAPERS = {
    "contract": "il contratto firmato a mano (lo trova allegato all'e-mail di pagamento ricevuto)",
    "identity_document": "copia fronte e retro di un documento d'identità valido del richiedente",
}


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("mailer.outbound", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["eur"] = format_eur
    env.filters["percent"] = format_percent
    env.filters["day"] = lambda value: value.strftime("%d/%m/%Y")
    env.filters["when"] = lambda value: value.strftime("%d/%m/%Y alle %H:%M")
    env.filters["paper"] = PAPERS.__getitem__
    return env


def render(kind: str, context: dict[str, Any]) -> RenderedEmail:
    env = _environment()
    subject = env.get_template(f"{kind}.subject.j2").render(context)
    return RenderedEmail(
        subject=" ".join(subject.split()),
        text=env.get_template(f"{kind}.txt.j2").render(context),
        html=env.get_template(f"{kind}.html.j2").render(context),
    )
