"""Orders as the portal exports them (formats/orders-export.md), with valid codici fiscali.

Deliberately independent of `pipeline`: the generator computes totals and check characters
itself, so a bug in the product's own arithmetic cannot hide behind matching test data.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from dataclasses import asdict, dataclass, fields, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from stdnum.it.codicefiscale import calc_check_digit

CENT = Decimal("0.01")
CARD_FEE_RATE = Decimal("0.018")
_MONTHS = "ABCDEHLMPRST"
_VOWELS = frozenset("AEIOU")

# Comune -> (codice catastale, provincia, area code of a landline there).
MUNICIPALITIES: dict[str, tuple[str, str, str]] = {
    "Roma": ("H501", "RM", "06"),
    "Milano": ("F205", "MI", "02"),
    "Napoli": ("F839", "NA", "081"),
    "Torino": ("L219", "TO", "011"),
    "Bologna": ("A944", "BO", "051"),
    "Firenze": ("D612", "FI", "055"),
    "Palermo": ("G273", "PA", "091"),
    "Bari": ("A662", "BA", "080"),
    "Genova": ("D969", "GE", "010"),
    "Venezia": ("L736", "VE", "041"),
}

# Imponibile per year as the sample price list; make_order still defaults to 20.00.
PRODUCT_NET: dict[str, str] = {
    "standard": "20.00",
    "standard_plus": "30.00",
    "standard_pro": "45.00",
    "bronze": "60.00",
    "silver": "90.00",
    "gold": "150.00",
}


@dataclass
class OrderSpec:
    """One row of the portal export; field order is the CSV column order."""

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
        """The code printed to the customer and expected in the causale."""
        return f"LM{self.order_id}"

    @property
    def total(self) -> Decimal:
        return Decimal(self.total_amount)


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(OrderSpec))


def to_cents(value: Decimal) -> Decimal:
    """Half-up to the cent, as the portal rounds."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def order_total(net: Decimal, vat_rate: Decimal, payment_method: str) -> Decimal:
    """Net plus VAT; a card payment adds 1.80 % of that (24.40 -> 24.84)."""
    total = to_cents(net * (1 + vat_rate / 100))
    if payment_method == "carta":
        total += to_cents(total * CARD_FEE_RATE)
    return total


def _ascii_letters(name: str) -> str:
    """Accents folded and apostrophes/spaces dropped: D'Angelo -> DANGELO, Nicolò -> NICOLO."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(c for c in folded.upper() if c.isalpha())


def _name_part(name: str, *, first_name: bool) -> str:
    letters = _ascii_letters(name)
    consonants = [c for c in letters if c not in _VOWELS]
    vowels = [c for c in letters if c in _VOWELS]
    if first_name and len(consonants) >= 4:  # the name skips its second consonant
        consonants = [consonants[0], consonants[2], consonants[3]]
    return "".join([*consonants, *vowels, "X", "X", "X"])[:3]


def make_tax_code(
    last_name: str,
    first_name: str,
    birth_date: date | str,
    sex: str,
    municipality_code: str = "H501",
) -> str:
    """A codice fiscale built by the official rules, check character by python-stdnum."""
    born = date.fromisoformat(birth_date) if isinstance(birth_date, str) else birth_date
    day = born.day + (40 if sex.upper() == "F" else 0)
    body = (
        f"{_name_part(last_name, first_name=False)}{_name_part(first_name, first_name=True)}"
        f"{born.year % 100:02d}{_MONTHS[born.month - 1]}{day:02d}{municipality_code.upper()}"
    )
    return body + calc_check_digit(body)


def _slug(text: str) -> str:
    return _ascii_letters(text).lower()


def _phone(order_id: str, area_code: str) -> str:
    """A landline of the right length for its area, derived from the id so it is stable."""
    digits = (order_id * 2)[: 10 - len(area_code)]
    return area_code + digits


def make_order(
    order_id: str,
    *,
    last_name: str = "Rossi",
    first_name: str = "Mario",
    payment_method: str = "bonifico",
    product: str = "standard",
    net: str = "20.00",
    vat: str = "22.00",
    order_type: str = "acquisto",
    sex: str = "M",
    birth_date: date | str = date(1980, 1, 1),
    birth_municipality: str = "Roma",
    customer_category: str = "privato",
    created_at: str = "2026-11-20T10:15:00+01:00",
    email: str | None = None,
    mailbox: str | None = None,
    phone: str | None = None,
    mobile: str = "",
    **overrides: str,
) -> OrderSpec:
    """An order as the portal would export it; the defaults give the doc's example row.

    A `rinnovo` leaves the applicant columns empty, as the portal does. Any column can be
    forced through `overrides` (e.g. a wrong `total_amount` to test the importer).
    """
    if len(order_id) != 7 or not order_id.isdigit():
        raise ValueError(f"order_id must be 7 digits, got {order_id!r}")
    total = order_total(Decimal(net), Decimal(vat), payment_method)
    municipality_code, province, area = MUNICIPALITIES.get(birth_municipality, ("H501", "RM", "06"))
    first, last = _slug(first_name), _slug(last_name)
    renewal = order_type == "rinnovo"
    born = birth_date if isinstance(birth_date, str) else birth_date.isoformat()
    spec = OrderSpec(
        order_id=order_id,
        order_type=order_type,
        product=product,
        created_at=created_at,
        customer_category="" if renewal else customer_category,
        last_name="" if renewal else last_name,
        first_name="" if renewal else first_name,
        sex="" if renewal else sex,
        birth_date="" if renewal else born,
        tax_code=""
        if renewal
        else make_tax_code(last_name, first_name, born, sex, municipality_code),
        birth_municipality="" if renewal else birth_municipality,
        birth_province="" if renewal else province,
        citizenship="" if renewal else "italiana",
        email=email or f"{first}.{last}@example.it",
        phone="" if renewal else (phone if phone is not None else _phone(order_id, area)),
        mobile="" if renewal else mobile,
        mailbox=mailbox or f"{first}.{last}@legalmail.it",
        mailbox_option_2="" if renewal else f"{first[:1]}.{last}@legalmail.it",
        mailbox_option_3="" if renewal else f"{last}.{first}@legalmail.it",
        mailbox_description="" if renewal else f"{first_name} {last_name}",
        payment_method=payment_method,
        net_amount=net,
        vat_rate=vat,
        total_amount=str(total),
        payment_status="paid" if payment_method in ("prepagato", "carta") else "pending",
    )
    return replace(spec, **overrides) if overrides else spec


def orders_csv(orders: list[OrderSpec]) -> str:
    """The export as CSV: the documented header, RFC 4180 quoting and CRLF rows."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS), lineterminator="\r\n")
    writer.writeheader()
    for order in orders:
        writer.writerow(asdict(order))
    return out.getvalue()


def orders_jsonl(orders: list[OrderSpec]) -> str:
    """The same records as JSON Lines, keys in column order."""
    return "".join(json.dumps(asdict(order), ensure_ascii=False) + "\n" for order in orders)
