"""What each column of the portal's export may hold: the import checks rows against these and
the store makes its columns from them, so the two cannot drift apart."""

from __future__ import annotations

# Characters of text.
TEXT_LENGTHS: dict[str, int] = {
    "order_type": 16,
    "product": 32,
    "customer_category": 16,
    "last_name": 200,
    "first_name": 200,
    "sex": 1,
    "tax_code": 16,
    "birth_municipality": 200,
    "birth_province": 4,
    "citizenship": 100,
    "email": 320,
    "phone": 40,
    "mobile": 40,
    "mailbox": 320,
    "mailbox_option_2": 320,
    "mailbox_option_3": 320,
    "mailbox_description": 200,
    "payment_method": 16,
    "payment_status": 16,
}
# Digits in all, and after the decimal point, of amounts.
AMOUNT_DIGITS: dict[str, tuple[int, int]] = {
    "net_amount": (12, 2),
    "vat_rate": (5, 2),
    "total_amount": (12, 2),
}
