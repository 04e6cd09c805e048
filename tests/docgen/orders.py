"""Orders as the portal exports them, with codici fiscali whose check character is right."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal

from stdnum.it.codicefiscale import calc_check_digit

from pipeline.money import expected_total
from pipeline.orders_import import COLUMNS

_MONTHS = "ABCDEHLMPRST"
_VOWELS = set("AEIOU")


@dataclass
class OrderSpec:
    order_id: str
    order_type: str
    product: str
    created_at: str
    customer_category: str
    last_name: str
    first_name: str
    sex: str
    birth_date: str
    tax_code: str
    birth_municipality: str
    birth_province: str
    citizenship: str
    email: str
    phone: str
    mobile: str
    mailbox: str
    mailbox_option_2: str
    mailbox_option_3: str
    mailbox_description: str
    payment_method: str
    net_amount: str
    vat_rate: str
    total_amount: str
    payment_status: str

    @property
    def code(self) -> str:
        return f"LM{self.order_id}"


def _letters(name: str, *, first_name: bool) -> str:
    letters = [c for c in name.upper() if c.isalpha()]
    consonants = [c for c in letters if c not in _VOWELS]
    vowels = [c for c in letters if c in _VOWELS]
    if first_name and len(consonants) >= 4:
        consonants = [consonants[0], consonants[2], consonants[3]]
    return "".join(consonants + vowels + ["X", "X", "X"])[:3]


def make_tax_code(
    last_name: str, first_name: str, birth: date, sex: str, municipality_code: str = "H501"
) -> str:
    day = birth.day + (40 if sex == "F" else 0)
    body = (
        f"{_letters(last_name, first_name=False)}{_letters(first_name, first_name=True)}"
        f"{birth.year % 100:02d}{_MONTHS[birth.month - 1]}{day:02d}{municipality_code}"
    )
    return body + calc_check_digit(body)


def make_order(
    order_id: str,
    *,
    last_name: str = "Rossi",
    first_name: str = "Mario",
    sex: str = "M",
    birth_date: date = date(1980, 1, 1),
    payment_method: str = "bonifico",
    product: str = "standard",
    net: str = "20.00",
    vat: str = "22.00",
    order_type: str = "acquisto",
    created_at: str = "2026-11-20T10:15:00+01:00",
) -> OrderSpec:
    total = expected_total(Decimal(net), Decimal(vat), payment_method)
    paid = payment_method in ("prepagato", "carta")
    slug = f"{first_name}.{last_name}".lower().replace(" ", "").replace("'", "")
    renewal = order_type == "rinnovo"
    return OrderSpec(
        order_id=order_id,
        order_type=order_type,
        product=product,
        created_at=created_at,
        customer_category="" if renewal else "privato",
        last_name="" if renewal else last_name,
        first_name="" if renewal else first_name,
        sex="" if renewal else sex,
        birth_date="" if renewal else birth_date.isoformat(),
        tax_code="" if renewal else make_tax_code(last_name, first_name, birth_date, sex),
        birth_municipality="" if renewal else "Roma",
        birth_province="" if renewal else "RM",
        citizenship="" if renewal else "italiana",
        email=f"{slug}@example.it",
        phone="" if renewal else "0612345678",
        mobile="",
        mailbox=f"{slug}@legalmail.it",
        mailbox_option_2="" if renewal else f"{slug}1@legalmail.it",
        mailbox_option_3="",
        mailbox_description="" if renewal else f"{first_name} {last_name}",
        payment_method=payment_method,
        net_amount=net,
        vat_rate=vat,
        total_amount=str(total),
        payment_status="paid" if paid else "pending",
    )


def orders_csv(orders: list[OrderSpec]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    for order in orders:
        writer.writerow(asdict(order))
    return out.getvalue()


def orders_jsonl(orders: list[OrderSpec]) -> str:
    return "".join(json.dumps(asdict(order)) + "\n" for order in orders)
