"""Customer e-mails: Italian amounts, and names from the export escaped in HTML."""

from __future__ import annotations

from decimal import Decimal
from html.parser import HTMLParser

from hypothesis import given, settings
from hypothesis import strategies as st

from mailer.outbound.render import render


def _context(name: str) -> dict:
    order = {
        "code": "LM3454898",
        "customer_name": name,
        "product_label": "PEC Standard",
        "mailbox": "mario.rossi@legalmail.it",
        "net_amount": Decimal("1000.00"),
        "vat_rate": Decimal("22.00"),
        "vat_amount": Decimal("220.00"),
        "total_amount": Decimal("1220.00"),
        "needs_documents": True,
    }
    return {"order": order, "footer": "Visura S.p.A.", "office_address": "a@visura.it"}


def test_amounts_and_rates_are_written_the_italian_way() -> None:
    email = render("payment_received", _context("Mario Rossi"))
    assert email.subject == "Ordine LM3454898: pagamento ricevuto e lavorato"
    assert "Totale:     € 1.220,00" in email.text
    assert "IVA 22%" in email.text


class _Texts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text += data


@settings(max_examples=60, deadline=None)
@given(
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=300)
    | st.sampled_from(["<script>alert(1)</script>", "D'Angelo & Figli", "Nicolò Šimić"])
)
def test_any_name_is_escaped_in_html_and_kept_in_text(name: str) -> None:
    email = render("payment_received", _context(name))
    parser = _Texts()
    parser.feed(email.html)
    assert "script" not in parser.tags
    assert name in parser.text
    assert name in email.text
